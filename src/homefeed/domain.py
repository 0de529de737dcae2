"""The nouns of the engine: items, users, events and impressions, validated by pydantic.

The same models validate HTTP bodies and imported rows, so a bad value gets the same
message whether it came over the API or from a file.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

# the same rules for HTTP bodies and imported rows: what one backend stores and another refuses
# (NUL in PostgreSQL text), or what breaks a page for everyone, never gets in
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # in ids and labels: none at all
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab and line breaks allowed
MAX_TAGS = 100
MAX_JSON_BYTES = 16_384  # an item's or a user's attributes, serialised
MAX_CONTEXT_BYTES = 4_096  # an event's context, serialised
MAX_JSON_DEPTH = 8
EARLIEST = -62_135_596_800.0  # 0001-01-01: published_at may be long ago (films, books)
LATEST = 253_402_300_799.0  # 9999-12-31


def no_control(value: str) -> str:
    """Refuse control characters (NUL included) in an id or a label."""
    if _CONTROL.search(value):
        raise ValueError("control characters (NUL, escapes, line breaks) are not allowed")
    return value


def plain_text(value: str) -> str:
    """Refuse control characters other than tab and line breaks in free text."""
    if _CONTROL_IN_TEXT.search(value):
        raise ValueError("control characters (NUL, escapes) are not allowed")
    return value


def bounded_json(max_bytes: int) -> AfterValidator:
    """A JSON object of at most ``max_bytes`` (serialised) and MAX_JSON_DEPTH levels, with
    finite numbers and text without control characters (keys included)."""

    def check(value: dict[str, Any]) -> dict[str, Any]:
        if not value:
            return value
        _check_json(value, 0)
        size = len(json.dumps(value, ensure_ascii=False).encode())
        if size > max_bytes:
            raise ValueError(f"at most {max_bytes:,} bytes as JSON, got {size:,}")
        return value

    return AfterValidator(check)


def _check_json(value: Any, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite (no NaN or Infinity)")
    if isinstance(value, str):
        plain_text(value)
    elif isinstance(value, dict):
        for key, inner in value.items():
            plain_text(str(key))
            _check_json(inner, depth + 1)
    elif isinstance(value, list):
        for inner in value:
            _check_json(inner, depth + 1)


# the same rules in the OpenAPI schema, so clients (and the fuzzer) know them
NO_CONTROL_PATTERN = r"^[^\u0000-\u001f\u007f]*$"
TEXT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$"
Identifier = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
    AfterValidator(no_control),
    Field(
        description="An opaque identifier chosen by the client (1 to 255 characters, no controls).",
        json_schema_extra={"pattern": NO_CONTROL_PATTERN},
    ),
]
Label = Annotated[
    str,
    StringConstraints(max_length=255),
    AfterValidator(no_control),
    Field(json_schema_extra={"pattern": NO_CONTROL_PATTERN}),
]
Text = Annotated[str, AfterValidator(plain_text), Field(json_schema_extra={"pattern": TEXT_PATTERN})]


def image_reference(value: str) -> str:
    """An item's picture: a web address (http or https), or a path inside the service's media
    folder (``media_dir``, served under ``/media/``): relative, without ``..`` or backslashes."""
    if re.match(r"^https?://[^\s]+$", value, flags=re.IGNORECASE):
        return value
    if ":" in value.split("/", 1)[0] or value.startswith("/") or "\\" in value:
        raise ValueError("an image is an http(s) address or a relative path in the media folder")
    if any(part in {"", ".", ".."} for part in value.split("/")) or re.search(r"\s", value):
        raise ValueError("an image path may not hold empty, '.' or '..' parts, or spaces")
    return value


ImageReference = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2048),
    AfterValidator(no_control),
    AfterValidator(image_reference),
    Field(
        description="The item's picture: an http(s) address, or a path inside the media folder "
        "(HOMEFEED_MEDIA_DIR, served under /media/).",
        examples=["https://example.com/posters/1.jpg", "posters/1.jpg"],
    ),
]


def to_epoch_seconds(value: Any) -> Any:
    """Accept epoch seconds (int/float/numeric string), ISO 8601 text or a datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bool):
        raise ValueError("expected a timestamp, got a boolean")
    if isinstance(value, int | float):
        return _in_range(float(value))
    if isinstance(value, str):
        text = value.strip()
        try:
            return _in_range(float(text))
        except ValueError as error:
            if "finite" in str(error) or "between" in str(error):
                raise
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"expected epoch seconds or an ISO 8601 date-time, got {value!r}") from None
        return parsed.timestamp()
    raise ValueError(f"expected a timestamp, got {type(value).__name__}")


def _in_range(seconds: float) -> float:
    if not math.isfinite(seconds):
        raise ValueError("timestamp must be finite (no NaN or Infinity)")
    if not EARLIEST <= seconds <= LATEST:
        raise ValueError("timestamp must be between the years 1 and 9999 (epoch seconds)")
    return seconds


Timestamp = Annotated[
    float,
    BeforeValidator(to_epoch_seconds),
    Field(description="Epoch seconds, or an ISO 8601 date-time (UTC when no zone is given)."),
]


def split_tags(value: Any) -> Any:
    """Tags may come as a list or as one string separated by ``|`` or ``,``."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        separator = "|" if "|" in value else ","
        return [tag.strip() for tag in value.split(separator) if tag.strip()]
    return value


class ItemFields(BaseModel):
    """What describes an item; the id travels separately (e.g. in the URL)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=1000),
        AfterValidator(plain_text),
        Field(json_schema_extra={"pattern": TEXT_PATTERN}),
    ]
    text: Text = Field("", max_length=100_000, description="Description or body text.")
    category: Label | None = None
    tags: Annotated[list[Label], BeforeValidator(split_tags)] = Field(
        default_factory=list, max_length=MAX_TAGS, description=f"At most {MAX_TAGS} tags."
    )
    attributes: Annotated[dict[str, Any], bounded_json(MAX_JSON_BYTES)] = Field(
        default_factory=dict, description=f"Free-form JSON (at most {MAX_JSON_BYTES:,} bytes)."
    )
    creator: Label | None = None
    published_at: Timestamp | None = None
    image: Annotated[ImageReference | None, BeforeValidator(lambda v: v or None)] = None
    active: bool = True


class Item(ItemFields):
    """Something that can be shown on a homepage: an article, a product, a film, a course."""

    id: Identifier


class UserProfile(BaseModel):
    """What a user told us about themselves; every field is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    age: int | None = Field(None, ge=0, le=130)
    gender: Label | None = Field(None, max_length=64)
    occupation: Label | None = None
    location: Label | None = None
    interests: Text | None = Field(None, max_length=10_000, description="Stated interests as free text.")
    attributes: Annotated[dict[str, Any], bounded_json(MAX_JSON_BYTES)] = Field(default_factory=dict)


class User(UserProfile):
    """A person the homepage is built for."""

    id: Identifier


class StoredEventRecord(BaseModel):
    """An event as stored, for a user's data export (with when the service received it)."""

    event_id: str | None
    item_id: str
    type: str
    value: float | None
    timestamp: float
    context: dict[str, Any]
    received_at: float


class PromotionFields(BaseModel):
    """A business rule: show ``item_id`` at ``position`` on every homepage between two times."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    item_id: Identifier
    position: int = Field(1, ge=1, le=1000, description="1-based slot on the page.")
    label: Label = Field("Featured", min_length=1, description="The reason shown.")
    starts_at: Timestamp | None = Field(None, description="From when (default: now on).")
    ends_at: Timestamp | None = Field(None, description="Until when (default: no end).")

    @model_validator(mode="after")
    def _window(self) -> PromotionFields:
        if self.starts_at is not None and self.ends_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self

    def active(self, now: float) -> bool:
        return (self.starts_at is None or self.starts_at <= now) and (
            self.ends_at is None or now < self.ends_at
        )


class Promotion(PromotionFields):
    """A pinned or promoted item, by id."""

    id: Identifier


class Event(BaseModel):
    """One piece of behaviour: a user did something (``type``) to an item at a time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: Identifier | None = Field(
        None, description="Client event id; an event with an id already stored is ignored."
    )
    user_id: Identifier
    item_id: Identifier
    type: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
        AfterValidator(no_control),
        Field(json_schema_extra={"pattern": NO_CONTROL_PATTERN}),
    ]
    value: float | None = Field(
        None, ge=-1e9, le=1e9, allow_inf_nan=False, description="Optional magnitude, e.g. the rating."
    )
    timestamp: Timestamp = Field(default_factory=time.time)
    context: Annotated[dict[str, Any], bounded_json(MAX_CONTEXT_BYTES)] = Field(
        default_factory=dict, description=f"e.g. device and surface (at most {MAX_CONTEXT_BYTES:,} bytes)."
    )


@dataclass(frozen=True, slots=True)
class Impression:
    """One item shown to one user in one homepage response (a plain dataclass: made per item
    on the request path, so it skips validation)."""

    request_id: str
    user_id: str
    item_id: str
    position: int
    section: str
    source: str
    model_version: str | None
    timestamp: float
    experiment: str | None = None
    arm: str | None = None


@dataclass(frozen=True, slots=True)
class ShownPage:
    """One homepage response as logged: one record per page on the request path (not one
    object per item); the store writes one impression row per entry of ``items``."""

    request_id: str
    user_id: str
    model_version: str | None
    timestamp: float
    experiment: str | None  # the first experiment the page was built in, and its arm
    arm: str | None
    items: tuple[tuple[str, int, str, str], ...]  # (item id, position, section, source)
    arms: tuple[tuple[str, str], ...] = ()  # (experiment, arm) of every experiment it was in

    @classmethod
    def group(cls, impressions: Iterable[Impression]) -> list[ShownPage]:
        """Impressions gathered into pages: rows that share request, user, version, time and
        arm (in their order)."""
        pages: dict[tuple[Any, ...], tuple[Impression, list[tuple[str, int, str, str]]]] = {}
        for i in impressions:
            key = (i.request_id, i.user_id, i.model_version, i.timestamp, i.experiment, i.arm)
            pages.setdefault(key, (i, []))[1].append((i.item_id, i.position, i.section, i.source))
        return [
            cls(
                i.request_id,
                i.user_id,
                i.model_version,
                i.timestamp,
                i.experiment,
                i.arm,
                tuple(entries),
                ((i.experiment, i.arm),) if i.experiment is not None and i.arm is not None else (),
            )
            for i, entries in pages.values()
        ]


class UserData(BaseModel):
    """Everything homefeed stores about one person (the right of access): the profile, every
    event in time order and every logged impression."""

    user: User
    events: list[StoredEventRecord]
    impressions: list[Impression]
    exported_at: float
    models: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per kept model version, per model: what it holds about the user (their factor "
        "row, history or sequence, profile groups), learned at training.",
    )
