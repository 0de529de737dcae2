"""The homepage pipeline: a frozen query, then declared stages.

    query       read by ``reader``: the user's history (weighted as the served version was
                trained), profile, what is withheld from them, the request's context
    sources     HOMEFEED_HOMEPAGE__SOURCES, in order; each proposes, may fail open and says so
    scoring     scorers order what was proposed unscored (the LambdaMART ranker's candidates)
    merge       each source's quota in declared order; an item goes to the first that took it
    filters     HOMEFEED_HOMEPAGE__FILTERS, one pass, cheapest first
    composition diversify → interleave → category cap → fill (HOMEFEED_HOMEPAGE__FILL) →
                explore → promote
    page        items, sections (each source's declared row), cursor, impression log

Component names are checked at start-up: an unknown one fails loudly with the valid names.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from homefeed.config import HomepageSettings, Settings
from homefeed.domain import Item, ShownPage
from homefeed.homepage.composition import (
    CapCategories,
    Diversify,
    Draft,
    Fill,
    HearDislikes,
    Interleave,
    Step,
)
from homefeed.homepage.cursor import Cursor, ShownItems, encode_cursor
from homefeed.homepage.experiments import Variant, Variants
from homefeed.homepage.exploration import ROW as EXPLORE_ROW
from homefeed.homepage.exploration import Explore
from homefeed.homepage.exposure import BalanceExposure
from homefeed.homepage.filters import filter_factories
from homefeed.homepage.page import Candidate, Homepage
from homefeed.homepage.promotions import ROW as PROMOTED_ROW
from homefeed.homepage.promotions import Promote, Promotions
from homefeed.homepage.query import PageQuery, PriceRange, ServedVersion, UnknownItems, tuned
from homefeed.homepage.reader import QueryReader
from homefeed.homepage.related import popular_list, similar_list
from homefeed.homepage.retrieval import Retrieval
from homefeed.homepage.sections import Row, sections, titled_rows, to_item
from homefeed.homepage.semantic import SemanticSources
from homefeed.homepage.sources import ROWS, CandidateSource, PageServices
from homefeed.live.aggregates import LIVE_TTL, LiveStats
from homefeed.live.catalog import Catalog, VocabularyMasks
from homefeed.live.clock import Clock, make_clock
from homefeed.live.impressions import PageLog
from homefeed.live.new_items import NewItemVectors
from homefeed.live.scrolls import SharedPages
from homefeed.live.shared import SharedAggregates
from homefeed.models.context import RequestContext
from homefeed.store import Store
from homefeed.training.versions import ModelBundle
from homefeed.vectors import IndexConfig

logger = logging.getLogger(__name__)
LEADING = "personal"  # the source whose order leads the page; the others are interleaved
PAGE_ROWS: dict[str, Row] = {**ROWS, "explore": EXPLORE_ROW, "promoted": PROMOTED_ROW}


@dataclass(frozen=True)
class Stages:
    """One page's declared stages: its sources (the leading one's order leads), the candidate
    stages they run through, and the composition steps in order."""

    sources: Sequence[CandidateSource]
    retrieval: Retrieval
    steps: Sequence[Step]
    rows: Mapping[str, Row]  # each source's row, under the titles the settings give


class HomepagePipeline:
    """Holds the served version and builds pages from it and the live event log."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        catalog: Catalog,
        bundle: ModelBundle | None = None,
        impressions: PageLog | None = None,
        semantic: SemanticSources | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.store, self.settings, self.catalog = store, settings, catalog
        self.clock = clock or make_clock(settings.clock, store, settings.clock_stale_days)
        self.semantic, self.impressions = semantic, impressions
        self._promotions = Promotions(store)
        unknown = UnknownItems(catalog)
        live: dict[tuple[float, ...], LiveStats] = {}
        # with Redis, every worker of this store reads one copy of each live aggregate
        aggregates = (
            SharedAggregates(settings.redis_url, settings.effective_database_url, LIVE_TTL)
            if settings.redis_url
            else None
        )

        def services(chosen: Settings) -> PageServices:
            # arms that read the logs the same way share one set of live aggregates (and queries)
            declared = chosen.homepage
            key = (
                declared.trending_half_life_hours,
                declared.trending_days,
                declared.trending_min_users,
                declared.ignore_days,
            )
            if key not in live:
                live[key] = LiveStats(store, chosen, self.clock, aggregates)
            return PageServices(chosen, catalog, live[key], semantic, unknown)

        self.variants = Variants(settings, services, filter_factories(catalog), self._declare)
        self.services = self.variants.base.services
        self._served: ServedVersion | None = None
        self._arm_versions: dict[str, ServedVersion] = {}  # versions experiment arms serve
        # parts of the service that are off or stale (a text index, a quarantined version): said
        # on every page; set by the service as they change (one assignment: atomic for readers)
        self.standing_reasons: tuple[str, ...] = ()
        self.reader = QueryReader(
            store, settings, semantic, self.clock, catalog.category_of, catalog.prerequisites
        )
        self._shown = ShownItems(
            logged=store.logs.shown_items if impressions is not None else None,
            shared=SharedPages(settings.redis_url, settings.effective_database_url)
            if settings.redis_url
            else None,
        )
        self.set_bundle(bundle)

    def _declare(self, variant: Variant) -> Stages:
        """The stages of one variant's pages, in the order they run."""
        declared, services = variant.settings.homepage, variant.services
        retrieval = Retrieval(variant.filters)
        rows = titled_rows(PAGE_ROWS, declared.row_titles)
        steps: list[Step] = [
            BalanceExposure(declared, self.catalog, services),  # on every candidate: before the cut
            Diversify(declared, self.semantic),
            HearDislikes(declared, self.catalog, self.semantic),
            Interleave(rows),
            CapCategories(declared, self.catalog),
            Fill(variant.fill, retrieval, declared, self.catalog),
            Explore(declared, services),
            Promote(self._promotions, services),
        ]
        return Stages(variant.sources, retrieval, steps, rows)

    # -- the served version ------------------------------------------------
    def set_bundle(self, bundle: ModelBundle | None) -> None:
        """Serve a newly trained version (atomic for readers: one attribute assignment)."""
        self._served = self._serve(bundle)

    def set_arm_versions(self, bundles: Sequence[ModelBundle]) -> None:
        """The versions experiment arms serve (``ExperimentArm.model_version``), loaded."""
        served = {bundle.version: self._serve(bundle) for bundle in bundles}
        self._arm_versions = {version: found for version, found in served.items() if found is not None}

    def _serve(self, bundle: ModelBundle | None) -> ServedVersion | None:
        if bundle is None or not bundle.models:
            return None
        vocabulary = next(iter(bundle.models.values()))
        config = IndexConfig(hnsw_above=self.settings.semantic.exact_below)
        indexes = {}
        personal = bundle.personal_order(self.settings.homepage.personal_models)
        for name in personal:
            model = bundle.get(name)
            index = (
                bundle.vector_index(name, config) if model is not None and model.scores_by_vectors else None
            )
            if index is not None:  # slots are the model's item indices: request masks apply as is
                indexes[name] = index
        new_vectors = None
        if self.semantic is not None:
            new_vectors = NewItemVectors.place(bundle, self.catalog, self.store, self.semantic.space)
        masks = VocabularyMasks(self.catalog, vocabulary.item_ids)
        events = bundle.events(default=self.settings.events)
        selection = bundle.manifest.get("selection", {})
        page, blend = selection.get("page", {}), int(selection.get("blend", 1))
        return ServedVersion(bundle, masks, events, indexes, new_vectors, personal, page, blend)

    @property
    def bundle(self) -> ModelBundle | None:
        return self._served.bundle if self._served is not None else None

    @property
    def new_vectors(self) -> NewItemVectors | None:
        """The served version's vectors of items it has no interactions for."""
        return self._served.new_vectors if self._served is not None else None

    @property
    def model_version(self) -> str | None:
        return self._served.version if self._served is not None else None

    def items_written(self, items: list[Item]) -> None:
        """Place items just written (already in the catalog and the text index) in the served
        version's behaviour space, when they are new to it; a failure is logged, not raised."""
        served = self._served
        vectors = served.new_vectors if served is not None else None
        if vectors is None or self.semantic is None or not items:
            return
        try:
            vectors.upsert(items, self.semantic.space.vectors([item.id for item in items]))
        except Exception:
            logger.exception("mapping %d written items failed", len(items))

    def item_removed(self, item_id: str) -> None:
        """Forget a deleted item in every version held: its place in the behaviour space, its
        rows in the models and its vectors in their indexes."""
        for served in self._held():
            if served.new_vectors is not None:
                served.new_vectors.remove({item_id})
            try:
                served.bundle.forget(items=[item_id])
                for index in served.indexes.values():
                    index.purge([item_id])
            except Exception:  # the version on disk no longer holds it: the next load is clean
                logger.exception("forgetting item %s in model version %s failed", item_id, served.version)

    def _held(self) -> list[ServedVersion]:
        """The versions this worker holds: the served one and those experiment arms serve."""
        served = [self._served] if self._served is not None else []
        return served + [found for found in self._arm_versions.values() if found is not self._served]

    # -- the page ---------------------------------------------------------
    def build(
        self,
        user_id: str,
        n: int,
        exclude: Collection[str] = (),
        category: str | None = None,
        request_id: str | None = None,
        explain: bool = False,
        context: RequestContext | None = None,
        price: PriceRange | None = None,
    ) -> Homepage:
        """The user's page; ``request_id`` (default: a new one) also seeds exploration, so
        a page can be rebuilt exactly; ``explain`` attaches scores, ranks and feature values;
        ``context`` carries the request's device and surface, and its time (default: the clock's now);
        ``price`` limits the items to a price range."""
        variant, stages = self.variants.for_user(user_id)
        page = Homepage(request_id=request_id or uuid.uuid4().hex, user_id=user_id, model_version=None)
        declared = variant.settings.homepage
        served, missing = self._version_of(variant)
        began = time.perf_counter()
        query, reasons = self.reader.read(
            page.request_id, user_id, n, served, declared, exclude, category, explain, context, price
        )
        page.seconds["read"] = time.perf_counter() - began
        page.model_version = query.version.version if query.version is not None else None
        if variant.arms:
            page.experiment, page.arm = variant.arms[0]
            page.arms = dict(variant.arms)
        for reason in (*self.standing_reasons, *missing, *reasons):
            page.degrade(reason)
        if query.version is None:
            page.degrade("no trained model yet: serving live popularity and text similarity")
        draft = self._compose(query, stages, declared, page.seconds)
        for reason in draft.degradations:
            page.degrade(reason)
        page.removed = dict(draft.removed)
        page.items = [to_item(candidate, self.catalog) for candidate in draft.items[:n]]
        page.sections = sections(page.items, stages.rows, self.catalog)
        self._shown.add(page.request_id, [item.item_id for item in page.items], user_id)
        variant.services.live.note_shown(item.item_id for item in page.items)
        page.cursor = encode_cursor(Cursor(user_id, (page.request_id,)))
        self._log(page)
        return page

    def _compose(
        self, query: PageQuery, stages: Stages, declared: HomepageSettings, seconds: dict[str, float]
    ) -> Draft:
        """The sources' candidates, then the composition steps in order (each one's time in
        ``seconds``)."""
        n = query.n
        extra = min(declared.diversity_depth, n) if tuned(query.version, declared, "diversity") > 0 else 0
        extra += 3 * n if declared.exposure_cap is not None else 0  # replacements for items held back
        quotas = [(source, n + extra if source.name == LEADING else n) for source in stages.sources]
        began = time.perf_counter()
        gathered = stages.retrieval.gather(query, quotas)
        seconds["retrieval"] = time.perf_counter() - began
        seconds.update({f"source:{name}": spent for name, spent in gathered.seconds.items()})
        extras = [c for name, found in gathered.by_source if name != LEADING for c in found]
        draft = Draft(
            leading=gathered.of(LEADING),
            extras=tuple(extras),
            proposed=frozenset(candidate.item_id for candidate in gathered.candidates),
            degradations=gathered.degradations,
            removed=gathered.removed,
        )
        for step in stages.steps:
            began = time.perf_counter()
            draft = step.apply(query, draft)
            seconds[type(step).__name__.lower()] = time.perf_counter() - began
        if gathered.cold and not extras and not _any_from("profile", gathered.candidates, draft.items):
            draft = replace(
                draft,
                degradations=(*draft.degradations, "no history for this user yet: serving popular items"),
            )
        return draft

    def next_page(
        self,
        cursor: str,
        user_id: str,
        n: int,
        exclude: Collection[str] = (),
        category: str | None = None,
        context: RequestContext | None = None,
        request_id: str | None = None,
        explain: bool = False,
        price: PriceRange | None = None,
    ) -> Homepage:
        """The page after the one ``cursor`` points at: built now, without any item already
        shown under that cursor, so scrolling never repeats an item even as events arrive."""
        position, shown = self._shown.of(cursor, user_id)
        page = self.build(
            user_id,
            n,
            set(exclude) | set(shown),
            category,
            request_id=request_id,
            explain=explain,
            context=context,
            price=price,
        )
        self._shown.add(position.session, [item.item_id for item in page.items], user_id, page.request_id)
        page.cursor = encode_cursor(position.after(page.request_id))
        return page

    def load_promotions(self) -> None:
        """Re-read promotions now (after a write through this worker's API)."""
        self._promotions.load()

    # -- the query --------------------------------------------------------
    def read_query(self, user_id: str, n: int, exclude: Collection[str] = ()) -> PageQuery:
        """What a page for ``user_id`` would know, read now (for inspection; build reads it
        the same way)."""
        variant, _stages = self.variants.for_user(user_id)
        served, _missing = self._version_of(variant)
        declared = variant.settings.homepage
        query, _reasons = self.reader.read(uuid.uuid4().hex, user_id, n, served, declared, exclude)
        return query

    def _version_of(self, variant: Variant) -> tuple[ServedVersion | None, tuple[str, ...]]:
        """The version the variant's pages are built with, and why not the one it asks for."""
        wanted = variant.model_version
        if wanted is None or (self._served is not None and self._served.version == wanted):
            return self._served, ()
        found = self._arm_versions.get(wanted)
        if found is None:
            why = f"model version {wanted} of arm {variant.arm} is not loaded: serving the current one"
            return self._served, (why,)
        return found, ()

    def forget_user(self, user_id: str, deleted: bool = False) -> None:
        """Drop what is cached about a user whose profile was just written (their profile and
        ignored items, the parsed interest texts) or deleted (their scroll sessions and their
        rows in the models held, too)."""
        self.reader.forget_user(user_id)
        if deleted:
            self._shown.forget_user(user_id)
            for served in self._held():  # their rows in the models held in memory
                try:
                    served.bundle.forget(users=[user_id])
                except Exception:  # the version on disk no longer holds them: the next load is clean
                    logger.exception("forgetting user %s in model version %s failed", user_id, served.version)
        if self.semantic is not None:  # interest texts are personal: parsed again when asked
            self.semantic.space.forget_interests()

    def holds_user(self, user_id: str) -> bool:
        """Whether any cache of this pipeline, or a model it holds, holds something about ``user_id``."""
        in_models = any(served.bundle.holds_user(user_id) for served in self._held())
        return in_models or self.reader.holds_user(user_id) or self._shown.holds(user_id)

    def _log(self, page: Homepage) -> None:
        if self.impressions is None or not page.items:
            return
        section_of = {item.item_id: section.key for section in page.sections for item in section.items}
        shown = tuple(
            (item.item_id, position, section_of.get(item.item_id, "main"), item.source)
            for position, item in enumerate(page.items)
        )
        now = time.time()
        version, experiment, arm = page.model_version, page.experiment, page.arm
        arms = tuple(page.arms.items())
        logged = ShownPage(page.request_id, page.user_id, version, now, experiment, arm, shown, arms)
        self.impressions.log(logged)

    # -- lists beside the page ------------------------------------------
    def popular(self, n: int, category: str | None = None) -> Homepage:
        return self._standing(popular_list(self._served, self.services, n, category))

    def similar(self, item_id: str, n: int, by: str = "auto") -> Homepage:
        return self._standing(similar_list(self._served, self.services, item_id, n, by))

    def _standing(self, page: Homepage) -> Homepage:
        for reason in reversed(self.standing_reasons):
            page.reasons.insert(0, reason)
            page.degraded = True
        return page


def _any_from(source: str, *candidates: Sequence[Candidate]) -> bool:
    return any(candidate.source == source for found in candidates for candidate in found)
