"""Language-model understanding: text encoders, item text templates and the embedding cache."""

from homefeed.encoders.base import TextEncoder, item_text

__all__ = ["TextEncoder", "item_text"]
