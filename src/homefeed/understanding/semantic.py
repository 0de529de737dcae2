"""The catalog in language-model space: item text vectors in a vector index, and the three
semantic queries built on it (recent history, stated interests, item-to-item).

The index is kept in step with the catalog as items are written, so an item created
through the API is retrievable by its text at the next request, before any retraining.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np

from homefeed.config import Settings
from homefeed.domain import Item
from homefeed.encoders.base import DEFAULT_TEMPLATE, TextEncoder, item_text
from homefeed.encoders.cache import embed_items, text_hash
from homefeed.store import Store
from homefeed.understanding.interests import Interests, parse_interests
from homefeed.vectors import Hit, IndexConfig, VectorIndex

Accept = Callable[[str], bool]
V = TypeVar("V")
PHRASE_POOL = 512  # the nearest items kept per liked phrase of stated interests


@dataclass(frozen=True)
class InterestQuery:
    """Embedded stated interests: one vector per liked and per disliked phrase."""

    interests: Interests
    liked: np.ndarray  # [n_liked, dimension]
    disliked: np.ndarray  # [n_disliked, dimension]


def embed_interests(
    texts: Sequence[str], encoder: TextEncoder, known: Mapping[str, np.ndarray] | None = None
) -> list[InterestQuery]:
    """Parse each stated-interests text and embed its phrases, every distinct phrase once (and
    none of ``known``'s, whose vectors are given). Equal texts share one query, read-only
    (300,000 users who typed 456 different texts held 2.4 GB of copies before)."""
    parsed = {text: parse_interests(text) for text in dict.fromkeys(texts)}
    phrases = {phrase for found in parsed.values() for phrase in (*found.liked, *found.disliked)}
    vectors = dict(known or {})
    new = sorted(phrases - vectors.keys())
    vectors.update(zip(new, encoder.encode(new), strict=True) if new else ())

    def stack(chosen: Sequence[str]) -> np.ndarray:
        stacked = (
            np.stack([vectors[phrase] for phrase in chosen])
            if chosen
            else np.zeros((0, encoder.dimension), dtype=np.float32)
        )
        stacked.flags.writeable = False
        return stacked

    queries = {
        text: InterestQuery(found, stack(found.liked), stack(found.disliked))
        for text, found in parsed.items()
    }
    return [queries[text] for text in texts]


class SemanticSpace:
    """Item text embeddings, searchable, updated with the catalog."""

    def __init__(
        self,
        encoder: TextEncoder,
        index: VectorIndex,
        store: Store | None = None,
        template: str = DEFAULT_TEMPLATE,
        history_half_life: float = 10.0,
    ) -> None:
        self.encoder = encoder
        self.index = index
        self.store = store
        self.template = template
        self.history_half_life = history_half_life  # in events: the 10th-latest counts half
        self._hashes: dict[str, str] = {}  # item id -> hash of the text it was embedded from
        self._queries: _Recent[InterestQuery] = _Recent(1000)
        # each phrase's vector: many texts are made of a few phrases ("jazz", "no football")
        self._phrases: _Recent[np.ndarray] = _Recent(10_000)
        # each text's and each disliked phrase's avoided items, at the index revision they
        # were found at (the last 1,000 of each)
        self._avoided: _Recent[frozenset[str]] = _Recent(1000)
        self._avoided_by_phrase: _Recent[frozenset[str]] = _Recent(1000)
        # each liked phrase's nearest items, at an index revision (see _nearest)
        self._pools: _Recent[list[Hit]] = _Recent(256)

    @classmethod
    def build(
        cls,
        items: Sequence[Item],
        encoder: TextEncoder,
        store: Store | None = None,
        template: str = DEFAULT_TEMPLATE,
        config: IndexConfig | None = None,
    ) -> SemanticSpace:
        space = cls(encoder, VectorIndex(encoder.dimension, config), store, template)
        space.sync(items)
        return space

    # -- keeping in step with the catalog ---------------------------------
    def sync(self, items: Sequence[Item]) -> int:
        """Embed (cached by text hash) and index the items that are new or whose text changed;
        returns how many were (re)indexed."""
        hashes = {item.id: text_hash(item_text(item, self.template)) for item in items}
        changed = [item for item in items if self._hashes.get(item.id) != hashes[item.id]]
        changed = list({item.id: item for item in changed}.values())
        if changed:
            vectors = embed_items(changed, self.encoder, self.store, self.template)
            self.index.add([item.id for item in changed], vectors)
            self._hashes.update({item.id: hashes[item.id] for item in changed})
        return len(changed)

    def remove(self, item_ids: Collection[str]) -> None:
        self.index.remove(item_ids)
        for item in item_ids:
            self._hashes.pop(item, None)

    def vectors(self, item_ids: Sequence[str]) -> np.ndarray:
        """Text vectors in the given order; zeros for items not in the index."""
        return self.index.vectors(item_ids)

    # -- queries ------------------------------------------------------------
    def history_vector(self, item_ids: Sequence[str], weights: Sequence[float]) -> np.ndarray | None:
        """Recency- and weight-weighted mean of the liked items' text vectors (oldest first).
        Only the latest ``5 * half_life`` liked events count: older ones weigh under 3 %."""
        pairs = [(item, w) for item, w in zip(item_ids, weights, strict=True) if w > 0 and item in self.index]
        pairs = pairs[-max(1, int(5 * self.history_half_life)) :]
        if not pairs:
            return None
        ages = np.arange(len(pairs) - 1, -1, -1, dtype=np.float64)
        decay = 0.5 ** (ages / self.history_half_life)
        strength = decay * np.array([w for _, w in pairs])
        mean = (self.vectors([item for item, _ in pairs]) * strength[:, None]).sum(0)
        norm = float(np.linalg.norm(mean))
        return (mean / norm).astype(np.float32) if norm > 0 else None

    def by_history(
        self,
        item_ids: Sequence[str],
        weights: Sequence[float],
        k: int,
        accept: Accept,
        exclude: Collection[str],
    ) -> list[Hit]:
        query = self.history_vector(item_ids, weights)
        return [] if query is None else self.index.search_filtered(query, k, accept, exclude)

    def interest_query(self, text: str) -> InterestQuery:
        """Parse and embed stated interests (the last 1,000 texts are kept, and the last
        10,000 phrases: a new text of known phrases needs no encoding)."""
        cached = self._queries.get(text)
        if cached is not None:
            return cached
        parsed = parse_interests(text)
        phrases = (*parsed.liked, *parsed.disliked)
        known = {phrase: vector for phrase in phrases if (vector := self._phrases.get(phrase)) is not None}
        (query,) = embed_interests([text], self.encoder, known)
        self._queries.put(text, query)
        for phrase, vector in zip(phrases, (*query.liked, *query.disliked), strict=True):
            self._phrases.put(phrase, vector)
        return query

    def forget_interests(self) -> None:
        """Drop every parsed interest text, and its phrases and avoided items (a user's text
        was deleted or changed: what was read from it goes)."""
        for cache in (self._queries, self._phrases, self._avoided, self._avoided_by_phrase, self._pools):
            cache.clear()

    def interest_lists(self, text: str, k: int, accept: Accept, exclude: Collection[str]) -> list[list[Hit]]:
        """Per liked phrase of the stated interests, the items nearest it (twice ``k``, so the
        turns of several phrases still fill ``k``), without items clearly about a disliked one."""
        query = self.interest_query(text)
        if len(query.liked) == 0:
            return []
        avoid = self.avoided(text)
        return [
            [hit for hit in self._nearest(phrase, vector, k * 2, accept, exclude) if hit.item_id not in avoid]
            for phrase, vector in zip(query.interests.liked, query.liked, strict=True)
        ]

    def _nearest(
        self, phrase: str, vector: np.ndarray, k: int, accept: Accept, exclude: Collection[str]
    ) -> list[Hit]:
        """The ``k`` items nearest a liked phrase that are not excluded and that ``accept``
        allows: read from the phrase's pool (its ``PHRASE_POOL`` nearest items, searched once
        per index revision and shared by every user who typed it), and searched again only
        when the pool holds too few."""
        revision = self.index.revision
        pool = self._pools.get(phrase, revision)
        if pool is None:
            pool = self.index.search(vector, PHRASE_POOL)[0]
            self._pools.put(phrase, pool, revision)
        kept = list(islice((hit for hit in pool if hit.item_id not in exclude and accept(hit.item_id)), k))
        if len(kept) >= k or len(pool) < PHRASE_POOL:  # a short pool is every live item
            return kept
        return self.index.search_filtered(vector, k, accept, exclude)

    def by_interests(self, text: str, k: int, accept: Accept, exclude: Collection[str]) -> list[Hit]:
        """Items nearest any liked phrase, without those about a disliked one; the phrases take
        turns, so several stated tastes all show up."""
        per_phrase = self.interest_lists(text, k, accept, exclude)
        if not per_phrase:
            return []
        chosen: dict[str, float] = {}
        for rank in range(max(len(hits) for hits in per_phrase)):
            for hits in per_phrase:
                if rank < len(hits) and hits[rank].item_id not in chosen:
                    chosen[hits[rank].item_id] = hits[rank].score
        return [Hit(item, score) for item, score in list(chosen.items())[:k]]

    def avoided(self, text: str | None) -> frozenset[str]:
        """Items clearly about a disliked phrase: nearer to it than halfway from the catalog's
        median similarity to its best match (a relative cut, robust to the model's scale).
        Found once per phrase, and one object per text, until the catalog changes: texts
        share phrases, and a text's exclusion is built once."""
        if not text:
            return frozenset()
        query = self.interest_query(text)
        if len(query.disliked) == 0 or len(self.index) == 0:
            return frozenset()
        revision = self.index.revision
        cached = self._avoided.get(text, revision)
        if cached is not None:
            return cached
        found = [
            self._phrase_avoided(phrase, vector, revision)
            for phrase, vector in zip(query.interests.disliked, query.disliked, strict=True)
        ]
        avoided = found[0] if len(found) == 1 else frozenset().union(*found)
        self._avoided.put(text, avoided, revision)
        return avoided

    def _phrase_avoided(self, phrase: str, vector: np.ndarray, revision: int) -> frozenset[str]:
        """The items clearly about one disliked phrase (see :meth:`avoided`)."""
        cached = self._avoided_by_phrase.get(phrase, revision)
        if cached is not None:
            return cached
        ids, vectors = self.index.snapshot()
        similarity = vectors @ vector
        median = np.median(similarity)
        cut = median + 0.5 * (similarity.max() - median)
        avoided = frozenset(ids[row] for row in np.flatnonzero(similarity >= cut))
        self._avoided_by_phrase.put(phrase, avoided, revision)
        return avoided

    def similar(self, item_id: str, k: int, accept: Accept) -> list[Hit]:
        vector = self.index.vector(item_id)
        if vector is None:
            return []
        return self.index.search_filtered(vector, k, accept, exclude={item_id})

    # -- persistence ------------------------------------------------------
    def save(self, directory: Path) -> None:
        """The index plus which model and texts it was built from."""
        self.index.save(directory)
        meta = {"model_id": self.encoder.model_id, "template": self.template, "hashes": self._hashes}
        (directory / "semantic.json").write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(
        cls,
        directory: Path,
        encoder: TextEncoder,
        store: Store | None = None,
        template: str = DEFAULT_TEMPLATE,
    ) -> SemanticSpace:
        """A saved space; built empty instead when it was made by another model or template."""
        meta = json.loads((directory / "semantic.json").read_text(encoding="utf-8"))
        if meta["model_id"] != encoder.model_id or meta["template"] != template:
            return cls(encoder, VectorIndex(encoder.dimension), store, template)
        space = cls(encoder, VectorIndex.load(directory), store, template)
        space._hashes = dict(meta["hashes"])
        return space


def open_semantic_space(
    settings: Settings, store: Store, items: Sequence[Item], saved: Path | None = None
) -> SemanticSpace:
    """The catalog's text index as configured: the one saved in a model version (when built by
    the same model and template) brought up to date with ``items``, else built afresh;
    embeddings come from the store's cache, so only new or changed texts are encoded."""
    from homefeed.encoders.loading import configured_encoder, configured_template

    encoder = configured_encoder(settings)
    template = configured_template(settings)
    if saved is not None and (saved / "semantic.json").exists():
        space = SemanticSpace.load(saved, encoder, store, template)
    else:
        config = IndexConfig(hnsw_above=settings.semantic.exact_below)
        space = SemanticSpace(encoder, VectorIndex(encoder.dimension, config), store, template)
    space.history_half_life = settings.semantic.history_half_life
    wanted = {item.id for item in items}
    space.remove([item for item in space.index.item_ids() if item not in wanted])
    space.sync(list(items))
    return space


class _Recent(Generic[V]):
    """The last ``size`` values by key, the least recently used dropped first; each stored
    with a stamp (an index revision) and read only at that stamp. Safe across page threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[int | None, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, stamp: int | None = None) -> V | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] != stamp:
                return None
            self._entries.move_to_end(key)
            return found[1]

    def put(self, key: str, value: V, stamp: int | None = None) -> None:
        with self._lock:
            self._entries[key] = (stamp, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
