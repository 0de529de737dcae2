"""Everything a running service holds: store, catalog cache, loaded model, impression log."""

from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass, field

import faiss
import torch
from threadpoolctl import threadpool_limits

from homefeed.config import Settings
from homefeed.domain import Item
from homefeed.errors import ModelNotTrainedError
from homefeed.homepage import HomepagePipeline
from homefeed.homepage.semantic import SemanticSources
from homefeed.live.catalog import Catalog
from homefeed.live.catalog_sync import CatalogSync
from homefeed.live.impressions import ImpressionLogger
from homefeed.store import Store, migrate
from homefeed.training.versions import SEMANTIC_DIR, latest_version_path, load_latest
from homefeed.understanding.semantic import SemanticSpace, open_semantic_space

logger = logging.getLogger(__name__)
FULL_LOOK_EVERY = 30  # catalog looks: every 30th compares every item (a minute at the default 2 s)


@dataclass
class Runtime:
    settings: Settings
    store: Store
    catalog: Catalog
    homepages: HomepagePipeline
    impressions: ImpressionLogger
    semantic: SemanticSpace | None = None
    catalog_sync: CatalogSync | None = None
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
        loaded_at = time.time()
        written = sorted(store.items_changed_since(float("-inf")), key=lambda pair: pair[0].id)
        items = [item for item, _ in written]  # one read: the items and their write times agree
        versions = {item.id: at for item, at in written}
        catalog = Catalog(items)
        impressions = ImpressionLogger(store)
        semantic = _start_semantic(settings, store, items)
        builder = HomepagePipeline(
            store,
            settings,
            catalog,
            None,
            impressions if settings.log_impressions else None,
            SemanticSources(semantic, catalog) if semantic is not None else None,
        )
        runtime = cls(settings, store, catalog, builder, impressions, semantic)
        runtime.catalog_sync = CatalogSync(
            store, runtime.items_written, runtime.item_deleted, loaded_at, versions
        )
        runtime.reload_model()
        runtime._start_polling()
        runtime._start_catalog_sync()
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
                latest = latest_version_path(self.settings.effective_models_dir)
                if latest is not None and latest.name != self.homepages.model_version:
                    self.reload_model()

        threading.Thread(target=poll, name="model-poller", daemon=True).start()

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
        ``full`` compares every item's write time instead of reading the latest changes."""
        if self.catalog_sync is None:
            return 0, 0
        try:
            return self.catalog_sync.reconcile() if full else self.catalog_sync.poll()
        except Exception:  # the database may be away for a moment: the next look catches up
            logger.exception("reading the catalog's changes failed")
            return 0, 0

    def reload_model(self) -> str | None:
        """Load the newest trained version; keeps the current one when none is found."""
        with self._reload_lock:
            try:
                bundle = load_latest(self.settings.effective_models_dir)
            except ModelNotTrainedError as error:
                logger.warning("%s", error)
                return self.homepages.model_version
            if bundle.version != self.homepages.model_version:
                for model in bundle.models.values():  # the service's setting, not training's
                    model.set_inference(self.settings.sequential.inference)
                self.homepages.set_bundle(bundle)
                self._freeze_heap()
                logger.info("serving model version %s", bundle.version)
            return bundle.version

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


def _start_semantic(settings: Settings, store: Store, items: list[Item]) -> SemanticSpace | None:
    """The catalog's text index, from the newest model version when it saved one; without it
    the service still runs, on behaviour alone."""
    if not settings.semantic.enabled:
        return None
    latest = latest_version_path(settings.effective_models_dir)
    saved = latest / SEMANTIC_DIR if latest is not None else None
    try:
        return open_semantic_space(settings, store, items, saved)
    except Exception:
        logger.exception("the text encoder could not start: serving without text similarity")
        return None
