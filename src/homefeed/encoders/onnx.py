"""The CPU fast path: the sentence-transformers model exported to ONNX and run by ONNX Runtime,
optionally with int8 dynamic quantization of its weights.

The export (transformer + mean pooling + L2 normalisation in one graph) happens once per
model and is cached on disk; later starts load the file. sentence-transformers' own ONNX
backend needs `optimum`, whose current releases pin a transformers major version that
sentence-transformers 6 no longer supports, so homefeed exports with torch.onnx and
quantizes with onnxruntime directly.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from homefeed.encoders.base import ProgressCallback
from homefeed.encoders.sentence import BUNDLED, load_sentence_model, resolve_model
from homefeed.threads import thread_limit

logger = logging.getLogger(__name__)


class OnnxEncoder:
    """Batched, normalised sentence embeddings from an ONNX export of a sentence-transformers model."""

    def __init__(
        self,
        model: str = BUNDLED,
        cache_dir: Path | None = None,
        quantize: bool = True,
        batch_size: int = 64,
        threads: int = 0,
    ) -> None:
        import onnxruntime
        from sentence_transformers import SentenceTransformer

        source = load_sentence_model(SentenceTransformer, resolve_model(model), "cpu")
        self.model_id = f"{model}#onnx{'-int8' if quantize else ''}"
        self.batch_size = batch_size
        self.max_length = int(source.max_seq_length or 256)
        self._tokenizer = source.tokenizer
        getter = getattr(source, "get_embedding_dimension", None) or source.get_sentence_embedding_dimension
        dimension = getter()
        if dimension is None:  # pragma: no cover - every pooling model reports it
            raise RuntimeError(f"{model} does not report its embedding dimension")
        self.dimension = int(dimension)
        folder = (cache_dir or Path.home() / ".cache" / "homefeed" / "onnx") / _slug(model)
        path = export(source, folder, quantize)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or thread_limit()
        # idle worker threads sleep instead of spinning: in a server, encoding is rare and the
        # CPU belongs to the requests
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def encode(self, texts: Sequence[str], on_progress: ProgressCallback | None = None) -> np.ndarray:
        """Batches of similar length (less padding: faster, and int8 activation ranges are
        not stretched by padding), returned in the input order."""
        order = sorted(range(len(texts)), key=lambda row: len(texts[row]))
        chunks = []
        for start in range(0, len(texts), self.batch_size):
            batch = [texts[row] for row in order[start : start + self.batch_size]]
            tokens = self._tokenizer(
                batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="np"
            )
            feeds = {
                name: np.asarray(tokens[name], dtype=np.int64) for name in ("input_ids", "attention_mask")
            }
            chunks.append(np.asarray(self._session.run(None, feeds)[0], dtype=np.float32))
            if on_progress is not None:
                on_progress(min(start + self.batch_size, len(texts)), len(texts))
        if not chunks:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        vectors[order] = np.vstack(chunks)
        return vectors


def export(source: Any, folder: Path, quantize: bool) -> Path:
    """``model.onnx`` (and ``model-int8.onnx``) in ``folder``, written once, atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    plain = folder / "model.onnx"
    if not plain.exists():
        logger.info("exporting the text encoder to ONNX in %s", folder)
        pooled = _Pooled(source[0].auto_model).eval()
        sample = source.tokenizer(
            ["an example", "another, longer example"], padding=True, return_tensors="pt"
        )
        partial = folder / f".model-{os.getpid()}.onnx"
        with torch.no_grad():
            torch.onnx.export(
                pooled,
                (sample["input_ids"], sample["attention_mask"]),
                str(partial),
                input_names=["input_ids", "attention_mask"],
                output_names=["embedding"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "tokens"},
                    "attention_mask": {0: "batch", 1: "tokens"},
                    "embedding": {0: "batch"},
                },
                opset_version=17,
                dynamo=False,
            )
        os.replace(partial, plain)
    if not quantize:
        return plain
    quantized = folder / "model-int8-per-channel.onnx"
    if not quantized.exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # onnxruntime writes (and then deletes) a shape-inferred copy next to its input: two
        # processes quantizing the same model at once (two server workers on a fresh machine)
        # deleted each other's copy and one of them crashed, so each quantizes a private link
        with tempfile.TemporaryDirectory(dir=folder, prefix=".quantize-") as private:
            staged, partial = Path(private) / "model.onnx", Path(private) / "model-int8.onnx"
            _link_or_copy(plain, staged)
            # per-channel weight scales keep the int8 embeddings closer to fp32 than one per tensor
            quantize_dynamic(str(staged), str(partial), weight_type=QuantType.QInt8, per_channel=True)
            os.replace(partial, quantized)
    return quantized


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links
        shutil.copyfile(source, target)


def _slug(model: str) -> str:
    """A folder name for a model name or path (readable prefix + hash of the full name)."""
    readable = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in model)[-40:]
    return f"{readable}-{hashlib.sha256(model.encode()).hexdigest()[:10]}"


class _Pooled(torch.nn.Module):
    """Transformer + attention-masked mean pooling + L2 normalisation, as one graph."""

    def __init__(self, transformer: torch.nn.Module) -> None:
        super().__init__()
        self.transformer = transformer

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(mean, dim=-1)
