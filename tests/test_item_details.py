"""Item details from a side file (a plot, the cast) become attributes the text template reads;
long texts are read whole in windows when asked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from homefeed.cli import app
from homefeed.datasets.folders import folder_records
from homefeed.domain import Item
from homefeed.encoders.base import item_text, template_parts
from homefeed.encoders.chunks import ChunkedEncoder, windows
from homefeed.encoders.loading import shared_encoder
from homefeed.encoders.parts import PartsEncoder
from homefeed.errors import RowError
from homefeed.store import Store
from tests.movielens_fixtures import write_atomic

DETAILS = (
    "item_id\tdirector\tactors\tplot\n"
    '1\tJohn Lasseter\tTom Hanks, Tim Allen\t"Toys come to life when ""Andy"" leaves the room."\n'
    "2\tMartin Campbell\tN/A\tAgent 007 races to Russia.\n"
)


def _details(tmp_path: Path, text: str = DETAILS) -> Path:
    path = tmp_path / "plots.tsv"
    path.write_text(text, encoding="utf-8")
    return path


def test_details_become_attributes_the_template_reads(tmp_path: Path) -> None:
    folder = write_atomic(tmp_path / "ml")
    records = folder_records(folder, item_details=_details(tmp_path))
    items = {record.values["id"]: Item.model_validate(record.values) for record in records.items}
    toy = items["1"]
    assert toy.attributes["plot"] == 'Toys come to life when "Andy" leaves the room.'  # quotes undone
    assert toy.attributes["director"] == "John Lasseter"
    assert "actors" not in items["2"].attributes  # N/A adds nothing
    assert "plot" not in items["3"].attributes  # no details row: the item as it was
    template = "{title}. {attr_director}. {attr_actors}. {attr_plot}"
    assert item_text(items["2"], template) == "GoldenEye. Martin Campbell. Agent 007 races to Russia."
    assert item_text(items["3"], template) == "Heat"


@pytest.mark.parametrize(
    ("text", "line", "column", "says"),
    [
        ("id\tplot\n1\tx\n", 1, "item_id", "needs an 'item_id' column"),
        ("item_id\tplot\n1\tx\n1\ty\n", 3, "item_id", "already has details on line 2"),
        ("item_id\tplot\n1\tx\n99\ty\n", 3, "item_id", "'99' is not among the data's items"),
        ("item_id\tplot\n1\tx\textra\n", 2, "cell 3", "more cells than the 2 named"),
    ],
)
def test_a_bad_details_row_is_named(tmp_path: Path, text: str, line: int, column: str, says: str) -> None:
    folder = write_atomic(tmp_path / "ml")
    with pytest.raises(RowError) as raised:
        list(folder_records(folder, item_details=_details(tmp_path, text)).items)
    error = raised.value
    assert (error.source, error.line, error.column) == (str(tmp_path / "plots.tsv"), line, column)
    assert says in error.problem


def test_import_dataset_with_details_stores_them_or_nothing(tmp_path: Path) -> None:
    folder = write_atomic(tmp_path / "ml")
    data = tmp_path / "data"
    bad = _details(tmp_path, DETAILS + "99\tNobody\tNobody\tNothing.\n")
    failed = CliRunner().invoke(
        app, ["--data-dir", str(data), "import", "dataset", str(folder), "--item-details", str(bad)]
    )
    assert isinstance(failed.exception, RowError)  # the command line prints it as an error
    assert "'99' is not among the data's items" in str(failed.exception)
    store = Store.from_url(f"sqlite:///{data / 'homefeed.db'}")
    assert store.counts()["items"] == 0  # all or nothing
    good = _details(tmp_path)
    done = CliRunner().invoke(
        app, ["--data-dir", str(data), "import", "dataset", str(folder), "--item-details", str(good)]
    )
    assert done.exit_code == 0, done.output
    toy = store.get_item("1")
    assert toy is not None and toy.attributes["actors"] == "Tom Hanks, Tim Allen"


def test_windows_cover_every_word_once() -> None:
    text = " ".join(f"w{i}" for i in range(25))
    assert windows(text, 10) == [
        " ".join(f"w{i}" for i in range(0, 10)),
        " ".join(f"w{i}" for i in range(10, 20)),
        " ".join(f"w{i}" for i in range(20, 25)),
    ]
    assert windows("short text", 10) == ["short text"]


def test_chunks_read_what_truncation_drops() -> None:
    """A long text whose end is about space flight: truncated at the model's 256 word pieces,
    its vector knows nothing of it; read in windows, it does. A short text is unchanged."""
    encoder = shared_encoder()
    chunked = ChunkedEncoder(encoder, words=100)
    kitchen = "She chops onions and stirs the soup in the kitchen while the bread bakes. " * 20
    space = "The astronauts launch their rocket into orbit and float inside the space station. " * 5
    long = kitchen + space
    query = encoder.encode(["astronauts flying a rocket to space"])[0]
    truncated, whole = encoder.encode([long])[0], chunked.encode([long])[0]
    assert float(whole @ query) > float(truncated @ query) + 0.15
    assert np.linalg.norm(whole) == pytest.approx(1.0, abs=1e-5)
    short = "A quiet film about a baker."
    assert np.allclose(chunked.encode([short])[0], encoder.encode([short])[0], atol=1e-6)
    assert chunked.model_id != encoder.model_id  # its vectors are cached apart


PARTS = "{title}. {tags} || {attr_director}. {attr_actors} || {attr_plot}"


def test_a_template_of_parts_keeps_the_fields_apart() -> None:
    film = Item(id="1", title="Toy Story", tags=["Animation"], attributes={"plot": "Toys live."})
    assert template_parts(PARTS) == 3 and template_parts("{title}") == 1
    assert item_text(film, PARTS) == "Toy Story. Animation ||  || Toys live."  # no cast: an empty part


def test_parts_are_embedded_apart_and_a_query_meets_every_part() -> None:
    """An item's vector joins its parts' vectors; a one-part text (a stated interest) is compared
    with every part, so its score is the mean of its cosines to the parts."""
    inner = shared_encoder()
    encoder = ChunkedEncoder(inner, 200)  # wrappers compose: chunks within each part
    parts = PartsEncoder(encoder, 3)
    texts = ["A kitchen comedy", "Jane Chef and Tom Baker", "Astronauts fly a rocket to the moon"]
    item, query = parts.encode([" || ".join(texts), "space flight"])
    assert item.shape == (3 * inner.dimension,) and np.linalg.norm(item) == pytest.approx(1.0, abs=1e-5)
    each = inner.encode(texts) @ inner.encode(["space flight"])[0]
    assert float(item @ query) == pytest.approx(float(each.mean()), abs=1e-4)
    missing = parts.encode([f"{texts[0]} ||  || {texts[2]}"])[0]  # a part left empty adds nothing
    assert np.allclose(missing[inner.dimension : 2 * inner.dimension], 0.0)
    assert np.linalg.norm(missing) == pytest.approx(1.0, abs=1e-5)


def test_the_text_index_reads_items_by_parts(tmp_path: Path) -> None:
    from homefeed.config import Settings
    from homefeed.encoders.loading import configured_encoder
    from homefeed.understanding.semantic import SemanticSpace

    settings = Settings(data_dir=tmp_path, item_text_template="{title} || {attr_plot}")
    items = [
        Item(id="s", title="Midnight", attributes={"plot": "Astronauts repair a space station in orbit."}),
        Item(id="c", title="Midnight Kitchen", attributes={"plot": "A chef opens a small pasta restaurant."}),
    ]
    space = SemanticSpace.build(items, configured_encoder(settings), template=settings.item_text_template)
    found = space.by_interests("space exploration and rockets", 1, lambda _: True, set())
    assert [hit.item_id for hit in found] == ["s"]  # the plot decides: the titles tell nothing
