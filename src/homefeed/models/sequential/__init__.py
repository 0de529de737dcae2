"""The Transformer user model: causal self-attention over a user's behaviour sequence."""

from homefeed.models.sequential.model import SequentialRecommender

__all__ = ["SequentialRecommender"]
