"""Pictures beside text: a CLIP-family model (through sentence-transformers) embeds each item's
picture, and its vector joins the text vector, so the semantic space, new items' placement and
the Transformer's item tower all read both.

An item's text reaches the encoder with its picture reference after ``IMAGE_MARK`` (the
configured template adds it, ``loading.configured_template``). A vector is
``[sqrt(1 - share) * text, sqrt(share) * visual]``: the visual half is the picture's CLIP
vector, or, for an item without a picture that can be read and for any query (stated
interests), CLIP's vector of the text itself, in the same space. So the inner product of a query
with an item is ``(1 - share) * text cosine + share * CLIP cosine of the words to the picture``,
and of two items the same mix of their texts' and their pictures' likeness.
"""

from __future__ import annotations

import io
import logging
import math
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from homefeed.encoders.base import IMAGE_MARK, PART_MARK, ProgressCallback, TextEncoder
from homefeed.errors import ConfigurationError

logger = logging.getLogger(__name__)
MAX_PICTURE_BYTES = 20_000_000
FETCH_SECONDS = 5.0


class ClipEncoder:
    """A CLIP-family sentence-transformers model: texts and pictures into one space."""

    def __init__(self, model: str, device: str = "cpu", batch_size: int = 32) -> None:
        from sentence_transformers import SentenceTransformer

        self.model_id, self.batch_size = model, batch_size
        self._model = load_local_model(SentenceTransformer, model, device)
        getter = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dimension = int(getter() or 0) or int(self._model.encode(["a"]).shape[1])

    def encode(self, texts: Sequence[str], on_progress: ProgressCallback | None = None) -> np.ndarray:
        return self._encode(list(texts))

    def encode_pictures(self, pictures: Sequence[Any]) -> np.ndarray:
        """Unit vectors of PIL images."""
        return self._encode(list(pictures))

    def _encode(self, inputs: list[Any]) -> np.ndarray:
        if not inputs:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            inputs, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)


def load_local_model(loader: Any, name: str, device: str) -> Any:
    """A model from a local folder or the Hugging Face cache; never downloaded here (an image
    model is an operator's choice, fetched once with its licence read)."""
    if Path(name).exists():
        return loader(name, device=device)
    try:
        return loader(name, device=device, local_files_only=True)
    except OSError as error:
        raise ConfigurationError(
            f"image model {name!r} is not a local folder nor in the Hugging Face cache. Download "
            f"it once where there is internet (e.g. `huggingface-cli download {name} --local-dir "
            "DIR`), copy DIR here and set HOMEFEED_IMAGE_MODEL=DIR."
        ) from error


def load_picture(reference: str, media_dir: Path | None) -> Any | None:
    """The picture an item names, as an RGB PIL image: an https address (fetched, at most
    MAX_PICTURE_BYTES) or a path in ``media_dir``; None, logged, when it cannot be read."""
    from PIL import Image

    try:
        if reference.startswith("https://"):
            with urllib.request.urlopen(reference, timeout=FETCH_SECONDS) as answer:
                data = answer.read(MAX_PICTURE_BYTES + 1)
            if len(data) > MAX_PICTURE_BYTES:
                raise ValueError(f"larger than {MAX_PICTURE_BYTES:,} bytes")
            source: Any = io.BytesIO(data)
        else:
            if media_dir is None:
                raise ValueError("no media folder (HOMEFEED_MEDIA_DIR)")
            path = (media_dir / reference).resolve()
            if not path.is_relative_to(media_dir.resolve()):
                raise ValueError("outside the media folder")
            source = path
        with Image.open(source) as picture:
            return picture.convert("RGB")
    except Exception as error:  # a picture that cannot be read leaves the item to its text
        logger.warning("picture %s could not be read (%s): its item is embedded by text", reference, error)
        return None


class PicturesEncoder:
    """Any text encoder, with each item's picture embedded beside its text (module docstring);
    vectors are the text encoder's dimension plus the image model's, L2-normalised."""

    def __init__(self, inner: TextEncoder, images: ClipEncoder, share: float, media_dir: Path | None) -> None:
        if not 0.0 < share < 1.0:
            raise ValueError("the pictures' share must be between 0 and 1")
        self.inner, self.images, self.share, self.media_dir = inner, images, share, media_dir
        self.model_id = f"{inner.model_id}+pictures-{images.model_id}-{share:g}"
        self.dimension = inner.dimension + images.dimension

    def encode(self, texts: Sequence[str], on_progress: ProgressCallback | None = None) -> np.ndarray:
        split = [text.partition(IMAGE_MARK) for text in texts]
        words = [before for before, _mark, _reference in split]
        textual = self.inner.encode(words, on_progress)
        visual = np.zeros((len(texts), self.images.dimension), dtype=np.float32)
        pictures: list[tuple[int, Any]] = []
        for row, (_words, _mark, after) in enumerate(split):
            reference = after.strip()
            picture = load_picture(reference, self.media_dir) if reference else None
            if picture is not None:
                pictures.append((row, picture))
        if pictures:
            visual[[row for row, _ in pictures]] = self.images.encode_pictures([p for _, p in pictures])
        pictured = {row for row, _ in pictures}
        rest = [row for row in range(len(texts)) if row not in pictured]
        if rest:  # no picture: CLIP reads the words, in the pictures' space
            visual[rest] = self.images.encode([words[row].replace(PART_MARK, ". ") for row in rest])
        joined = np.hstack([math.sqrt(1.0 - self.share) * textual, math.sqrt(self.share) * visual])
        norms = np.linalg.norm(joined, axis=1, keepdims=True)
        unit: np.ndarray = (joined / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit
