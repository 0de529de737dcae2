"""A vector source's view of a large catalog found through its vector index, not by scoring
every item: the user's best items are searched in the index (exact, or above
``IndexConfig.hnsw_above`` whichever approximate index finds most of sampled users' heads,
``vectors.choice``), the reference items' scores give the mean, spread and ladder, and any
other item's score is one inner product when a candidate needs it. A source whose index finds
under ``SEARCHED_RECALL`` of the heads keeps scoring every item: a missed head item would get
a rank of hundreds, and the booster would read it so."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from homefeed.ranking.features import RESCORED_HEAD, SourceView, inner_products
from homefeed.vectors.choice import ChosenIndex, better_index
from homefeed.vectors.index import IndexConfig, VectorIndex

SEARCHED_RECALL = 0.98  # the share of sampled users' heads a source's index must find


@dataclass
class SearchedSource:
    """The item vectors of one source, their index (slots are item indices) and the reference
    items' vectors; ``gone`` marks forgotten items (their vectors blanked), never found."""

    vectors: np.ndarray  # [n_items, dimension]: the source's scores are inner products with them
    index: VectorIndex
    reference: np.ndarray  # the reference items (features.reference_items)
    gone: np.ndarray
    reference_vectors: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.reference_vectors = np.ascontiguousarray(self.vectors[self.reference], dtype=np.float64)

    @classmethod
    def build(
        cls, vectors: np.ndarray, reference: np.ndarray, gone: np.ndarray, config: IndexConfig | None = None
    ) -> SearchedSource:
        """An index over ``vectors`` as ``config`` says (building takes minutes at a million
        items: forgetting an item builds the chosen kind again without the item's vector)."""
        return cls(vectors, VectorIndex.build(_slot_ids(len(vectors)), vectors, config), reference, gone)

    @classmethod
    def chosen(
        cls,
        vectors: np.ndarray,
        reference: np.ndarray,
        gone: np.ndarray,
        queries: np.ndarray | None,
        head: int,
        config: IndexConfig | None = None,
    ) -> tuple[SearchedSource | None, ChosenIndex]:
        """The index that finds most of ``queries``' (sampled users' vectors) best ``head``
        items, widened to ``SEARCHED_RECALL``, and the source over it; None for the source
        when it finds less (or there are no queries): that source scores every item."""
        choice = better_index(
            _slot_ids(len(vectors)), vectors, queries, config or IndexConfig(), head, SEARCHED_RECALL
        )
        if queries is None or choice.found < SEARCHED_RECALL:
            return None, choice
        return cls(vectors, choice.index, reference, gone), choice

    @classmethod
    def load(
        cls, directory: Path, vectors: np.ndarray, reference: np.ndarray, gone: np.ndarray
    ) -> SearchedSource | None:
        """The index saved in ``directory``, or None when there is none or it is of other vectors."""
        if not (directory / "index.json").exists():
            return None
        index = VectorIndex.load(directory)
        return cls(vectors, index, reference, gone) if len(index) == len(vectors) else None

    def view(self, user: np.ndarray, blocked: np.ndarray, per_source: int) -> SourceView | None:
        """The source's view for the user with vector ``user``: its head is the best
        ``max(RESCORED_HEAD, 2 * per_source)`` items the index finds that are not ``blocked``,
        ranked exactly (as far as the index finds them all); items below it are ranked on the
        ladder of the reference items. None when no reference item is rankable."""
        user = np.asarray(user, dtype=np.float64)
        sampled = self.reference_vectors @ user
        ladder = np.sort(sampled[~blocked[self.reference]])
        if len(ladder) == 0:
            return None
        size = max(RESCORED_HEAD, 2 * per_source)
        found, _ = self.index.search_slots(user, size, ~(blocked | self.gone))
        # scored as SourceView.scores scores any candidate, so a head item's rank counts itself out
        scores = inner_products(self.vectors, user, found)
        order = np.argsort(scores, kind="stable")
        head, best = scores[order], found[order]
        exact_from = float(head[0]) if len(head) == size else -np.inf  # a short head is every item
        mean, std = float(ladder.mean()), float(ladder.std()) or 1.0
        stride = len(self.vectors) / len(self.reference)
        return SourceView(
            np.zeros(0),
            mean,
            std,
            best[-per_source:],
            head,
            ladder,
            stride,
            exact_from,
            rescore_items=np.sort(best),
            rescore_bar=exact_from,
            scorer=(self.vectors, user),
        )

    def save(self, directory: Path) -> None:
        self.index.save(directory)


def _slot_ids(count: int) -> list[str]:
    """The index's ids: each item's index as text, so slots are the source's item indices."""
    return [str(item) for item in range(count)]
