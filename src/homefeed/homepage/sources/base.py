"""What every candidate source shares: the source protocol, the services they read, and
helpers to pick the best allowed items.

A source is one small object with a ``name`` and one method; the pipeline runs the sources
named in the settings, in order, and a source that raises degrades the page instead of
failing it. Sources skip items the request blocks (seen, excluded, disliked, already placed),
so filters after them rarely have work: they are the guarantee, not the mechanism.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from homefeed.config import Settings
from homefeed.homepage.live import LiveStats
from homefeed.homepage.page import Candidate, Explanation
from homefeed.homepage.request import PageRequest
from homefeed.homepage.semantic import SemanticSources
from homefeed.models.base import Recommender, top_k
from homefeed.models.bundle import ModelBundle
from homefeed.serving.catalog import Catalog
from homefeed.serving.new_items import NewItemVectors
from homefeed.store import Store
from homefeed.vectors import VectorIndex

PERSONAL_MODELS = ("ranker", "sequential", "covisitation", "als")  # tried in this order
NEW_ITEMS = "new-items"  # the source that ranks items no model has interactions for


@runtime_checkable
class VectorScorer(Protocol):
    """A model whose scores are inner products of a user vector with its item vectors."""

    def user_vector(self, items: np.ndarray, weights: np.ndarray) -> np.ndarray: ...

    def item_vectors(self) -> np.ndarray | None: ...


class CandidateSource(Protocol):
    """Proposes items for one request."""

    name: str

    def fetch(self, request: PageRequest, quota: int) -> list[Candidate]: ...


@dataclass
class Services:
    """What sources share across requests; the model-dependent parts change on reload."""

    store: Store
    settings: Settings
    catalog: Catalog
    live: LiveStats
    semantic: SemanticSources | None = None
    indexes: dict[str, VectorIndex] = field(default_factory=dict)  # per personal model
    new_items: Callable[[ModelBundle | None], set[str]] = lambda _bundle: set()
    new_vectors: NewItemVectors | None = None  # new items placed in the version's behaviour space

    def title(self, item_id: str) -> str:
        entry = self.catalog.get(item_id)
        return entry.title if entry is not None else item_id

    def fits(self, item_id: str, request: PageRequest) -> bool:
        """Active, and in the requested category if there is one."""
        entry = self.catalog.get(item_id)
        return (
            entry is not None
            and entry.active
            and (request.category is None or entry.category == request.category)
        )

    def maps_new_items(self, bundle: ModelBundle) -> bool:
        """Whether the new-items source is declared and ranks ``bundle``'s new items."""
        vectors = self.new_vectors
        declared = NEW_ITEMS in self.settings.homepage.sources
        return declared and vectors is not None and vectors.version == bundle.version

    def servable(self, item_id: str, request: PageRequest) -> bool:
        """May be proposed now: fits the request and is not blocked for it."""
        return not request.is_blocked(item_id) and self.fits(item_id, request)


def first_servable(
    services: Services,
    request: PageRequest,
    ranked: Iterable[tuple[str, float]],
    quota: int,
    source: str,
    why: Explanation,
) -> list[Candidate]:
    """The first ``quota`` servable items of an (item, score) ranking, read lazily."""
    found: list[Candidate] = []
    if quota <= 0:
        return found
    for item_id, score in ranked:
        if services.servable(item_id, request):
            found.append(Candidate(item_id, float(score), source, why))
            if len(found) >= quota:
                break
    return found


def best(scores: np.ndarray, allowed: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the ``n`` best allowed items (ties by index)."""
    masked = np.array(scores, dtype=np.float64)
    masked[~allowed] = -np.inf
    indices, values = top_k(masked[None, :], n)
    keep = indices[0] >= 0
    return indices[0][keep], values[0][keep]


def top(
    model: Recommender, scores: np.ndarray, allowed: np.ndarray, n: int, source: str, why: Explanation
) -> list[Candidate]:
    """The ``n`` best allowed items of ``model`` by ``scores``, as ``source``'s candidates."""
    indices, values = best(scores, allowed, n)
    return [
        Candidate(model.item_ids[index], float(value), source, why)
        for index, value in zip(indices.tolist(), values.tolist(), strict=True)
    ]
