"""One loaded encoder per (model, backend) per process, chosen by configuration."""

from __future__ import annotations

import functools
from pathlib import Path

from homefeed.config import Settings
from homefeed.encoders.base import TextEncoder, template_parts
from homefeed.encoders.chunks import ChunkedEncoder
from homefeed.encoders.parts import PartsEncoder
from homefeed.encoders.sentence import BUNDLED, SentenceTransformerEncoder

BACKENDS = ("torch", "onnx", "onnx-int8")


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


def configured_encoder(settings: Settings) -> TextEncoder:
    """The settings' text model and backend, loaded once per process, reading long texts as
    ``text_chunk_words`` says (truncated, or whole in windows), and items part by part where
    the template has several parts."""
    encoder = shared_encoder(settings.text_model, settings.text_backend, settings.encoder_cache_dir)
    if settings.text_chunk_words:
        encoder = ChunkedEncoder(encoder, settings.text_chunk_words)
    parts = template_parts(settings.item_text_template)
    return PartsEncoder(encoder, parts) if parts > 1 else encoder
