"""What sources propose and how the page takes from it.

A source answers with a :class:`Proposal`: one or more :class:`Ranked` lists (a list per model
of the personal row, a list per stated taste) and how many items it wants on the page. Lists
stay arrays until the page has chosen from them, so a source may propose hundreds of items
(a ranker's candidates) at little cost; only the chosen ones become :class:`Candidate` objects,
explained then.

Sources do not know what other sources proposed: each is asked for its ``quota`` plus
``spare`` items more, in order, and :func:`take` passes over items an earlier source took.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import overload

import numpy as np

from homefeed.homepage.page import Candidate, Explanation

# the explanations of chosen items, from their ids and (when the list has them) their keys
Explainer = Callable[[Sequence[str], np.ndarray | None], Sequence[Explanation]]


def because(explanation: Explanation) -> Explainer:
    """Every item of the list is there for the same reason."""
    return lambda item_ids, _keys: [explanation] * len(item_ids)


class ItemIds(Sequence[str]):
    """The ids of a model's items at ``indices``, looked up when read: a ranker's list holds
    hundreds of candidates and the page reads the ids of a few dozen."""

    __slots__ = ("indices", "vocabulary")

    def __init__(self, vocabulary: Sequence[str], indices: np.ndarray) -> None:
        self.vocabulary, self.indices = vocabulary, indices

    def __len__(self) -> int:
        return len(self.indices)

    @overload
    def __getitem__(self, position: int) -> str: ...

    @overload
    def __getitem__(self, position: slice) -> list[str]: ...

    def __getitem__(self, position: int | slice) -> str | list[str]:
        if isinstance(position, slice):
            return [self.vocabulary[index] for index in self.indices[position].tolist()]
        return self.vocabulary[int(self.indices[position])]

    def __iter__(self) -> Iterator[str]:
        vocabulary = self.vocabulary
        return (vocabulary[index] for index in self.indices.tolist())

    def reordered(self, order: np.ndarray) -> ItemIds:
        return ItemIds(self.vocabulary, self.indices[order])


@dataclass(frozen=True, eq=False)
class Features:
    """Feature rows computed once for a list's items, in its order: what the model named
    ``model`` scores them by (``Recommender.score_features``), and what ``explain`` shows."""

    model: str
    names: tuple[str, ...]
    rows: np.ndarray  # [items, len(names)]


@dataclass(frozen=True, eq=False)
class Ranked:
    """One ranked list of a proposal: items best first with their scores, or, with ``scores``
    None, items a scorer orders by their ``features``. ``keys`` are the proposing model's own
    indices of the items (what its explainer reads); ``details`` extra per-item values shown
    with ``explain``."""

    source: str  # what proposed them: the candidates' ``source`` (a model or the source's name)
    item_ids: Sequence[str]
    scores: np.ndarray | None
    explain: Explainer
    keys: np.ndarray | None = None
    features: Features | None = None
    details: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.item_ids)

    def ordered_by(self, scores: np.ndarray) -> Ranked:
        """The list with ``scores``, best first (ties keep the list's order)."""
        order = np.argsort(-scores, kind="stable")
        item_ids = self.item_ids
        return replace(
            self,
            item_ids=item_ids.reordered(order)
            if isinstance(item_ids, ItemIds)
            else [item_ids[position] for position in order.tolist()],
            scores=scores[order],
            keys=self.keys[order] if self.keys is not None else None,
            features=replace(self.features, rows=self.features.rows[order]) if self.features else None,
            details={name: values[order] for name, values in self.details.items()},
        )


@dataclass(frozen=True)
class Ask:
    """How many items the page wants from a source (``quota``) and how many more it should
    propose in order (``spare``), since earlier sources may have taken some of them."""

    quota: int
    spare: int = 0

    @property
    def size(self) -> int:
        return self.quota + self.spare if self.quota > 0 else 0

    def within(self, share: int) -> Ask:
        """At most ``share`` on the page (a source's share of it)."""
        return Ask(min(self.quota, share), self.spare)


@dataclass(frozen=True)
class Proposal:
    """A source's answer: its lists, how many of their items it wants on the page, whether the
    lists take turns (each stated taste in turn) or fill in order (each personal model fills
    what the ones before left), and what went wrong on the way (the page says so)."""

    lists: tuple[Ranked, ...] = ()
    quota: int = 0
    turns: bool = False
    degradations: tuple[str, ...] = ()
    cold: bool = False  # the source had nothing to go on for this user (no liked history)

    def __len__(self) -> int:
        return sum(len(ranked) for ranked in self.lists)


def proposing(ranked: Ranked | None, ask: Ask) -> Proposal:
    """A proposal of one list (none: an empty proposal)."""
    return Proposal((ranked,), ask.quota) if ranked is not None and len(ranked) else Proposal()


def take(proposal: Proposal, taken: Collection[str], explain: bool) -> list[Candidate]:
    """The proposal's first ``quota`` items that are not ``taken``, in its order (lists in turn
    or in sequence), each explained; with ``explain`` each carries its score, its rank in its
    list among those taken, its ``details`` and feature values."""
    quota = proposal.quota
    if quota <= 0 or not proposal.lists:
        return []
    chosen: list[tuple[int, int, str]] = []  # (list, position, item id)
    picked: set[str] = set()
    for which, position, item_id in _walk(proposal):
        if item_id in taken or item_id in picked:
            continue
        chosen.append((which, position, item_id))
        picked.add(item_id)
        if len(chosen) >= quota:
            break
    if len(proposal.lists) == 1:
        return _candidates(proposal.lists[0], chosen, explain)
    made: dict[tuple[int, int], Candidate] = {}
    for which, ranked in enumerate(proposal.lists):
        mine = [pick for pick in chosen if pick[0] == which]
        for pick, candidate in zip(mine, _candidates(ranked, mine, explain), strict=True):
            made[pick[:2]] = candidate
    return [made[pick[:2]] for pick in chosen]


def _walk(proposal: Proposal) -> Iterator[tuple[int, int, str]]:
    """(list, position, item id) in the order the page reads the proposal."""
    lists = proposal.lists
    if not proposal.turns:
        for which, ranked in enumerate(lists):
            for position, item_id in enumerate(ranked.item_ids):
                yield which, position, item_id
        return
    for rank in range(max((len(ranked) for ranked in lists), default=0)):
        for which, ranked in enumerate(lists):
            if rank < len(ranked):
                yield which, rank, ranked.item_ids[rank]


def _candidates(ranked: Ranked, chosen: list[tuple[int, int, str]], explain: bool) -> list[Candidate]:
    """Candidates of the ``chosen`` (list, position, item id) of ``ranked``, explained."""
    if not chosen:
        return []
    positions = [position for _, position, _ in chosen]
    item_ids = [item_id for _, _, item_id in chosen]
    keys = ranked.keys[positions] if ranked.keys is not None else None
    explanations = ranked.explain(item_ids, keys)
    scores = ranked.scores[positions].tolist() if ranked.scores is not None else [0.0] * len(positions)
    source = ranked.source
    if not explain:
        return [
            Candidate(item_id, score, source, why)
            for item_id, score, why in zip(item_ids, scores, explanations, strict=True)
        ]
    found = []
    for rank, (position, item_id, score, why) in enumerate(
        zip(positions, item_ids, scores, explanations, strict=True), 1
    ):
        details = {"score": score, "rank": float(rank)}
        details |= {name: float(values[position]) for name, values in ranked.details.items()}
        if ranked.features is not None:
            details |= dict(zip(ranked.features.names, ranked.features.rows[position].tolist(), strict=True))
        found.append(Candidate(item_id, score, source, why, details))
    return found
