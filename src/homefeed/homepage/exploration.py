"""Exploration: slots for items the ranked sources would not show, new or rarely shown, chosen
by a bandit over how people responded when they were shown."""

from __future__ import annotations

import itertools
import threading
import uuid
from collections import Counter, deque

import numpy as np

from homefeed.config import HomepageSettings
from homefeed.homepage.composition import Draft, category_of
from homefeed.homepage.page import Candidate, Explanation
from homefeed.homepage.query import PageQuery
from homefeed.homepage.sections import Row
from homefeed.homepage.sources import PageServices

ROW = Row("titled", "Something new")
EXPLORING_NEW = Explanation("exploration", "New here: see if it is for you")
EXPLORING = Explanation("exploration", "Something different: see if it is for you")
PRIOR_ACTED, PRIOR_IGNORED = 1.0, 9.0  # Beta prior of the exploration bandit: one in ten
UNDEREXPOSED_TRIES = 4  # random draws per wanted pool item, each kept by how rarely it was shown
RECENT_PICKS = 500  # the exploration picks an item's share is counted over (per worker)
CAPPED_FROM = 50  # picks before any item's share is capped: fewer say little


class RecentPicks:
    """The latest exploration picks of one worker, to cap any one item's share of them."""

    def __init__(self, size: int = RECENT_PICKS) -> None:
        self._picks: deque[str] = deque(maxlen=size)
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def over(self, item_id: str, share: float) -> bool:
        """Whether ``item_id`` already has ``share`` of the picks (once there are enough to say)."""
        total = len(self._picks)
        return total >= max(1.0 / share, CAPPED_FROM) and self._counts[item_id] >= share * total

    def note(self, item_ids: list[str]) -> None:
        with self._lock:
            for item_id in item_ids:
                if len(self._picks) == self._picks.maxlen:
                    gone = self._picks.popleft()
                    self._counts[gone] -= 1
                self._picks.append(item_id)
                self._counts[item_id] += 1


class Explore:
    """Give ``exploration_slots`` of the page to items the ranked sources would not show.

    Candidates are the newest servable items plus as many drawn at random from the catalog
    (where the under-exposed long tail is), preferring items no model knows. With the
    ``thompson`` policy each candidate's rate of responses per impression (users who had a
    positive event on it within a day of being shown it) is drawn from its Beta posterior
    (prior: one in ten), so items never shown are tried and items shown often without
    response fade; ``uniform`` is ε-greedy. Each draw is tilted by the candidate's text nearness
    to what the user liked (``exploration_relevance``). Items no model knows take up to half the
    slots first (nothing else finds them), so the new item shown is the one nearer the user's
    taste and the long tail keeps the other slots; an item
    with ``exploration_item_share`` of the worker's latest picks waits. Draws are seeded by the
    request id, so a page can be rebuilt exactly (given the same exposure counts). With
    ``explain`` a pick shows its draw, nearness, times shown and responses."""

    def __init__(self, declared: HomepageSettings, services: PageServices) -> None:
        self.declared, self.services = declared, services
        self.recent = RecentPicks()

    def apply(self, query: PageQuery, draft: Draft) -> Draft:
        chosen, n = list(draft.items), query.n
        slots = _slots(n, self.declared)
        if not slots:
            return draft
        new = self.services.unknown.of(query.bundle)
        kept = chosen[: n - len(slots)]
        seed = int(uuid.uuid5(uuid.NAMESPACE_OID, query.request_id).int % 2**63)
        rng = np.random.default_rng(seed)
        share = self.declared.exploration_item_share
        pool = [
            item
            for item in self._pool(query, draft, chosen, kept, rng, new)
            if not self.recent.over(item, share)  # no item takes every page's slot
        ]
        if not pool:
            return draft
        live = self.services.live
        thompson = self.declared.exploration_policy == "thompson"
        shown = live.shown(pool).astype(np.float64) if thompson or query.explain else np.zeros(len(pool))
        acted = np.zeros(len(pool))
        if thompson:
            exposure = live.exposure()
            acted = np.array([exposure.get(item_id, (0, 0))[1] for item_id in pool], dtype=np.float64)
            acted = np.minimum(acted, shown)
            draws = rng.beta(PRIOR_ACTED + acted, PRIOR_IGNORED + shown - acted)
        else:
            draws = rng.random(len(pool))
        near = self._nearness(query, pool)
        tilt = np.ones(len(pool))
        if near is not None and len(pool) > 1 and near.std() > 0:
            z = np.clip((near - near.mean()) / near.std(), -2.0, 2.0)
            tilt = np.exp(self.declared.exploration_relevance * z)
        ranked = [pool[int(pick)] for pick in np.argsort(-(draws * tilt), kind="stable")]
        # items no model knows first (nothing else finds them), on up to half the slots: the one
        # nearest the user's taste takes the first; the long tail keeps the rest
        fresh = [item_id for item_id in ranked if item_id in new][: max(1, len(slots) // 2)]
        ranked = fresh + [item_id for item_id in ranked if item_id not in new] + ranked
        row_of = {item_id: row for row, item_id in enumerate(pool)}
        placed = [candidate.item_id for candidate in kept]
        picks = self._within_cap(list(dict.fromkeys(ranked)), placed, len(slots))
        if len(picks) < len(slots):  # the page's own next items fill the slots left, within the cap
            rest = {candidate.item_id: candidate for candidate in chosen[len(kept) :]}
            fill = self._within_cap(list(rest), placed + picks, len(slots) - len(picks))
            kept = kept + [rest[item_id] for item_id in fill]
        page = list(kept)
        for slot, pick in zip(slots, picks, strict=False):  # the best draw takes the first slot
            why = EXPLORING_NEW if pick in new else EXPLORING
            row = row_of[pick]
            details = (
                {
                    "score": 0.0,
                    "draw": float(draws[row]),
                    "nearness": float(near[row]) if near is not None else 0.0,
                    "shown": float(shown[row]),
                    "responses": float(acted[row]),
                }
                if query.explain
                else {}
            )
            page.insert(min(slot, len(page)), Candidate(pick, 0.0, "explore", why, details))
        self.recent.note(picks)
        return draft.evolve(items=tuple(page[:n]))

    def _nearness(self, query: PageQuery, pool: list[str]) -> np.ndarray | None:
        """Cosine of each candidate's text to the user's liked items (None: no text index, or
        nothing liked yet)."""
        semantic = self.services.semantic
        if semantic is None or self.declared.exploration_relevance <= 0:
            return None
        liked = [(event.item_id, weight) for event, weight in zip(query.events, query.weights, strict=True)]
        taste = semantic.space.history_vector([item for item, _ in liked], [weight for _, weight in liked])
        if taste is None:
            return None
        vectors = semantic.space.vectors(pool)
        norms = np.maximum(np.linalg.norm(vectors, axis=1), 1e-12)
        near: np.ndarray = (vectors @ taste) / norms
        return near

    def _within_cap(self, ranked: list[str], placed: list[str], size: int) -> list[str]:
        """The first ``size`` of ``ranked`` that keep every category within ``max_per_category``,
        counting the items already ``placed`` and the picks before."""
        cap, catalog = self.declared.max_per_category, self.services.catalog
        if cap is None:
            return ranked[:size]
        counts = Counter(category_of(item_id, catalog) for item_id in placed)
        picks: list[str] = []
        for item_id in ranked:
            category = category_of(item_id, catalog)
            if category is None or counts[category] < cap:
                picks.append(item_id)
                counts[category] += 1
                if len(picks) == size:
                    break
        return picks

    def _pool(
        self,
        query: PageQuery,
        draft: Draft,
        chosen: list[Candidate],
        kept: list[Candidate],
        rng: np.random.Generator,
        new: frozenset[str],
    ) -> list[str]:
        """Servable items no source proposed and not over the category cap: the newest
        ``exploration_pool`` and up to as many drawn at random from the active catalog, each
        draw kept with chance 1 / (1 + times shown), so the pool leans to what pages have not
        shown yet. Items no model knows come only from the newest: drawn at random they would
        win every page's slot, relevant or not (the text sources place them by relevance)."""
        declared, services = self.declared, self.services
        on_page = {candidate.item_id for candidate in chosen}
        full: set[str | None] = set()
        if declared.max_per_category is not None:
            counts = Counter(category_of(candidate.item_id, services.catalog) for candidate in kept)
            full = {category for category, count in counts.items() if count >= declared.max_per_category}
        full.discard(None)

        def eligible(item_id: str) -> bool:
            return (
                item_id not in on_page
                and item_id not in draft.proposed
                and category_of(item_id, services.catalog) not in full
                and services.servable(item_id, query)
            )

        newest = services.catalog.newest()
        pool: list[str] = []
        for item_id in newest:
            if eligible(item_id):
                pool.append(item_id)
                if len(pool) >= declared.exploration_pool:
                    break
        picked, wanted = set(pool), len(pool) + declared.exploration_pool
        tries = UNDEREXPOSED_TRIES * declared.exploration_pool if newest else 0
        drawn = [newest[position] for position in rng.integers(0, len(newest), size=tries).tolist()]
        kept_draws = rng.random(tries) * (1 + services.live.shown(drawn)) <= 1.0  # the long tail first
        for item_id in itertools.compress(drawn, kept_draws):
            if item_id not in picked and item_id not in new and eligible(item_id):
                pool.append(item_id)
                picked.add(item_id)
                if len(pool) >= wanted:
                    break
        return pool


def _slots(n: int, declared: HomepageSettings) -> list[int]:
    """0-based positions of the exploration slots: from ``exploration_first_slot``, spread
    evenly over the page; a slot that would fall past the page's end is dropped."""
    if declared.exploration_slots == 0:
        return []
    step = max(n // declared.exploration_slots, 1)
    first = declared.exploration_first_slot - 1
    return [slot for slot in range(first, first + declared.exploration_slots * step, step) if slot < n]
