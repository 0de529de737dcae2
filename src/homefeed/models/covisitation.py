"""Item-to-item co-visitation: items picked near each other in users' sequences.

Two items are related when people pick them within a few events of each other, the weight
falling with the distance: what a rating session or a browsing visit groups together. Unlike
item-kNN's whole-history co-occurrence, nearness in time is what counts, and unlike the
Transformer's few dozen dimensions, the counts keep every pair apart. On MovieLens-100K `loo`
it ranks about as well as the Transformer alone and adds to it in the ranker
(docs/benchmarks.md, quality). A user is scored from the latest ``recent`` liked items, the newest
weighing most.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from homefeed.domain import UserProfile
from homefeed.models.base import Recommender, Retrieved, UserQuery, top_k
from homefeed.models.data import Interactions, kept_sequences, pack_sequences, unpack_sequences
from homefeed.models.sparse_rows import (
    blank_lines,
    csr_arrays,
    csr_from_arrays,
    row_entries,
    rows_weighted_sum,
    rows_weighted_sum_at,
    rows_weighted_sum_stored,
)

PAIR_BLOCK = 1 << 26  # pairs of items counted at once at most (a GB or so while counted)


class CovisitationRecommender(Recommender):
    """Sums, over the user's latest liked items, each one's co-visitation row: pair counts
    within ``window`` events (each step further multiplies a pair's weight by ``decay``),
    divided by both items' total counts to the power ``popularity_exponent``, keeping each
    item's ``neighbours`` strongest."""

    name = "covisitation"
    config_keys = ("window", "decay", "popularity_exponent", "recent", "half_life", "neighbours")
    prefers_history = True

    def __init__(
        self,
        window: int = 20,
        decay: float = 0.9,
        popularity_exponent: float = 0.5,
        recent: int = 10,
        half_life: float = 3.0,
        neighbours: int = 200,
    ) -> None:
        super().__init__()
        if window < 1 or recent < 1 or neighbours < 1:
            raise ValueError("window, recent and neighbours must be at least 1")
        if not 0.0 < decay <= 1.0 or half_life <= 0:
            raise ValueError("decay must be in (0, 1] and half_life positive")
        self.window = window
        self.decay = decay
        self.popularity_exponent = popularity_exponent
        self.recent = recent
        self.half_life = half_life
        self.neighbours = neighbours
        self.similarity = sp.csr_matrix((0, 0), dtype=np.float32)
        self.sequences: list[np.ndarray] = []

    def _fit(self, data: Interactions) -> None:
        self.sequences = [items for items, _ in data.sequences()]
        pairs = _Pairs(self.sequences, self.window, self.decay)
        blocks = pairs.row_blocks(data.n_items, PAIR_BLOCK)
        whole = self._pair_counts_of(pairs, *blocks[0], data.n_items) if len(blocks) == 1 else None

        def counts_of(start: int, stop: int) -> sp.csr_matrix:
            return whole if whole is not None else self._pair_counts_of(pairs, start, stop, data.n_items)

        # a row's damping needs every item's total, so a catalog in several blocks is counted twice
        totals = np.concatenate([np.asarray(counts_of(*block).sum(axis=1)).ravel() for block in blocks]) + 1.0
        damping = (totals**-self.popularity_exponent).astype(np.float32)
        similar = [
            _strongest(
                sp.csr_matrix(sp.diags(damping[start:stop]) @ counts_of(start, stop) @ sp.diags(damping)),
                self.neighbours,
            )
            for start, stop in blocks
        ]
        self.similarity = similar[0] if len(similar) == 1 else sp.vstack(similar, format="csr")

    def _pair_counts(self, sequences: list[np.ndarray], n_items: int) -> sp.csr_matrix:
        """Symmetric [n_items, n_items] weighted counts of pairs within ``window`` events
        (a session logs its items in no reliable order, so both directions count)."""
        return self._pair_counts_of(_Pairs(sequences, self.window, self.decay), 0, n_items, n_items)

    def _pair_counts_of(self, pairs: _Pairs, start: int, stop: int, n_items: int) -> sp.csr_matrix:
        """Rows ``start:stop`` of the pair counts. Counted one distance at a time and summed:
        memory holds these rows' distinct pairs and one distance's pairs, not every pair of the
        window at once (at 10M events and a window of 20 those would take about 8 GB)."""
        counts = sp.csr_matrix((stop - start, n_items), dtype=np.float32)
        for rows, columns, weight in pairs.by_distance(start, stop):
            found = sp.coo_matrix((weight, (rows - start, columns)), shape=(stop - start, n_items))
            counts = counts + found.tocsr()  # this distance's repeated pairs summed
        counts.setdiag(0.0, k=start)  # an item picked twice is not its own neighbour
        counts.eliminate_zeros()
        return counts

    def score_users(self, users: np.ndarray) -> np.ndarray:
        return np.vstack([self._score(self.sequences[user]) for user in users])

    def score_history(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray:
        return self._score(items[weights > 0])

    def score_new_users_at(
        self,
        histories: Sequence[np.ndarray],
        profiles: Sequence[UserProfile | None],
        items: np.ndarray,
    ) -> np.ndarray:
        """The latest liked items' weighted co-visitation rows, read at ``items`` only."""
        found = np.zeros((len(histories), len(items)), dtype=np.float64)
        for row, history in enumerate(histories):
            latest, weights = self._latest_weighted(history)
            if len(latest):
                found[row] = rows_weighted_sum_at(self.similarity, latest, weights, items)
        return found

    def _score(self, liked: np.ndarray) -> np.ndarray:
        latest, weights = self._latest_weighted(liked)
        if len(latest) == 0:
            return np.zeros(self.similarity.shape[1], dtype=np.float64)
        return rows_weighted_sum(self.similarity, latest, weights)

    def _latest_weighted(self, liked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The latest ``recent`` liked items and their recency weights (half-life ``half_life``)."""
        latest = liked[-self.recent :]
        ages = np.arange(len(latest) - 1, -1, -1, dtype=np.float64)
        return latest, 0.5 ** (ages / self.half_life)

    def anchors(
        self,
        liked: np.ndarray,
        chosen: np.ndarray,
        weights: np.ndarray | None = None,
    ) -> np.ndarray:
        """For each of ``chosen``, the item of the user's latest ``recent`` liked items that gave
        it the most score (what "because you liked X" names: the score is the sum of these
        gifts), or -1 where none did."""
        latest, weights = self._latest_weighted(liked)
        if len(latest) == 0 or len(chosen) == 0:
            return np.full(len(chosen), -1, dtype=np.int64)
        owner, at = row_entries(self.similarity, latest)  # no scipy fancy indexing on a page
        column = np.full(self.similarity.shape[1], -1, dtype=np.int64)
        column[chosen] = np.arange(len(chosen))
        where = column[self.similarity.indices[at]]
        keep = where >= 0
        given = np.zeros((len(latest), len(chosen)))
        given[owner[keep], where[keep]] = self.similarity.data[at[keep]] * weights[owner[keep]]
        strongest = np.argmax(given, axis=0)
        found = given[strongest, np.arange(len(chosen))] > 0
        return np.where(found, latest[strongest], -1).astype(np.int64)

    def retrieve(self, user: UserQuery, allowed: np.ndarray, n: int) -> Retrieved:
        """Only items picked near the user's latest likes, best first (ties by index): a score
        of 0 is no evidence, and the next personal model is better placed to fill the rest of
        a row. Summed over the latest likes' stored pairs only, never over the whole catalog:
        the same sums as :meth:`score_history`, entry by entry in the same order."""
        items, scores = rows_weighted_sum_stored(self.similarity, *self._latest_weighted(user.liked))
        evidence = allowed[items] & (scores > 0)
        items, scores = items[evidence], scores[evidence]
        order = np.lexsort((items, -scores))[: max(0, n)]
        return Retrieved(items[order], scores[order])

    def item_neighbours(self, index: int) -> np.ndarray:
        """[n_items] float64: how strongly each item is picked near item ``index`` (-inf for
        items never picked near it)."""
        row: np.ndarray = self.similarity[index].toarray().ravel().astype(np.float64)
        row[row <= 0] = -np.inf
        return row

    def similar_items(self, item_id: str, n: int) -> list[tuple[str, float]]:
        """The items most often picked near ``item_id``."""
        index = self.item_index(item_id)
        if index is None:
            return []
        row = self.item_neighbours(index)
        indices, values = top_k(row[None, :], n)
        return [(self.item_ids[i], float(v)) for i, v in zip(indices[0], values[0], strict=True) if i >= 0]

    def _keep_users(self, keep: np.ndarray) -> None:
        self.sequences = kept_sequences(self.sequences, keep)

    def _blank_items(self, indices: np.ndarray) -> None:
        self.similarity = blank_lines(self.similarity, indices)

    def _user_record(self, index: int) -> dict[str, Any]:
        return {"sequence": self.item_id_list(self.sequences[index])}

    def _arrays(self) -> dict[str, np.ndarray]:
        return {**csr_arrays("similarity", self.similarity), **pack_sequences(self.sequences)}

    def _set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.similarity = csr_from_arrays("similarity", arrays)
        self.sequences = unpack_sequences(arrays["sequence_lengths"], arrays["sequence_items"])


class _Pairs:
    """The pairs of items within ``window`` events of each other in the same sequence, one
    distance at a time, both directions, weighted ``decay`` per step further."""

    def __init__(self, sequences: Sequence[np.ndarray], window: int, decay: float) -> None:
        packed = pack_sequences(sequences)
        self.items = packed["sequence_items"]
        self.owner = np.repeat(np.arange(len(sequences)), packed["sequence_lengths"])
        self.window = window
        self.decay = decay

    def _distance(self, step: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The (earlier, later) items ``step`` apart, sequence by sequence; None when no
        sequence is that long."""
        same = self.owner[:-step] == self.owner[step:]  # both empty once step passes the end
        if not same.any():
            return None
        return self.items[:-step][same], self.items[step:][same]

    def by_distance(
        self, start: int = 0, stop: int | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per distance, the pairs (rows, columns, weights), only those whose first item is in
        ``start:stop`` when ``stop`` is given."""
        for step in range(1, self.window + 1):
            found = self._distance(step)
            if found is None:
                return
            earlier, later = found
            rows, columns = np.concatenate([earlier, later]), np.concatenate([later, earlier])
            if stop is not None:
                inside = (rows >= start) & (rows < stop)
                rows, columns = rows[inside], columns[inside]
            yield rows, columns, np.full(len(rows), self.decay ** (step - 1), dtype=np.float32)

    def row_blocks(self, n_items: int, most: int) -> list[tuple[int, int]]:
        """Consecutive item ranges whose pairs number about ``most`` at most (a single item with
        more is a block of its own): the whole catalog at once when they all fit."""
        per_item = np.zeros(n_items, dtype=np.int64)
        for rows, _, _ in self.by_distance():
            per_item += np.bincount(rows, minlength=n_items)
        if per_item.sum() <= most:
            return [(0, n_items)]
        blocks, start, held = [], 0, 0
        for item, count in enumerate(per_item.tolist()):
            if held and held + count > most:
                blocks.append((start, item))
                start, held = item, 0
            held += count
        blocks.append((start, n_items))
        return blocks


def _strongest(matrix: sp.csr_matrix, keep: int) -> sp.csr_matrix:
    """Each row's ``keep`` largest entries (ties at the cut may keep a few more)."""
    matrix = matrix.tocsr().astype(np.float32)
    lengths = np.diff(matrix.indptr)
    for row in np.flatnonzero(lengths > keep):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        values = matrix.data[start:end]
        cutoff = np.partition(values, len(values) - keep)[len(values) - keep]
        values[values < cutoff] = 0.0
    matrix.eliminate_zeros()
    return matrix
