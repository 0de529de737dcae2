"""What a homepage answer is made of: candidates from sources, then items in sections, each
with an explanation that names the evidence it rests on."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Explanation:
    """Why an item is shown: a ``type`` (history, interest, profile, popularity, fresh,
    similar), the ``text`` a person reads, and the ``evidence`` (item ids of the user's
    history, phrases of their stated interests, or profile groups) it rests on."""

    type: str
    text: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Candidate:
    """One item proposed by one source, with the source's score (higher is better)."""

    item_id: str
    score: float
    source: str
    explanation: Explanation
    details: dict[str, float] = field(default_factory=dict, compare=False)  # with explain=true


@dataclass(frozen=True)
class HomepageItem:
    item_id: str
    title: str
    category: str | None
    score: float
    source: str
    reason: str
    explanation: Explanation
    details: dict[str, float] = field(default_factory=dict, compare=False)
    # what a front end shows besides the title: one call draws the card
    image: str | None = None
    creator: str | None = None
    published_at: float | None = None
    price: float | None = None


@dataclass(frozen=True)
class Section:
    """A row of the page: a title drawn from the evidence and the items in page order."""

    key: str
    title: str
    items: tuple[HomepageItem, ...]


@dataclass
class Homepage:
    request_id: str
    user_id: str
    model_version: str | None
    items: list[HomepageItem] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    degraded: bool = False
    reasons: list[str] = field(default_factory=list)
    removed: dict[str, int] = field(default_factory=dict)  # filter name -> candidates it removed
    cursor: str | None = None  # for the next page
    experiment: str | None = None  # the first A/B experiment running, and the user's arm in it
    arm: str | None = None
    arms: dict[str, str] = field(default_factory=dict)  # every running experiment -> the user's arm
    # seconds each stage took ("read", "retrieval", "diversify", ...) and each source
    # ("source:als", ...): for the service's metrics
    seconds: dict[str, float] = field(default_factory=dict)

    def degrade(self, reason: str) -> None:
        """Record that a fallback was used, and why (said in the response)."""
        self.degraded = True
        self.reasons.append(reason)
