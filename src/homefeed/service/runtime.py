"""Everything a running service holds: store, catalog cache, loaded model, impression log."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from homefeed.config import Settings
from homefeed.errors import ModelNotTrainedError
from homefeed.models.bundle import latest_version_path, load_latest
from homefeed.serving.catalog import Catalog
from homefeed.serving.homepage import HomepageBuilder
from homefeed.serving.impressions import ImpressionLogger
from homefeed.store import Store, migrate

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    store: Store
    catalog: Catalog
    homepages: HomepageBuilder
    impressions: ImpressionLogger
    _stop: threading.Event = field(default_factory=threading.Event)
    _reload_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        """Open the store (migrating it), warm the catalog and load the newest model if any."""
        store = Store.from_url(settings.effective_database_url)
        migrate(store.engine)
        catalog = Catalog(store.iter_items())
        impressions = ImpressionLogger(store)
        builder = HomepageBuilder(
            store, settings, catalog, None, impressions if settings.log_impressions else None
        )
        runtime = cls(settings, store, catalog, builder, impressions)
        runtime.reload_model()
        runtime._start_polling()
        return runtime

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

    def reload_model(self) -> str | None:
        """Load the newest trained version; keeps the current one when none is found."""
        with self._reload_lock:
            try:
                bundle = load_latest(self.settings.effective_models_dir)
            except ModelNotTrainedError as error:
                logger.warning("%s", error)
                return self.homepages.model_version
            if bundle.version != self.homepages.model_version:
                self.homepages.set_bundle(bundle)
                logger.info("serving model version %s", bundle.version)
            return bundle.version

    def refresh_items(self, item_ids: list[str]) -> None:
        """Pull items written by another process into the catalog cache."""
        found = [item for item in map(self.store.get_item, item_ids) if item is not None]
        if found:
            self.catalog.upsert(found)

    def close(self) -> None:
        self._stop.set()
        self.impressions.close()
        self.store.close()
