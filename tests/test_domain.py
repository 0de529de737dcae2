from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from homefeed.domain import Event, Item, User


def test_timestamps_accept_epoch_iso_and_datetime() -> None:
    expected = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()
    for value in (
        expected,
        str(expected),
        "2026-01-02T03:04:05Z",
        "2026-01-02T04:04:05+01:00",
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    ):
        event = Event(user_id="u", item_id="i", type="click", timestamp=value)
        assert event.timestamp == pytest.approx(expected)


def test_bad_timestamp_names_the_problem() -> None:
    with pytest.raises(ValidationError, match="ISO 8601"):
        Event(user_id="u", item_id="i", type="click", timestamp="next tuesday")


def test_tags_split_from_text_and_unknown_fields_refused() -> None:
    assert Item(id="a", title="A", tags="x | y|z").tags == ["x", "y", "z"]
    assert Item(id="a", title="A", tags="x,y").tags == ["x", "y"]
    with pytest.raises(ValidationError, match="colour"):
        Item(id="a", title="A", colour="red")  # type: ignore[call-arg]


def test_ids_are_stripped_and_must_not_be_empty() -> None:
    assert User(id="  u1 ").id == "u1"
    with pytest.raises(ValidationError):
        User(id="   ")
    with pytest.raises(ValidationError):
        User(id="u", age=-3)
