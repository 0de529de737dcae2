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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from homefeed.config import Settings
from homefeed.domain import Event
from homefeed.evaluation.dataset import Interaction
from homefeed.evaluation.evaluator import Evaluation, ModelResult
from homefeed.homepage.pipeline import HomepagePipeline
from homefeed.homepage.semantic import SemanticSources
from homefeed.live.catalog import Catalog
from homefeed.models.context import RequestContext
from homefeed.store import Store, migrate
from homefeed.training.trainer import DEFAULT_MODELS, train_bundle
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


def evaluate_page(
    evaluation: Evaluation,
    settings: Settings,
    options: PageOptions = PageOptions(),
    on_step: Callable[[str], None] | None = None,
) -> ModelResult:
    """Train on the split's rows in a scratch store, build every test user's page, measure."""
    step = on_step or (lambda _message: None)
    split = evaluation.split
    homepage = settings.homepage.model_copy(
        update={
            "exploration_slots": settings.homepage.exploration_slots if options.exploration else 0,
            "diversity": settings.homepage.diversity if options.diversity else 0.0,
        }
    )
    tracemalloc.start()
    with tempfile.TemporaryDirectory(prefix="homefeed-page-evaluation-") as scratch:
        page_settings = settings.model_copy(
            update={
                "data_dir": Path(scratch),
                "database_url": None,
                "models_dir": None,
                "log_impressions": False,
                "model_poll_seconds": 0,
                "gate": settings.gate.model_copy(update={"enabled": False}),
                "homepage": homepage,
            }
        )
        store = Store.from_url(page_settings.effective_database_url)
        try:
            migrate(store.engine)
            step(f"{split.name}: page: storing the split's rows")
            _store_split(store, evaluation)
            started = time.perf_counter()
            step(f"{split.name}: page: training {', '.join(options.models)}")
            bundle = train_bundle(store, page_settings, options.models, tune_seconds=options.tune_seconds)
            fit_seconds = time.perf_counter() - started
            _store_events(store, _known_after_training(evaluation))  # read live, as events sent since
            catalog = Catalog(items := list(store.iter_items()))
            semantic = None
            if page_settings.semantic.enabled:  # the text index saved with the version
                space = open_semantic_space(page_settings, store, items, bundle.path / SEMANTIC_DIR)
                semantic = SemanticSources(space, catalog)
            pipeline = HomepagePipeline(store, page_settings, catalog, bundle, None, semantic)
            step(f"{split.name}: page: building {len(split.cases)} homepages")
            started = time.perf_counter()
            ranked, sources = _pages(pipeline, evaluation)
            score_seconds = time.perf_counter() - started
        finally:
            store.close()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    values, curves, groups = evaluation.measure(ranked)
    total = max(sum(sources.values()), 1)
    mix = ", ".join(f"{name} {count / total:.0%}" for name, count in sources.most_common())
    notes = [f"homepages of {ranked.shape[1]} built from {', '.join(options.models)}; items by source: {mix}"]
    if not options.exploration:
        notes.append("no exploration")
    if not options.diversity:
        notes.append("no diversity")
    if options.tune_seconds is not None:
        notes.append(f"models tuned on the training rows for {options.tune_seconds / 60:g} min")
    return ModelResult(
        model=PAGE,
        params={
            "models": list(options.models),
            "personal": list(bundle.personal_order(homepage.personal_models)),
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
                Event(user_id=row.user_id, item_id=row.item_id, type=row.type, timestamp=row.timestamp)
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
