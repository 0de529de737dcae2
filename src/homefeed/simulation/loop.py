"""The closed loop, simulated: behaviour → model → homepage → feedback → model.

A synthetic set with hidden tastes is generated and imported as the site's history, and a first
version is trained. Then, day after simulated day, people visit, each is shown the page homefeed
builds for them (the real pipeline: their arm of an experiment, the served version, the live
log), clicks by their hidden taste and the position (``world``), and their events are stored at
once, so their next page and the next retraining see them. A version is retrained on the
schedule. Each day reports, per arm, pages, click-through rate and catalog coverage.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from homefeed.config import ExperimentSettings, Settings
from homefeed.datasets.folders import folder_records
from homefeed.datasets.importer import Importer
from homefeed.datasets.synth import SynthConfig, generate
from homefeed.domain import Event, Item, ShownPage
from homefeed.evaluation.metrics import gini
from homefeed.homepage import HomepagePipeline
from homefeed.homepage.semantic import SemanticSources
from homefeed.live.catalog import Catalog
from homefeed.live.clock import FixedClock
from homefeed.models.context import RequestContext
from homefeed.simulation.world import DAY, World
from homefeed.store import Store, migrate
from homefeed.training.trainer import train_bundle
from homefeed.training.versions import prune_versions
from homefeed.understanding.semantic import open_semantic_space

logger = logging.getLogger(__name__)

KEEP_VERSIONS = 3
POPULAR_ONLY = {"sources": ["popular"], "fill": ["popular"], "exploration_slots": 0}


@dataclass(frozen=True)
class SimulationConfig:
    days: int = 30
    warmup_days: int = 14  # of generated history before the first simulated day
    users: int = 300
    items: int = 240
    topics: int = 6
    seed: int = 0
    visits_per_day: float = 0.5  # per person of average activity
    page_size: int = 20
    retrain_days: int = 1  # train a new version every this many simulated days
    new_items: bool = True  # items keep being published while it runs (False: a fixed catalog)
    models: tuple[str, ...] = ("popularity", "profile", "covisitation", "als")
    # arm -> ExperimentArm fields (weight, homepage overrides): users are split among them
    arms: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {"learning": {}, "popular": {"homepage": POPULAR_ONLY}}
    )


@dataclass(frozen=True)
class DayResult:
    day: int
    arm: str
    pages: int
    impressions: int
    clicks: int
    items_shown: int  # distinct items this arm's pages showed that day
    catalog: int
    version: str | None
    gini: float  # of this arm's impressions that day over the catalog (0: even, 1: one item)

    @property
    def ctr(self) -> float:
        return self.clicks / self.impressions if self.impressions else 0.0

    @property
    def coverage(self) -> float:
        return self.items_shown / self.catalog if self.catalog else 0.0


class _SimulatedPageLog:
    """Logs pages at the simulated time they were built (the service stamps the wall clock)."""

    def __init__(self, store: Store, clock: FixedClock) -> None:
        self.store, self.clock = store, clock
        self.pages: list[ShownPage] = []

    def log(self, page: ShownPage) -> None:
        self.pages.append(dataclasses.replace(page, timestamp=self.clock.now()))

    def flush(self) -> None:
        self.store.logs.log_pages(self.pages)
        self.pages = []


def simulate(
    config: SimulationConfig,
    folder: Path,
    settings: Settings,
    on_day: Callable[[Sequence[DayResult]], None] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> list[DayResult]:
    """Run the loop in ``folder`` (a data set, a store and model versions of its own) with
    ``settings``' page and training; returns each day's results per arm."""
    step = on_step or (lambda _message: None)
    step("generating the synthetic history")
    synth = folder / "synth"
    days = config.warmup_days + (config.days if config.new_items else 0)
    generate(SynthConfig(config.users, config.items, days, config.topics, config.seed), synth)
    opening = float(json.loads((synth / "ground_truth.json").read_text(encoding="utf-8"))["start"])
    opening += config.warmup_days * DAY
    history, later = _history(synth, folder / "history", opening)
    arms = ExperimentSettings.model_validate({"name": "simulation", "arms": config.arms})
    database = f"sqlite:///{folder / 'simulation.db'}"
    settings = settings.model_copy(
        update={"data_dir": folder / "data", "database_url": database, "experiment": arms}
    )
    store = Store.from_url(settings.effective_database_url)
    migrate(store.engine)
    records = folder_records(history)
    step("importing it")
    Importer(store, settings.event_weights).run(records.items, records.users, records.events)
    items = list(store.iter_items())
    world = World.of(synth, {item.id: item.published_at or 0.0 for item in [*items, *later]})
    clock = FixedClock(opening)
    catalog = Catalog(items)
    step("training the first version")
    bundle = train_bundle(store, settings, list(config.models))
    semantic = None
    if settings.semantic.enabled:
        step("indexing item text")
        semantic = SemanticSources(open_semantic_space(settings, store, items), catalog)
    page_log = _SimulatedPageLog(store, clock)
    pipeline = HomepagePipeline(store, settings, catalog, bundle, page_log, semantic, clock)
    rng = np.random.default_rng(config.seed + 1)
    users = sorted(world.preferences)
    clicked: dict[str, set[str]] = {user: set() for user in users}
    results: list[DayResult] = []
    for day in range(config.days):
        step(f"simulating day {day + 1} of {config.days}")
        begin = opening + day * DAY
        published = [item for item in later if (item.published_at or 0.0) < begin + DAY]
        later = later[len(published) :]
        if published:  # written as the API's PUT /v1/items does: servable at once
            store.upsert_items(published)
            catalog.upsert(published)
            if semantic is not None:
                semantic.space.sync(published)
            pipeline.items_written(published)
        visits = sorted(
            (begin + rng.random() * DAY, user)
            for user in users
            for _ in range(rng.poisson(config.visits_per_day * world.activity.get(user, 1.0)))
        )
        tally: dict[str, list[Any]] = {arm: [0, 0, 0, Counter()] for arm in arms.arms}
        for number, (at, user) in enumerate(visits):
            clock.at = at
            page = pipeline.build(
                user, config.page_size, request_id=f"sim-{day}-{number}", context=RequestContext(time=at)
            )
            shown = [item.item_id for item in page.items]
            positions = world.clicks(user, shown, at, clicked[user], rng)
            events = []
            for position in positions:
                item = shown[position]
                clicked[user].add(item)
                events.append(Event(user_id=user, item_id=item, type="click", timestamp=at + 5 + position))
                if (more := world.follow_up(user, item, rng)) is not None:
                    events.append(Event(user_id=user, item_id=item, type=more, timestamp=at + 60 + position))
            if events:
                store.add_events(events)
            counts = tally[page.arm or "learning"]
            counts[0] += 1
            counts[1] += len(shown)
            counts[2] += len(positions)
            counts[3].update(shown)
        page_log.flush()
        version = pipeline.model_version
        size = len(catalog)
        today = [
            DayResult(day + 1, arm, pages, shown, clicks, len(seen), size, version, _gini(seen, size))
            for arm, (pages, shown, clicks, seen) in tally.items()
        ]
        results.extend(today)
        if on_day is not None:
            on_day(today)
        if (day + 1) % config.retrain_days == 0 and day + 1 < config.days:
            step(f"retraining after day {day + 1}")
            clock.at = begin + DAY
            pipeline.set_bundle(train_bundle(store, settings, list(config.models)))
            prune_versions(settings.effective_models_dir, KEEP_VERSIONS)
    store.close()
    return results


def _history(synth: Path, history: Path, opening: float) -> tuple[Path, list[Item]]:
    """The generated set before ``opening`` as a folder to import (items published and events
    that happened by then, every user), and the items published later, oldest first."""
    history.mkdir(parents=True, exist_ok=True)
    shutil.copy(synth / "users.jsonl", history / "users.jsonl")
    later: list[Item] = []
    with (synth / "items.jsonl").open(encoding="utf-8") as rows, (history / "items.jsonl").open("w") as kept:
        for line in rows:
            item = json.loads(line)
            if item["published_at"] < opening:
                kept.write(line)
            else:
                later.append(Item.model_validate(item))
    with (synth / "events.jsonl").open(encoding="utf-8") as rows, (history / "events.jsonl").open("w") as out:
        out.writelines(line for line in rows if json.loads(line)["timestamp"] < opening)
    return history, sorted(later, key=lambda item: item.published_at or 0.0)


def summary(results: Sequence[DayResult], last_days: int = 7) -> dict[str, dict[str, float]]:
    """Per arm over the last ``last_days`` days: CTR (clicks over impressions) and mean daily
    coverage; and over the first as many days, for the trend."""
    days = max(result.day for result in results)
    found: dict[str, dict[str, float]] = {}
    for arm in sorted({result.arm for result in results}):
        mine = [result for result in results if result.arm == arm]
        last = [result for result in mine if result.day > days - last_days]
        first = [result for result in mine if result.day <= last_days]
        found[arm] = {
            "ctr_last": _ctr(last),
            "ctr_first": _ctr(first),
            "coverage_last": float(np.mean([result.coverage for result in last])),
            "coverage_first": float(np.mean([result.coverage for result in first])),
            "gini_last": float(np.mean([result.gini for result in last])),
            "gini_first": float(np.mean([result.gini for result in first])),
        }
    return found


def _gini(shown: Counter[str], catalog: int) -> float:
    counts = np.zeros(max(catalog, len(shown)))
    counts[: len(shown)] = list(shown.values())
    return gini(counts)


def _ctr(results: Sequence[DayResult]) -> float:
    shown = sum(result.impressions for result in results)
    return sum(result.clicks for result in results) / shown if shown else 0.0
