"""The page measured as people see it: every test user's homepage, built through the declared
page stages from the split's known rows, scored with the metrics of single models.

A scratch SQLite store receives the split's catalog, users and training rows (with their
event types); a version is trained on it as ``homefeed train`` would, and each test user's
page of ``max(ks)`` items is built at the moment of their test event. The page's items, in
the order shown, are the ranked list; the evaluation measures it like any model's top-k.
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from homefeed.config import HomepageSettings, SemanticSettings, Settings
from homefeed.domain import Event
from homefeed.evaluation.dataset import EvalDataset, Interaction
from homefeed.evaluation.evaluator import Evaluation, ModelResult
from homefeed.evaluation.protocols import Split, TestCase
from homefeed.homepage.pipeline import HomepagePipeline
from homefeed.homepage.semantic import SemanticSources
from homefeed.live.catalog import Catalog
from homefeed.models.context import RequestContext
from homefeed.models.data import Interactions
from homefeed.store import Store, migrate
from homefeed.training.selection import K, Selection
from homefeed.training.trainer import DEFAULT_MODELS, train_bundle
from homefeed.training.validation import validation_split
from homefeed.training.versions import SEMANTIC_DIR
from homefeed.understanding.semantic import open_semantic_space

PAGE = "page"  # the name the page's results go by beside the models'
CHUNK = 20_000  # events written per transaction


@dataclass(frozen=True)
class PageOptions:
    """Which version the pages are built from, and which page stages run."""

    models: Sequence[str] = DEFAULT_MODELS
    exploration: bool = True  # off: the page's exploration slots go to the leading source
    diversity: bool = True  # off: the leading picks keep the models' order
    tune_seconds: float | None = None  # choose and tune the models on the training rows first


class PageBench:
    """A scratch store holding a split's rows, a version trained on them (tuned first, or with
    given choices), the test users' later known rows read live, and their pages built under
    any homepage settings. A context manager: the scratch folder goes on exit."""

    def __init__(
        self,
        evaluation: Evaluation,
        settings: Settings,
        models: Sequence[str] = DEFAULT_MODELS,
        tune_seconds: float | None = None,
        selection: Selection | None = None,
        on_step: Callable[[str], None] | None = None,
    ) -> None:
        self.evaluation, self.settings, self.models = evaluation, settings, models
        self.tune_seconds, self.selection = tune_seconds, selection
        self.step = on_step or (lambda _message: None)
        self._scratch = tempfile.TemporaryDirectory(prefix="homefeed-page-evaluation-")
        self.fit_seconds = 0.0

    def __enter__(self) -> PageBench:
        split, settings = self.evaluation.split, self.settings
        self.page_settings = settings.model_copy(
            update={
                "data_dir": Path(self._scratch.name),
                "database_url": None,
                "models_dir": None,
                "log_impressions": False,
                "model_poll_seconds": 0,
                "gate": settings.gate.model_copy(update={"enabled": False}),
            }
        )
        self.store = store = Store.from_url(self.page_settings.effective_database_url)
        migrate(store.engine)
        self.step(f"{split.name}: page: storing the split's rows")
        _store_split(store, self.evaluation)
        started = time.perf_counter()
        self.step(f"{split.name}: page: training {', '.join(self.models)}")
        self.bundle = train_bundle(
            store,
            self.page_settings,
            self.models,
            tune_seconds=self.tune_seconds,
            selection=self.selection,
            page_tuner=(lambda chosen, models: tune_page(store, self.page_settings, chosen, models))
            if self.tune_seconds
            else None,
        )
        self.fit_seconds = time.perf_counter() - started
        _store_events(store, _known_after_training(self.evaluation))  # read live, as events sent since
        self.catalog = Catalog(items := list(store.iter_items()))
        self.semantic = None
        if self.page_settings.semantic.enabled:  # the text index saved with the version
            space = open_semantic_space(self.page_settings, store, items, self.bundle.path / SEMANTIC_DIR)
            self.semantic = SemanticSources(space, self.catalog)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.store.close()
        self._scratch.cleanup()

    def pages(
        self, homepage: HomepageSettings, semantic: SemanticSettings | None = None, blend: int | None = None
    ) -> tuple[np.ndarray, Counter[str]]:
        """Every test user's page under ``homepage`` (and ``semantic``), as catalog indices, and
        items per source; ``blend``: fuse this many personal models instead of the version's
        choice."""
        chosen = self.page_settings.model_copy(
            update={"homepage": homepage, "semantic": semantic or self.page_settings.semantic}
        )
        bundle = self.bundle if blend is None else self.bundle.with_choices(blend=blend)
        pipeline = HomepagePipeline(self.store, chosen, self.catalog, bundle, None, self.semantic)
        self.step(
            f"{self.evaluation.split.name}: page: building {len(self.evaluation.split.cases)} homepages"
        )
        return _pages(pipeline, self.evaluation)


def evaluate_page(
    evaluation: Evaluation,
    settings: Settings,
    options: PageOptions = PageOptions(),
    on_step: Callable[[str], None] | None = None,
) -> ModelResult:
    """Train on the split's rows in a scratch store, build every test user's page, measure."""
    split = evaluation.split
    homepage = settings.homepage.model_copy(
        update={
            "exploration_slots": settings.homepage.exploration_slots if options.exploration else 0,
            "diversity": settings.homepage.diversity if options.diversity else 0.0,
        }
    )
    tracemalloc.start()
    with PageBench(evaluation, settings, options.models, options.tune_seconds, None, on_step) as bench:
        started = time.perf_counter()
        ranked, sources = bench.pages(homepage)
        score_seconds = time.perf_counter() - started
        fit_seconds, bundle = bench.fit_seconds, bench.bundle
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    values, curves, groups = evaluation.measure(ranked)
    total = max(sum(sources.values()), 1)
    mix = ", ".join(f"{name} {count / total:.0%}" for name, count in sources.most_common())
    trained = ", ".join(bundle.manifest["models"])
    notes = [f"homepages of {ranked.shape[1]} built from {trained}; items by source: {mix}"]
    if not options.exploration:
        notes.append("no exploration")
    if not options.diversity:
        notes.append("no diversity")
    if options.tune_seconds is not None:
        notes.append(f"models tuned on the training rows for {options.tune_seconds / 60:g} min")
    return ModelResult(
        model=PAGE,
        params={
            "models": list(bundle.manifest["models"]),
            "personal": list(bundle.personal_order(homepage.personal_models)),
            "page": dict(bundle.manifest.get("selection", {}).get("page", {})),
        },
        n_users=len(split.cases),
        fit_seconds=fit_seconds,
        score_seconds=score_seconds,
        peak_mib=peak / 2**20,
        metrics=values,
        curves=curves,
        groups=groups,
        popularity_deciles=evaluation.popularity_deciles(ranked, max(evaluation.ks)),
        notes=notes,
    )


def _store_split(store: Store, evaluation: Evaluation) -> None:
    """The split's catalog, the data set's users and the split's training rows."""
    dataset = evaluation.dataset
    store.upsert_items([dataset.items[item_id] for item_id in evaluation.catalog])
    store.upsert_users(list(dataset.users.values()))
    _store_events(store, evaluation.split.fit_rows)


def _known_after_training(evaluation: Evaluation) -> list[Interaction]:
    """The test users' known rows the version was not trained on (loo's validation item, a cold
    user's first items): the page reads them from the log, as the service reads fresh events."""
    trained = {(row.user_id, row.item_id) for row in evaluation.split.fit_rows}
    rows = {(row.user_id, row.item_id): row for row in evaluation.dataset.interactions}
    known = [
        rows[pair]
        for case in evaluation.split.cases
        for item_id in case.history
        if (pair := (case.user_id, item_id)) not in trained and pair in rows
    ]
    return sorted(known, key=lambda row: row.timestamp)


def _store_events(store: Store, rows: Sequence[Interaction]) -> None:
    for start in range(0, len(rows), CHUNK):
        store.add_events(
            [
                Event(
                    user_id=row.user_id,
                    item_id=row.item_id,
                    type=row.type,
                    value=row.value,
                    timestamp=row.timestamp,
                )
                for row in rows[start : start + CHUNK]
            ]
        )


def _pages(pipeline: HomepagePipeline, evaluation: Evaluation) -> tuple[np.ndarray, Counter[str]]:
    """Each test case's page as catalog indices in the order shown (-1 past a short page), and
    how many of the items each source gave. A protocol that ranks among candidates only (cold
    items) withholds the other items."""
    split, k = evaluation.split, max(evaluation.ks)
    withheld: list[str] = []
    if split.candidates is not None:
        withheld = [item for item in evaluation.catalog if item not in split.candidates]
    ranked = np.full((len(split.cases), k), -1, dtype=np.int64)
    sources: Counter[str] = Counter()
    for row, case in enumerate(split.cases):
        page = pipeline.build(
            case.user_id,
            k,
            exclude=withheld,
            request_id=f"evaluation-{row}",
            context=RequestContext(time=case.time),
        )
        shown = [evaluation.index[item.item_id] for item in page.items if item.item_id in evaluation.index]
        ranked[row, : len(shown)] = shown[:k]
        sources.update(item.source for item in page.items)
    return ranked, sources


def validation_pages_split(store: Store, settings: Settings, max_users: int) -> tuple[EvalDataset, Split]:
    """The operator's events split as model tuning splits them (:func:`validation_split`: each
    user's latest liked items held out, or drawn at random in a log without order), as a data set
    and split the page bench reads: liked rows, each (user, item) pair once."""
    events = settings.events
    logged = list(store.logs.iter_event_rows())  # one read of the log for both
    data = Interactions.from_rows(logged, events, store.item_ids())
    validation = validation_split(data, max_users)
    held = {(case.user_id, item) for case in validation.cases for item in case.relevant}
    rows: list[Interaction] = []
    seen: set[tuple[str, str]] = set()
    for user_id, item_id, kind, timestamp, _device, _surface, value in logged:
        weight = events.strength(kind, value)
        if weight > 0 and (user_id, item_id) not in seen:
            seen.add((user_id, item_id))
            rows.append(Interaction(user_id, item_id, timestamp, weight, kind, value))
    rows.sort(key=lambda row: row.timestamp)
    fit = [row for row in rows if (row.user_id, row.item_id) not in held]
    when = {(row.user_id, row.item_id): row.timestamp for row in fit}
    cases = [
        TestCase(
            case.user_id,
            case.history,
            case.relevant,
            max(when.get((case.user_id, i), 0.0) for i in case.history),
        )
        for case in validation.cases
        if case.history
    ]
    items = {item.id: item for item in store.iter_items()}
    users = {user.id: user for user in store.iter_users()}
    dataset = EvalDataset("validation", Path("."), items, users, rows)
    return dataset, Split("validation", fit, list(items), cases, notes=[validation.how])


# the page's stages that give up ranking accuracy for something else, each with the source it
# needs declared (None: any page): (settings section, setting, source)
TRADES = (
    ("homepage", "trending_share", "trending"),
    ("semantic", "interests_share", "interests"),
    ("semantic", "history_share", "semantic-history"),
    ("homepage", "new_items_share", "new-items"),
    ("homepage", "diversity", None),
    ("homepage", "short_history", "personal"),  # a few likes: the profile model's picks
)


SWEEPS = 2  # passes over the trades still on


def tune_page(
    store: Store,
    settings: Settings,
    selection: Selection,
    models: Sequence[str] = DEFAULT_MODELS,
    on_step: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """The page's trades chosen on validation pages built from a version of ``models`` made
    with ``selection`` (as the version to serve will be): in turn, each stage that gives up
    ranking accuracy for something else (a trending share, the text sources' shares,
    diversity) is switched off when pages without it rank the held-out items better, in up to
    ``SWEEPS`` passes over those still on; a setting the operator named is left as set. A fused
    personal row gives way to its first model where that model's pages rank better.
    Returns the settings switched off (served with the version) and records every variant's
    figure in ``selection.page_validation``."""
    trades = [
        (section, key)
        for section, key, source in TRADES
        if float(getattr(getattr(settings, section), key)) > 0
        and key not in getattr(settings, section).model_fields_set
        and (source is None or source in settings.homepage.sources)
    ]
    if not trades and selection.blend <= 1:
        return {}
    if settings.event_values == "auto":  # the pages read events as the tuned models do
        settings = settings.model_copy(update={"event_values": selection.event_values})
    dataset, split = validation_pages_split(store, settings, settings.gate.max_users)
    evaluation = Evaluation(dataset, split, [K])
    chosen: dict[str, float] = {}

    def ndcg(bench: PageBench, off: Mapping[str, float], blend: int | None = None) -> float:
        # exploration is no trade of these: its random draws would only blur the comparisons
        homepage = settings.homepage.model_copy(
            update={"exploration_slots": 0, **_typed(settings.homepage, off)}
        )
        semantic = settings.semantic.model_copy(update=_typed(settings.semantic, off))
        ranked, _ = bench.pages(homepage, semantic, blend)
        return round(float(evaluation.measure(ranked)[0][f"ndcg@{K}"]), 5)

    with PageBench(evaluation, settings, models, selection=selection, on_step=on_step) as bench:
        best = ndcg(bench, {})
        selection.page_validation = {"as configured": best}
        for sweep in range(SWEEPS):  # a trade a bigger one hid is seen once that one is off
            changed = False
            for _section, key in [trade for trade in trades if trade[1] not in chosen]:
                trial = ndcg(bench, {**chosen, key: 0.0})
                selection.page_validation[f"{key}=0" + (f" (sweep {sweep + 1})" if sweep else "")] = trial
                if trial > best:
                    chosen[key], best, changed = 0.0, trial, True
            if not changed:
                break
        if selection.blend > 1:  # the fusion, chosen on half the users, checked on all of them
            alone = selection.page_validation[f"{selection.personal[0]} alone"] = ndcg(bench, chosen, 1)
            if alone > best:
                selection.blend = 1
    return chosen


def _typed(declared: BaseModel, values: Mapping[str, float]) -> dict[str, object]:
    """The ``values`` that are fields of ``declared``, each as its field's type (a count stays
    an int)."""
    fields = type(declared).model_fields
    return {key: type(getattr(declared, key))(value) for key, value in values.items() if key in fields}
