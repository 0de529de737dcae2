"""Imports are validated row by row and written all or nothing."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from homefeed.config import Settings
from homefeed.datasets.event_rows import fast_rows, staged
from homefeed.datasets.folders import folder_records
from homefeed.datasets.importer import Importer, validate_record, validate_records
from homefeed.datasets.records import Record, parse_mapping, read_records
from homefeed.domain import Event
from homefeed.errors import InvalidInputError, RowError
from homefeed.store import Store
from tests.movielens_fixtures import write_atomic, write_latest, write_ml1m, write_ml100k

from .conftest import SHARED_ML100K


def _importer(store: Store) -> Importer:
    return Importer(store, Settings().event_weights, batch_size=2)


def test_csv_items_with_column_mapping(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text(
        "sku,name,description,category,tags,attributes,published_at\n"
        'a1,Red shoes,Comfortable,shoes,red|leather,"{""size"": 42}",2026-01-01T00:00:00Z\n'
        "a2,Blue hat,,hats,,,\n",
        encoding="utf-8",
    )
    records = read_records(path, parse_mapping(["id=sku", "title=name", "text=description"]))
    summary = _importer(store).run(items=records)
    assert summary.items == 2
    shoes = store.get_item("a1")
    assert shoes is not None
    assert (shoes.title, shoes.tags, shoes.attributes) == (
        "Red shoes",
        ["red", "leather"],
        {"size": 42},
    )
    assert shoes.published_at == 1767225600.0


def test_jsonl_users_and_events(store: Store, tmp_path: Path) -> None:
    (tmp_path / "items.jsonl").write_text('{"id": "i1", "title": "One"}\n', encoding="utf-8")
    (tmp_path / "users.jsonl").write_text(
        '{"id": "u1", "age": 31, "interests": "jazz"}\n\n', encoding="utf-8"
    )
    (tmp_path / "events.jsonl").write_text(
        '{"event_id": "e1", "user_id": "u1", "item_id": "i1", "type": "like", "timestamp": 5}\n'
        '{"event_id": "e2", "user_id": "u9", "item_id": "i1", "type": "click", "timestamp": 6}\n',
        encoding="utf-8",
    )
    records = folder_records(tmp_path)
    summary = _importer(store).run(records.items, records.users, records.events)
    assert (summary.items, summary.users, summary.events) == (1, 1, 2)
    assert store.get_user("u9") is not None  # unknown users are created
    records = folder_records(tmp_path)
    again = _importer(store).run(records.items, records.users, records.events)
    assert (again.events, again.duplicate_events) == (0, 2)
    assert store.counts()["events"] == 2


@pytest.mark.parametrize(
    ("line", "column", "problem"),
    [
        (
            '{"event_id": "e3", "user_id": "u1", "item_id": "i1", "type": "clik"}',
            "type",
            "unknown event type",
        ),
        (
            '{"event_id": "e3", "user_id": "u1", "item_id": "nope", "type": "click"}',
            "item_id",
            "unknown item",
        ),
        (
            '{"event_id": "e3", "user_id": "u1", "item_id": "i1", "type": "click", "timestamp": "soon"}',
            "timestamp",
            "ISO 8601",
        ),
        ('{"event_id": "e3", "item_id": "i1", "type": "click"}', "user_id", "Field required"),
        ("not json", "*", "not valid JSON"),
    ],
)
def test_a_bad_row_names_file_line_column_and_leaves_nothing(
    store: Store, tmp_path: Path, line: str, column: str, problem: str
) -> None:
    (tmp_path / "items.jsonl").write_text(
        '{"id": "i1", "title": "One"}\n{"id": "i2", "title": "Two"}\n', encoding="utf-8"
    )
    good = [
        json.dumps({"event_id": f"g{n}", "user_id": "u1", "item_id": "i1", "type": "click"}) for n in range(5)
    ]
    (tmp_path / "events.jsonl").write_text("\n".join([*good, line]) + "\n", encoding="utf-8")
    records = folder_records(tmp_path)
    with pytest.raises(RowError) as caught:
        _importer(store).run(records.items, records.users, records.events)
    error = caught.value
    assert error.source.endswith("events.jsonl")
    assert (error.line, error.column) == (6, column)
    assert problem in error.problem
    assert store.counts() == {"items": 0, "users": 0, "events": 0, "impressions": 0}


def test_bad_csv_cell_is_reported_with_the_source_column_name(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("user,years\nu1,30\nu2,old\n", encoding="utf-8")
    with pytest.raises(RowError) as caught:
        _importer(store).run(users=read_records(path, parse_mapping(["id=user", "age=years"])))
    assert (caught.value.line, caught.value.column) == (3, "years")
    assert "valid integer" in str(caught.value)
    assert store.counts()["users"] == 0


def test_bad_mapping_and_unknown_file_type_are_clear() -> None:
    with pytest.raises(InvalidInputError, match="FIELD=COLUMN"):
        parse_mapping(["title"])
    with pytest.raises(InvalidInputError, match="unsupported file type"):
        list(read_records(Path("items.xlsx")))


@pytest.mark.parametrize(
    ("writer", "layout"),
    [
        (write_ml100k, "movielens-100k"),
        (write_atomic, "atomic"),
        (write_ml1m, "movielens-1m"),
        (write_latest, "movielens-latest"),
    ],
)
def test_movielens_layouts(store: Store, tmp_path: Path, writer: object, layout: str) -> None:
    folder = writer(tmp_path / "ml")  # type: ignore[operator]
    records = folder_records(folder)
    assert records.layout == layout
    summary = _importer(store).run(records.items, records.users, records.events)
    assert (summary.items, summary.events) == (3, 4)
    heat = store.get_item("3")
    assert heat is not None and heat.category == "Action" and "Crime" in heat.tags
    assert heat.attributes["year"] == 1995
    events = store.logs.user_events("2", 10)
    assert [(e.item_id, e.type, e.value) for e in events] == [
        ("3", "rating", 4.0),
        ("1", "rating", 2.0),
    ]
    if layout != "movielens-latest":
        user = store.get_user("2")
        assert user is not None and user.gender in {"F", "M"} and user.occupation


def test_ml100k_bad_row_is_named(store: Store, tmp_path: Path) -> None:
    folder = write_ml100k(tmp_path / "ml")
    with (folder / "u.data").open("a", encoding="latin-1") as handle:
        handle.write("3\t2\tfive\t881250960\n")
    records = folder_records(folder)
    with pytest.raises(RowError, match=r"u\.data, line 5, column 'rating'"):
        _importer(store).run(records.items, records.users, records.events)
    assert store.counts()["items"] == 0


@pytest.mark.skipif(not SHARED_ML100K.exists(), reason="../shared/data/ml-100k is absent")
def test_shared_ml100k_atomic_folder_imports_completely(tmp_path: Path) -> None:
    store = Store.from_url(f"sqlite:///{tmp_path / 'ml.db'}")
    from homefeed.store import migrate

    migrate(store.engine)
    records = folder_records(SHARED_ML100K)
    summary = Importer(store, Settings().event_weights).run(records.items, records.users, records.events)
    assert (summary.items, summary.users, summary.events) == (1682, 943, 100_000)
    timestamps = {e.item_id: e.timestamp for e in store.logs.user_events("1", 1000)}
    assert timestamps["98"] == 875072404.001  # float64 keeps the tie-breaking fraction


AWKWARD = [
    ("q1", '"Weird Al" Yankovic'),
    ("q2", 'The "Best" Of, Vol. 2'),
    ("q3", "Tabs\tin\tquotes"),
    ("q4", '"Heroes"'),
    ("q5", "Sigur Rós 🎶 ( ) | ;"),
    ("q6", "Line\nbreak"),
]


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_awkward_names_round_trip_exactly_through_csv_and_tsv(
    store: Store, tmp_path: Path, suffix: str
) -> None:
    """Written by a standard CSV writer (quoting where needed), read back unchanged."""
    path = tmp_path / f"items{suffix}"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t" if suffix == ".tsv" else ",")
        writer.writerow(["id", "title"])
        writer.writerows(AWKWARD)
    assert _importer(store).run(items=read_records(path)).items == len(AWKWARD)
    assert [(item.id, item.title) for item in store.get_items([i for i, _ in AWKWARD])] == AWKWARD


def test_quotes_inside_unquoted_cells_are_text(store: Store, tmp_path: Path) -> None:
    """A TSV written without quoting (most are): a quote that does not wrap the whole cell is kept."""
    path = tmp_path / "items.tsv"
    path.write_text('id\ttitle\n1\t"Weird Al" Yankovic\n2\tShe said "hi"\n', encoding="utf-8")
    _importer(store).run(items=read_records(path))
    assert [item.title for item in store.get_items(["1", "2"])] == ['"Weird Al" Yankovic', 'She said "hi"']


def _music(folder: Path, title_column: str = "artist_name", title: str = '"Weird Al" Yankovic') -> Path:
    """A music data set in atomic files: play counts, no times, artists by ``title_column``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lastfm.item").write_text(
        f"item_id:token\t{title_column}:token_seq\ttags:token_seq\tcountry:token\n"
        f"a1\t{title}\tparody pop\tUS\na2\tSigur Rós 🎶\tpost-rock\tIS\n",
        encoding="utf-8",
    )
    (folder / "lastfm.inter").write_text(
        "user_id:token\titem_id:token\tplay_count:float\nu1\ta1\t12\nu1\ta2\t3\nu2\ta2\t40\n",
        encoding="utf-8",
    )
    return folder


def test_atomic_files_of_any_domain_map_common_columns_and_keep_quotes(store: Store, tmp_path: Path) -> None:
    records = folder_records(_music(tmp_path / "music"))
    assert records.layout == "atomic"
    summary = _importer(store).run(records.items, records.users, records.events)
    assert (summary.items, summary.events) == (2, 3)
    artist = store.get_item("a1")
    assert artist is not None and artist.title == '"Weird Al" Yankovic'
    assert artist.tags == ["parody", "pop"] and artist.category == "parody"
    assert artist.attributes["country"] == "US"
    events = store.logs.user_events("u1", 10)
    assert [(e.item_id, e.type, e.value) for e in events] == [("a1", "click", 12.0), ("a2", "click", 3.0)]
    assert len({e.timestamp for e in events}) == 1  # no times in the file: none invented


def test_an_unknown_title_column_is_named_and_can_be_mapped(store: Store, tmp_path: Path) -> None:
    folder = _music(tmp_path / "music", title_column="performer")
    records = folder_records(folder)
    with pytest.raises(
        RowError, match=r"no title column: expected one of title, movie_title.*--map title=COLUMN"
    ):
        _importer(store).run(records.items, records.users, records.events)
    assert store.counts()["items"] == 0
    records = folder_records(folder, parse_mapping(["title=performer"]))
    assert _importer(store).run(records.items, records.users, records.events).items == 2
    performer = store.get_item("a1")
    assert performer is not None and performer.title == '"Weird Al" Yankovic'


def test_an_empty_title_is_reported_in_the_files_own_column(store: Store, tmp_path: Path) -> None:
    records = folder_records(_music(tmp_path / "music", title=""))
    with pytest.raises(RowError) as caught:
        _importer(store).run(records.items, records.users, records.events)
    assert (caught.value.line, caught.value.column) == (2, "artist_name")
    assert store.counts()["items"] == 0


def test_json_lines_validated_in_one_pass_equal_row_by_row_and_name_a_bad_row(tmp_path: Path) -> None:
    rows = [
        {"event_id": "e1", "user_id": " u1 ", "item_id": "i1", "type": "click", "timestamp": 1_700_000_000},
        {"user_id": "u2", "item_id": "i2", "type": "like", "timestamp": "2026-01-02T03:04:05Z", "value": 4},
        {
            "user_id": "u3",
            "item_id": "i3",
            "type": "view",
            "timestamp": "1700000000.5",
            "context": {"d": "tv"},
        },
        {"user_id": "u4", "item_id": "i4", "type": "rate", "value": "3.5", "timestamp": 1.7e9},
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    records = list(read_records(path))
    assert all(record.text is not None for record in records)
    one_pass = validate_records(records, Event)
    assert one_pass == [validate_record(record, Event) for record in list(read_records(path))]
    assert [event.user_id for event in one_pass] == ["u1", "u2", "u3", "u4"]

    bad = [*rows[:2], {"user_id": "u5", "item_id": "", "type": "click"}, *rows[2:]]
    path.write_text("\n".join(json.dumps(row) for row in bad) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(RowError) as caught:
        validate_records(list(read_records(path)), Event)
    assert (caught.value.line, caught.value.column) == (3, "item_id")
    with pytest.raises(RowError) as caught:
        validate_records(list(read_records(path))[3:], Event)
    assert (caught.value.line, caught.value.column) == (6, "*") and "not valid JSON" in caught.value.problem


EVENT_CASES = [  # each with a timestamp unless the case is about it
    {"user_id": "u", "item_id": "i", "type": "click", "timestamp": 1_700_000_000},
    {"event_id": " e1 ", "user_id": " u ", "item_id": "i", "type": " like ", "timestamp": 1.7e9, "value": 4},
    {"event_id": None, "user_id": "u", "item_id": "i", "type": "rate", "timestamp": 1.7e9, "value": "3.5"},
    {"user_id": "u", "item_id": "i", "type": "view", "timestamp": "2026-01-02T03:04:05Z"},
    {"user_id": "u", "item_id": "i", "type": "view", "timestamp": "1700000000.5"},
    {
        "user_id": "u",
        "item_id": "i",
        "type": "view",
        "timestamp": 1.7e9,
        "context": {"device": "tv", "n": [1, 2]},
    },
    {"user_id": "u", "item_id": "i", "type": "view", "timestamp": 1.7e9, "context": {}},
    {"user_id": "u", "item_id": "i", "type": "view", "timestamp": True},
    {"user_id": "u", "item_id": "i", "type": "view", "timestamp": 1e15},
    {"user_id": "u", "item_id": "i", "type": "view", "timestamp": None},
    {"user_id": "u", "item_id": "i", "type": "view", "timestamp": "yesterday"},
    {"user_id": "u\u0000", "item_id": "i", "type": "view", "timestamp": 1.7e9},
    {"user_id": "u", "item_id": "i\n", "type": "view", "timestamp": 1.7e9},
    {"user_id": "u", "item_id": "i", "type": "vi\u001bew", "timestamp": 1.7e9},
    {"user_id": "   ", "item_id": "i", "type": "view", "timestamp": 1.7e9},
    {"user_id": "u" * 256, "item_id": "i", "type": "view", "timestamp": 1.7e9},
    {"user_id": "u", "item_id": "i", "type": "v" * 65, "timestamp": 1.7e9},
    {"user_id": "u", "item_id": "i", "type": "view", "timestamp": 1.7e9, "value": 2e9},
    {"user_id": "u", "item_id": "i", "type": "view", "timestamp": 1.7e9, "value": "many"},
    {"user_id": "u", "item_id": "i", "type": "view", "timestamp": 1.7e9, "extra": 1},
    {"item_id": "i", "type": "view", "timestamp": 1.7e9},
    {"user_id": 7, "item_id": "i", "type": "view", "timestamp": 1.7e9},
    {"user_id": "u", "item_id": "i", "type": "view", "timestamp": 1.7e9, "context": {"k": "a\u0000"}},
    {"user_id": "u", "item_id": "i", "type": "view", "timestamp": 1.7e9, "context": {"k": "x" * 5000}},
    {"user_id": "u", "item_id": "i", "type": "view", "timestamp": 1.7e9, "context": [1]},
]


@pytest.mark.parametrize("case", EVENT_CASES, ids=range(len(EVENT_CASES)))
def test_events_checked_as_plain_rows_follow_the_event_models_rules(case: dict[str, object]) -> None:
    """The import's fast path (dicts, no model per row) accepts exactly what ``Event`` accepts,
    with the same values; a row it refuses goes to ``Event``, which names the problem."""
    line = json.dumps(case)
    record = Record("events.jsonl", 1, text=line)
    fast = fast_rows([record])
    try:
        expected = staged(Event.model_validate_json(line))
    except ValidationError:
        assert fast is None
        return
    assert fast == [expected]


def test_a_batch_with_one_bad_event_is_refused_whole_by_the_fast_path() -> None:
    good = Record("e.jsonl", 1, text=json.dumps(EVENT_CASES[0]))
    bad = Record("e.jsonl", 2, text=json.dumps(EVENT_CASES[11]))
    assert fast_rows([good, good]) is not None and fast_rows([good, bad]) is None
    assert fast_rows([Record("e.csv", 1, dict(EVENT_CASES[0]), {"user_id": "member"})]) is None
