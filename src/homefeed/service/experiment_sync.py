"""Keeps one worker's running experiments in step with the store: experiments started or stopped
through any worker (or the CLI) reach every page within the model poll interval, and the model
versions their arms serve are loaded beside the one served."""

from __future__ import annotations

import logging
from collections.abc import Callable

from homefeed.config import ExperimentSettings, Settings
from homefeed.errors import ConfigurationError
from homefeed.feedback import experiments
from homefeed.homepage import HomepagePipeline
from homefeed.store import Store
from homefeed.training.versions import ModelBundle, load_bundle

logger = logging.getLogger(__name__)


class ExperimentSync:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        pages: HomepagePipeline,
        prepare: Callable[[ModelBundle], None],
    ) -> None:
        self.store, self.settings, self.pages, self.prepare = store, settings, pages, prepare
        self._bundles: dict[str, ModelBundle] = {}  # versions arms serve, loaded

    def declare(self) -> None:
        """Record the experiment of the settings (HOMEFEED_EXPERIMENT) as running in the store."""
        try:
            experiments.declare(self.store, self.settings.experiment)
        except Exception:
            logger.exception("recording the configured experiment failed; pages still follow it")

    def sync(self) -> None:
        """Serve the experiments the store says are running (a no-op when nothing changed)."""
        try:
            found = experiments.running(self.store)
        except Exception:  # the database may be away for a moment: the next look catches up
            logger.exception("reading the running experiments failed")
            return
        if tuple(found) == self.pages.variants.running:
            return
        usable: list[ExperimentSettings] = []
        for experiment in found:
            try:
                self.pages.variants.check(experiment)
                usable.append(experiment)
            except ConfigurationError as error:
                logger.error("experiment %s cannot run on this worker: %s", experiment.name, error)
        wanted = {arm.model_version for e in usable for arm in e.arms.values() if arm.model_version}
        self._bundles = {version: bundle for version, bundle in self._bundles.items() if version in wanted}
        for version in sorted(wanted - set(self._bundles)):
            try:
                bundle = load_bundle(self.settings.effective_models_dir / version)
                self.prepare(bundle)
                self._bundles[version] = bundle
            except Exception:  # pages of that arm say so and serve the current version
                logger.exception("model version %s of a running experiment could not be loaded", version)
        self.pages.set_arm_versions(list(self._bundles.values()))
        self.pages.variants.set_running(usable)
        logger.info("running experiments: %s", [experiment.name for experiment in usable] or "none")
