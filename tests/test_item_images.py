"""Items carry a picture: checked on the way in (HTTP, files), stored, served from the media
folder, and returned with the page's items ready for an <img>."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from homefeed.config import Settings
from homefeed.datasets.folders import folder_records
from homefeed.domain import Item
from homefeed.errors import ConfigurationError, RowError
from homefeed.service import create_app
from homefeed.service.schemas import image_url
from tests.movielens_fixtures import write_atomic

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24  # the bytes are served as they are


@pytest.fixture
def media(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    (folder / "posters").mkdir(parents=True)
    (folder / "posters" / "a.png").write_bytes(PNG)
    (tmp_path / "secret.txt").write_text("not for the web", encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("image", "says"),
    [
        ("../secret.txt", "'..'"),
        ("/etc/passwd", "http(s) address or a relative path"),
        ("javascript:alert(1)", "http(s) address or a relative path"),
        ("file:///etc/passwd", "http(s) address or a relative path"),
        ("https://cdn.example.com/a b.jpg", "http(s) address or a relative path"),
    ],
)
def test_a_bad_picture_is_refused_naming_the_field(settings: Settings, image: str, says: str) -> None:
    with TestClient(create_app(settings)) as client:
        response = client.put("/v1/items/a", json={"title": "A", "image": image})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "image" and says in response.json()["message"]


def test_pictures_are_stored_served_and_returned_ready_for_an_img(settings: Settings, media: Path) -> None:
    settings = settings.model_copy(update={"media_dir": media})
    with TestClient(create_app(settings)) as client:
        client.put("/v1/items/a", json={"title": "A", "image": "posters/a.png", "creator": "ann"})
        client.put("/v1/items/b", json={"title": "B", "image": "https://cdn.example.com/b.jpg"})
        client.put("/v1/items/c", json={"title": "C", "image": ""})  # an empty cell: none
        assert client.get("/v1/items/a").json()["image"] == "posters/a.png"
        assert client.get("/v1/items/c").json()["image"] is None
        served = client.get("/media/posters/a.png")
        assert served.status_code == 200 and served.content == PNG
        assert client.get("/media/../secret.txt").status_code == 404
        assert client.get("/media/%2e%2e/secret.txt").status_code == 404
        page = client.get("/v1/users/someone/homepage?n=3").json()
    pictures = {item["item_id"]: item["image_url"] for item in page["items"]}
    assert pictures == {"a": "/media/posters/a.png", "b": "https://cdn.example.com/b.jpg", "c": None}
    assert next(item["creator"] for item in page["items"] if item["item_id"] == "a") == "ann"


def test_a_cdn_serves_the_media_paths() -> None:
    assert (
        image_url("posters/a.png", "https://img.example.com/media/")
        == "https://img.example.com/media/posters/a.png"
    )
    assert image_url("https://x.example.com/a.png", "/media") == "https://x.example.com/a.png"
    assert image_url(None, "/media") is None


def test_a_missing_media_folder_stops_the_service_at_start(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="media_dir"):
        create_app(settings.model_copy(update={"media_dir": tmp_path / "nowhere"}))


def test_files_name_pictures_by_their_common_columns(tmp_path: Path) -> None:
    folder = write_atomic(tmp_path / "ml")
    item_file = folder / "ml-100k.item"
    lines = item_file.read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + "\tposter:token"] + [f"{line}\tposters/{line.split()[0]}.jpg" for line in lines[1:]]
    item_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = [Item.model_validate(record.values) for record in folder_records(folder).items]
    assert [item.image for item in items] == ["posters/1.jpg", "posters/2.jpg", "posters/3.jpg"]
    assert all("poster" not in item.attributes for item in items)


def test_a_details_file_gives_pictures_and_names_a_bad_one(tmp_path: Path) -> None:
    folder = write_atomic(tmp_path / "ml")
    details = tmp_path / "details.csv"
    details.write_text("item_id,image,plot\n1,https://img.example.com/1.jpg,Toys.\n", encoding="utf-8")
    items = {
        r.values["id"]: Item.model_validate(r.values)
        for r in folder_records(folder, item_details=details).items
    }
    assert items["1"].image == "https://img.example.com/1.jpg" and "image" not in items["1"].attributes
    assert items["2"].image is None
    details.write_text("item_id,image\n1,ok.jpg\n2,../../etc/passwd\n", encoding="utf-8")
    with pytest.raises(RowError) as raised:
        list(folder_records(folder, item_details=details).items)
    assert (raised.value.source, raised.value.line, raised.value.column) == (str(details), 3, "image")


def test_synthetic_pictures_tell_the_topic_and_leave_the_events_alone(tmp_path: Path) -> None:
    from homefeed.datasets.synth import SynthConfig, generate

    config = SynthConfig(users=30, items=40, days=3, topics=4, seed=3)
    generate(config, tmp_path / "plain")
    generate(SynthConfig(**{**config.__dict__, "pictures": True}), tmp_path / "drawn")
    assert (tmp_path / "plain" / "events.jsonl").read_bytes() == (
        tmp_path / "drawn" / "events.jsonl"
    ).read_bytes()
    lines = (tmp_path / "drawn" / "items.jsonl").read_text(encoding="utf-8").splitlines()
    items = [Item.model_validate_json(line) for line in lines]
    motifs: dict[str, set[str]] = {}
    for item in items:
        assert item.image == f"{item.id}.svg"
        svg = (tmp_path / "drawn" / "media" / item.image).read_text(encoding="utf-8")
        assert svg.startswith("<svg") and item.title.split()[0].replace("&", "&amp;") in svg
        motif = svg.split("/>", 1)[1].split("<rect y=")[0]  # what follows the background
        motifs.setdefault(str(item.attributes["topic"]), set()).add(motif)
    assert all(len(found) == 1 for found in motifs.values())  # one motif per topic
    assert len(set().union(*motifs.values())) == len(motifs)  # and the topics' motifs differ
