"""Everything a running service holds: store, catalog cache, loaded model, impression log."""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import anyio
import faiss
import torch
from threadpoolctl import threadpool_limits

from homefeed.config import Settings
from homefeed.datasets.importer import finish_interrupted_imports
from homefeed.domain import Item, UserData
from homefeed.homepage import HomepagePipeline
from homefeed.homepage.semantic import SemanticSources
from homefeed.live.catalog import Catalog
from homefeed.live.catalog_sync import CatalogSync
from homefeed.live.impressions import ImpressionLogger
from homefeed.live.user_sync import UserSync
from homefeed.service.experiment_sync import ExperimentSync
from homefeed.store import Store, migrate
from homefeed.training.forgetting import delete_and_forget, held_in_versions
from homefeed.training.integrity import quarantine_reason
from homefeed.training.schedule import is_due
from homefeed.training.versions import (
    SEMANTIC_DIR,
    Loaded,
    ModelBundle,
    load_newest,
    served_version_path,
    version_folders,
)
from homefeed.understanding.semantic import SemanticSpace, open_semantic_space

logger = logging.getLogger(__name__)
T = TypeVar("T")
FULL_LOOK_EVERY = 30  # catalog looks: every 30th compares every item (a minute at the default 2 s)


@dataclass(frozen=True)
class ModelReload:
    """What a reload did: the version served after it, the newer versions it quarantined (each
    with its reason), and the error that stopped it, if any."""

    model_version: str | None
    quarantined: tuple[tuple[str, str], ...] = ()
    failed: str | None = None


@dataclass
class Runtime:
    settings: Settings
    store: Store
    catalog: Catalog
    homepages: HomepagePipeline
    impressions: ImpressionLogger
    semantic: SemanticSpace | None = None
    catalog_sync: CatalogSync | None = None
    experiments: ExperimentSync | None = None
    user_sync: UserSync | None = None
    degradations: dict[str, str] = field(default_factory=dict)  # part -> why it is off or stale
    _page_slots: anyio.CapacityLimiter | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _reload_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        """Open the store (migrating it), warm the catalog and load the newest model if any."""
        # one request = one small search; FAISS's OpenMP threads would only spin against the
        # other requests' threads (and busy-wait between searches), so searches run single-threaded
        faiss.omp_set_num_threads(1)
        # the same for PyTorch: its intra-op pool spun against LightGBM's and the other requests'
        # threads and made the slowest pages an order of magnitude slower
        torch.set_num_threads(1)
        # and for BLAS (ALS fold-in, numpy) and every OpenMP runtime loaded (LightGBM's among
        # them): with two worker processes their spinning threads cut throughput to a third
        threadpool_limits(1)
        store = Store.from_url(settings.effective_database_url)
        migrate(store.engine)
        _finish_imports(store)
        loaded_at = time.time()
        written = sorted(store.items_changed_since(float("-inf")), key=lambda pair: pair[0].id)
        items = [item for item, _ in written]  # one read: the items and their write times agree
        versions = {item.id: at for item, at in written}
        catalog = Catalog(items)
        impressions = ImpressionLogger(store)
        loaded = _first_load(settings)
        saved = loaded.bundle.path / SEMANTIC_DIR if loaded.bundle is not None else None
        semantic, text_off = _start_semantic(settings, store, items, saved)
        builder = HomepagePipeline(
            store,
            settings,
            catalog,
            None,
            impressions if settings.log_impressions else None,
            SemanticSources(semantic, catalog) if semantic is not None else None,
        )
        builder.services.live.warm()  # its first page need not wait for the logs' aggregates
        runtime = cls(settings, store, catalog, builder, impressions, semantic)
        runtime.catalog_sync = CatalogSync(
            store, runtime.items_written, runtime.item_deleted, loaded_at, versions
        )
        runtime.user_sync = UserSync(store, builder.forget_user)
        if text_off is not None:
            runtime._degrade("text", text_off)
        runtime._apply(loaded)
        runtime.experiments = ExperimentSync(store, settings, builder, runtime._prepare)
        runtime.experiments.declare()
        runtime.experiments.sync()
        runtime._start_polling()
        runtime._start_catalog_sync()
        runtime._start_retraining()
        return runtime

    @staticmethod
    def _freeze_heap() -> None:
        """Move what is loaded now (catalog, models: hundreds of thousands of objects) out of the
        collector's reach: a full collection over them stalled a worker for hundreds of
        milliseconds every few thousand pages; objects freed later are still freed by
        reference counting."""
        gc.collect()
        gc.freeze()

    def _start_polling(self) -> None:
        """Pick up versions trained by another process (every worker does this on its own)."""
        if self.settings.model_poll_seconds <= 0:
            return

        def poll() -> None:
            while not self._stop.wait(self.settings.model_poll_seconds):
                if self.experiments is not None:
                    self.experiments.sync()
                try:  # nothing a version folder holds may stop the polling
                    latest = served_version_path(self.settings.effective_models_dir)
                    if latest is not None and latest.name != self.homepages.model_version:
                        self.reload_model()
                except Exception:
                    logger.exception("looking for a newer model version failed; looking again later")

        threading.Thread(target=poll, name="model-poller", daemon=True).start()

    def _start_retraining(self) -> None:
        """On the schedule, start ``homefeed train --scheduled`` in a process of its own (the
        page keeps its cores and memory); the run takes the store's training lock, so of the
        workers that find it due at once one trains and the others' runs skip."""
        if not self.settings.retraining.scheduled:
            return

        def schedule() -> None:
            while not self._stop.wait(self.settings.retraining.check_seconds):
                try:
                    if is_due(self.store, self.settings):
                        self._train_in_a_process()
                        self.reload_model()
                except Exception:
                    logger.exception("the scheduled training run failed; trying again when due")

        threading.Thread(target=schedule, name="retraining", daemon=True).start()

    def _train_in_a_process(self) -> None:
        plan = self.settings.retraining
        env = {
            **os.environ,
            "HOMEFEED_DATA_DIR": str(self.settings.data_dir.resolve()),
            "HOMEFEED_DATABASE_URL": self.settings.effective_database_url,
            "HOMEFEED_RETRAINING__EVERY_HOURS": str(plan.every_hours),
        }
        if plan.cron is not None:
            env["HOMEFEED_RETRAINING__CRON"] = plan.cron
        command = [sys.executable, "-m", "homefeed.cli", "train", "--scheduled"]
        command += ["--models", ",".join(plan.models), "--keep", str(plan.keep)]
        logger.info("a training run is due: %s", " ".join(command[2:]))
        finished = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if finished.returncode != 0:
            logger.error("the scheduled training run failed:\n%s", finished.stderr[-4000:])

    def _start_catalog_sync(self) -> None:
        """Apply items written or deleted by other processes (every worker on its own)."""
        if self.settings.catalog_poll_seconds <= 0:
            return

        def poll() -> None:
            looks = 0
            while not self._stop.wait(self.settings.catalog_poll_seconds):
                looks += 1
                self.sync_catalog(full=looks % FULL_LOOK_EVERY == 0)

        threading.Thread(target=poll, name="catalog-sync", daemon=True).start()

    def sync_catalog(self, full: bool = False) -> tuple[int, int]:
        """Apply the catalog's changes made elsewhere now: (items written, items deleted);
        ``full`` compares every item's write time instead of reading the latest changes. Users
        written or deleted elsewhere leave this worker's caches at the same look."""
        if self.catalog_sync is None:
            return 0, 0
        try:
            if self.user_sync is not None:
                self.user_sync.poll()
                if full:
                    self.user_sync.prune()
            return self.catalog_sync.reconcile() if full else self.catalog_sync.poll()
        except Exception:  # the database may be away for a moment: the next look catches up
            logger.exception("reading the catalog's changes failed")
            return 0, 0

    def reload_model(self) -> ModelReload:
        """Serve the newest version that loads, newer than the one served; newer versions that
        fail to load are quarantined with their reason. Never raises: a failure keeps the
        version served and is reported (and shown in ``degradations``)."""
        with self._reload_lock:
            serving = self.homepages.model_version
            try:
                loaded = load_newest(self.settings.effective_models_dir, serving)
            except Exception as error:
                logger.exception("reading the model versions failed")
                return ModelReload(serving, failed=f"reading the model versions failed: {error}")
            return self._apply(loaded)

    def _apply(self, loaded: Loaded) -> ModelReload:
        """Serve ``loaded``'s bundle (when there is one) and record what was quarantined. The
        reasons are set before the version is swapped in, so a reader that sees the new version
        sees its reasons too."""
        for _version, reason in loaded.quarantined:
            logger.error("quarantined %s", reason)
        failed = None
        if loaded.bundle is not None:
            self._report_model(loaded.bundle.version, None)
            try:
                self._serve(loaded.bundle)
            except Exception as error:  # the version loaded but the page cannot use it
                logger.exception("serving model version %s failed", loaded.bundle.version)
                failed = f"model version {loaded.bundle.version} could not be served: {error}"
        served = self.homepages.model_version
        self._report_model(served, failed)
        return ModelReload(served, loaded.quarantined, failed)

    def _report_model(self, served: str | None, failed: str | None) -> None:
        """Versions quarantined after the one ``served`` (and a failure to serve), or none."""
        stale = [f"quarantined {reason}" for reason in _quarantined_after(self.settings, served)]
        if failed is not None:
            stale.append(failed)
        if stale:
            fallback = f"serving {served}" if served is not None else "serving live popularity"
            self._degrade("model", f"{'; '.join(stale)}; {fallback}")
        else:
            self._degrade("model", None)

    def _prepare(self, bundle: ModelBundle) -> None:
        for model in bundle.models.values():  # the service's setting, not training's
            model.set_inference(self.settings.sequential.inference)

    def _serve(self, bundle: ModelBundle) -> None:
        self._prepare(bundle)
        self.homepages.set_bundle(bundle)
        self._freeze_heap()
        logger.info("serving model version %s", bundle.version)

    def _degrade(self, part: str, reason: str | None) -> None:
        """Record that ``part`` is off (``reason``) or back (None); every page and /readyz say so."""
        if reason is None:
            if (resolved := self.degradations.pop(part, None)) is not None:
                logger.info("no longer degraded (%s): was %s", part, resolved)
        elif self.degradations.get(part) != reason:
            self.degradations[part] = reason
            logger.warning("degraded: %s", reason)
        self.homepages.standing_reasons = tuple(self.degradations.values())

    async def off_loop(self, work: Callable[[], T]) -> T:
        """Run a page's work in a thread beside the event loop, at most ``page_threads`` at once
        (more threads only contend for the interpreter lock and make every page slower)."""
        if self._page_slots is None:  # made on the event loop, where anyio can see its backend
            self._page_slots = anyio.CapacityLimiter(self.settings.page_threads)
        return await anyio.to_thread.run_sync(work, limiter=self._page_slots)

    def refresh_items(self, item_ids: list[str]) -> None:
        """Pull items written by another process into the catalog cache."""
        found = self.store.get_items(item_ids)
        if found:
            self.items_written(found)

    def items_written(self, items: list[Item]) -> None:
        """Make stored items servable at once: in the catalog cache, by their text in the
        semantic index and, when the model has no interactions for them, in its behaviour
        space (an encoder failure leaves them to the next start, it fails no write)."""
        self.catalog.upsert(items)
        if self.semantic is not None:
            try:
                self.semantic.sync(items)
            except Exception:
                logger.exception("indexing the text of %d items failed", len(items))
                return
        self.homepages.items_written(items)

    def delete_user(self, user_id: str) -> bool:
        """Delete a user from the store, from every model version on disk and from this worker's
        caches and models (other workers at their next look at the store's change notes);
        False when there is no such user."""
        models_dir = self.settings.effective_models_dir
        if not delete_and_forget(models_dir, lambda: self.store.delete_user(user_id), users=[user_id]):
            return False
        self.homepages.forget_user(user_id, deleted=True)
        return True

    def delete_item(self, item_id: str) -> bool:
        """Delete an item from the catalog, from every model version on disk and from this
        worker's catalog, indexes and models (other workers at their next catalog look)."""
        models_dir = self.settings.effective_models_dir
        if not delete_and_forget(models_dir, lambda: self.store.delete_item(item_id), items=[item_id]):
            return False
        self.item_deleted(item_id)
        return True

    def export_user(self, user_id: str) -> UserData | None:
        """Everything held about a user: what the store holds and what every kept model version
        learned of them."""
        data = self.store.user_data(user_id)
        if data is not None:
            data.models = held_in_versions(self.settings.effective_models_dir, user_id)
        return data

    def item_deleted(self, item_id: str) -> None:
        self.catalog.remove(item_id)
        if self.semantic is not None:
            self.semantic.remove([item_id])
        self.homepages.item_removed(item_id)

    def close(self) -> None:
        self._stop.set()
        self.impressions.close()
        self.store.close()
        gc.unfreeze()  # what this runtime held may now be cyclic garbage: let the collector see it


def _finish_imports(store: Store) -> None:
    """Finish the merge of an import stopped midway, so no half-merged import stays half."""
    try:
        if finished := finish_interrupted_imports(store):
            logger.info("finished %d import(s) stopped midway", finished)
    except Exception:
        logger.exception("finishing an import stopped midway failed; `homefeed import` retries it")


def _quarantined_after(settings: Settings, served: str | None) -> list[str]:
    """The reasons of quarantined versions newer than ``served`` (all of them when None)."""
    return [
        reason
        for path in version_folders(settings.effective_models_dir)
        if (served is None or path.name > served) and (reason := quarantine_reason(path)) is not None
    ]


def _first_load(settings: Settings) -> Loaded:
    """The newest version that loads at start-up (none when the folder cannot be read)."""
    try:
        return load_newest(settings.effective_models_dir)
    except Exception:
        logger.exception("reading the model versions failed: starting on live popularity")
        return Loaded(None)


def _start_semantic(
    settings: Settings, store: Store, items: list[Item], saved: Path | None
) -> tuple[SemanticSpace | None, str | None]:
    """The catalog's text index (the one ``saved`` in the served version when it loads, else
    built from the store's embeddings), or None with the reason: the service then runs on
    behaviour alone."""
    if not settings.semantic.enabled:
        return None, None
    try:
        return open_semantic_space(settings, store, items, saved), None
    except Exception as error:
        if saved is not None:
            logger.exception("the saved text index could not be read: building it from the store")
            return _start_semantic(settings, store, items, None)
        logger.exception("the text encoder could not start: serving without text similarity")
        return None, f"text similarity is off: the text encoder could not start ({type(error).__name__})"
