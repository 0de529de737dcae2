"""Log what each homepage showed without slowing the response: a queue of pages drained in
batches by one thread."""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Protocol

from homefeed.domain import ShownPage
from homefeed.store import Store

logger = logging.getLogger(__name__)


class PageLog(Protocol):
    """Where the pages a pipeline builds are logged (the service's is :class:`ImpressionLogger`)."""

    def log(self, page: ShownPage) -> None: ...


class ImpressionLogger:
    """Buffers logged pages and writes their impressions from one background thread in batches
    (of up to ``batch_size`` impressions, gathered for up to ``interval_seconds``)."""

    def __init__(self, store: Store, batch_size: int = 5000, interval_seconds: float = 1.0) -> None:
        self.store = store
        self.batch_size = batch_size
        self.interval = interval_seconds
        self._queue: queue.Queue[ShownPage | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="impression-logger", daemon=True)
        self._thread.start()

    def waiting(self) -> int:
        """Pages queued and not yet written (the writer's lag, in pages)."""
        return self._queue.qsize()

    def log(self, page: ShownPage) -> None:
        """Queue one response's page; returns at once."""
        self._queue.put(page)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch: list[ShownPage] = []
            rows = 0
            try:
                first = self._queue.get(timeout=self.interval)
                if first is None:
                    stopping = True
                else:
                    batch.append(first)
                    rows += len(first.items)
                # gather for up to `interval` after the first page: one write per second at
                # load, not one per page (each write is a transaction, with an fsync)
                deadline = time.monotonic() + self.interval
                while rows < self.batch_size and not stopping:
                    entry = self._queue.get(timeout=max(deadline - time.monotonic(), 0.0))
                    if entry is None:
                        stopping = True
                        break
                    batch.append(entry)
                    rows += len(entry.items)
            except queue.Empty:
                pass
            if batch:
                try:
                    self.store.logs.log_pages(batch)
                except Exception:  # the log must never take the service down
                    logger.exception("could not write %d impressions of %d pages", rows, len(batch))

    def close(self, timeout: float = 5.0) -> None:
        """Flush what is queued and stop the thread."""
        self._queue.put(None)
        self._thread.join(timeout)
