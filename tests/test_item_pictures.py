"""Pictures embedded beside text: a CLIP-architecture model built and saved here (random
weights; loaded by the product's own code, as an operator's downloaded folder would be), and a
catalog whose pictures carry the topic while the titles do not."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from homefeed.config import Settings
from homefeed.domain import Item
from homefeed.encoders.base import IMAGE_MARK
from homefeed.encoders.loading import configured_encoder, configured_template, shared_image_encoder
from homefeed.service import create_app
from homefeed.store import Store
from homefeed.understanding.semantic import open_semantic_space
from tests.tiny_clip import build_tiny_clip

pytestmark = pytest.mark.tiny_model
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 60), "blue": (30, 60, 220), "yellow": (230, 220, 40)}
PER_COLOUR = 8


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_clip(tmp_path_factory.mktemp("clip"))


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain square of its colour per item (with a little noise), as PNG."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("media")
    rng = np.random.default_rng(0)
    for colour, rgb in COLOURS.items():
        for n in range(PER_COLOUR):
            pixels = np.clip(np.array(rgb) + rng.normal(0, 12, size=(48, 48, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / f"{colour}-{n}.png")
    return folder


def _items() -> list[Item]:
    """Titles that say nothing of the colour; the picture says it all."""
    numbered = [(colour, n) for colour in COLOURS for n in range(PER_COLOUR)]
    order = np.random.default_rng(1).permutation(len(numbered))
    return [
        Item(id=f"{colour}-{n}", title=f"Product {position + 1}", image=f"{colour}-{n}.png")
        for position, (colour, n) in zip(order.tolist(), numbered, strict=True)
    ]


def _settings(tmp_path: Path, media: Path, clip: Path | None, **more: object) -> Settings:
    chosen: dict[str, object] = {
        "data_dir": tmp_path,
        "media_dir": media,
        "image_model": str(clip) if clip is not None else None,
        "image_share": 0.5,
        "text_backend": "torch",
        "model_poll_seconds": 0,
        "catalog_poll_seconds": 0,
        "log_impressions": False,
    }
    return Settings(**(chosen | more))  # type: ignore[arg-type]


def _same_colour_share(space_vectors: np.ndarray, items: list[Item], k: int = 3) -> float:
    """Over all items, the share of their k nearest others with the same colour."""
    similarity = space_vectors @ space_vectors.T
    np.fill_diagonal(similarity, -np.inf)
    colours = [item.id.split("-")[0] for item in items]
    nearest = np.argsort(-similarity, axis=1)[:, :k]
    return float(np.mean([[colours[j] == colours[i] for j in row] for i, row in enumerate(nearest)]))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    from homefeed.store import migrate

    found = Store.from_url(f"sqlite:///{tmp_path / 'pictures.db'}")
    migrate(found.engine)
    yield found
    found.engine.dispose()


def test_pictures_change_what_the_semantic_space_finds(
    tmp_path: Path, media: Path, clip_folder: Path, store: Store
) -> None:
    items = _items()
    words = open_semantic_space(_settings(tmp_path, media, None), store, items)
    seen = open_semantic_space(_settings(tmp_path, media, clip_folder), store, items)
    ids = [item.id for item in items]
    by_text, by_both = (
        _same_colour_share(words.vectors(ids), items),
        _same_colour_share(seen.vectors(ids), items),
    )
    assert by_text < 0.5 and by_both > 0.9, (by_text, by_both)  # a quarter by chance
    liked = [item.id for item in items if item.id.startswith("blue")][:3]
    hits = seen.by_history(liked, [1.0] * 3, 5, lambda _item: True, set(liked))
    assert [hit.item_id.split("-")[0] for hit in hits] == ["blue"] * 5
    assert seen.encoder.dimension == words.encoder.dimension + 16


def test_an_item_without_a_readable_picture_keeps_its_text_and_the_template_its_mark(
    tmp_path: Path, media: Path, clip_folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(tmp_path, media, clip_folder)
    template = configured_template(settings)
    assert template.endswith(IMAGE_MARK + "{image}")
    encoder = configured_encoder(settings)
    with caplog.at_level(logging.WARNING):
        vectors = encoder.encode([f"Product 1{IMAGE_MARK}missing.png", f"Product 1{IMAGE_MARK}", "Product 1"])
    assert "missing.png could not be read" in caplog.text
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[0], vectors[1]) and np.allclose(
        vectors[1], vectors[2]
    )  # the words, read twice


def test_an_image_model_not_on_the_machine_turns_pictures_off_and_says_how_to_fetch_it(
    tmp_path: Path, media: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(tmp_path, media, None, image_model="nobody/no-such-clip-model")
    with caplog.at_level(logging.WARNING):
        shared_image_encoder.cache_clear()
        template = configured_template(settings)
    assert IMAGE_MARK not in template
    assert "pictures are off" in caplog.text and "HOMEFEED_IMAGE_MODEL=DIR" in caplog.text
    assert configured_encoder(settings).dimension == 384  # the text model alone


def test_the_service_finds_an_item_like_a_new_one_by_its_picture(
    tmp_path: Path, media: Path, clip_folder: Path
) -> None:
    settings = _settings(tmp_path, media, clip_folder)
    with TestClient(create_app(settings)) as client:
        answer = client.post("/v1/items:batch", json={"items": [item.model_dump() for item in _items()]})
        assert answer.status_code == 200, answer.text
        fresh = {"title": "Product 99", "image": "green-7.png"}
        assert client.put("/v1/items/new-green", json=fresh).status_code == 200
        similar = client.get("/v1/items/new-green/similar", params={"n": 4, "by": "text"})
        assert similar.status_code == 200, similar.text
        found = [item["item_id"] for item in similar.json()["items"]]
        assert len(found) == 4 and all(item.startswith("green") for item in found), found
