"""One loaded encoder per (model, backend) per process, chosen by configuration."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from homefeed.config import Settings
from homefeed.encoders.base import IMAGE_FIELD, TextEncoder, template_parts
from homefeed.encoders.chunks import ChunkedEncoder
from homefeed.encoders.images import ClipEncoder, PicturesEncoder
from homefeed.encoders.parts import PartsEncoder
from homefeed.encoders.sentence import BUNDLED, SentenceTransformerEncoder
from homefeed.errors import ConfigurationError

BACKENDS = ("torch", "onnx", "onnx-int8")
logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=4)
def shared_encoder(
    model: str = BUNDLED, backend: str = "torch", cache_dir: Path | None = None
) -> TextEncoder:
    """The encoder for ``model``, loaded once per process: loading costs a second and ~100 MB,
    and the server, the trainer and every app built in one process can share it.

    ``torch`` runs sentence-transformers in PyTorch (fp32); ``onnx`` and ``onnx-int8`` run an
    ONNX export (exported once into ``cache_dir``) with ONNX Runtime, the latter quantized.
    """
    if backend == "torch":
        return SentenceTransformerEncoder(model)
    if backend in ("onnx", "onnx-int8"):
        from homefeed.encoders.onnx import OnnxEncoder

        return OnnxEncoder(model, cache_dir, quantize=backend == "onnx-int8")
    raise ValueError(f"unknown text backend {backend!r}; expected one of {list(BACKENDS)}")


@functools.lru_cache(maxsize=2)
def shared_image_encoder(model: str) -> ClipEncoder | None:
    """The image model, loaded once per process; None, with the reason logged, when its weights
    are not on this machine (pictures are then off: items are embedded by their text)."""
    try:
        return ClipEncoder(model)
    except ConfigurationError as error:
        logger.warning("pictures are off: %s", error)
        return None


def configured_encoder(settings: Settings) -> TextEncoder:
    """The settings' text model and backend, loaded once per process, reading long texts as
    ``text_chunk_words`` says (truncated, or whole in windows), items part by part where the
    template has several parts, and their pictures beside them where an image model is set."""
    encoder = shared_encoder(settings.text_model, settings.text_backend, settings.encoder_cache_dir)
    if settings.text_chunk_words:
        encoder = ChunkedEncoder(encoder, settings.text_chunk_words)
    parts = template_parts(settings.item_text_template)
    encoder = PartsEncoder(encoder, parts) if parts > 1 else encoder
    images = shared_image_encoder(settings.image_model) if settings.image_model else None
    if images is None:
        return encoder
    return PicturesEncoder(encoder, images, settings.image_share, settings.effective_media_dir)


def configured_template(settings: Settings) -> str:
    """The item text template the configured encoder reads: the settings' one, followed by the
    item's picture reference when pictures are embedded."""
    pictures = settings.image_model is not None and shared_image_encoder(settings.image_model) is not None
    return settings.item_text_template + (IMAGE_FIELD if pictures else "")
