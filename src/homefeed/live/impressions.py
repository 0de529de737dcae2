"""Log what each homepage showed without slowing the response: pages held in a list and
written in batches by one thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Protocol

from homefeed.domain import ShownPage
from homefeed.store import Store

logger = logging.getLogger(__name__)


class PageLog(Protocol):
    """Where the pages a pipeline builds are logged (the service's is :class:`ImpressionLogger`)."""

    def log(self, page: ShownPage) -> None: ...


class ImpressionLogger:
    """Buffers logged pages and writes their impressions from one background thread in batches
    (of up to ``batch_size`` impressions), every ``interval_seconds`` or as soon as a batch is full.

    A page only joins a list under a lock: the writer is not woken per page, as a queue's
    ``put`` would, since each wake hands the interpreter lock to a thread with nothing to do yet
    (at 100 pages a second that was a tenth of the serving worker's time)."""

    def __init__(self, store: Store, batch_size: int = 5000, interval_seconds: float = 1.0) -> None:
        self.store = store
        self.batch_size = batch_size
        self.interval = interval_seconds
        self._lock = threading.Lock()
        self._pending: list[ShownPage] = []
        self._rows = 0
        self._closing = False
        self._due = threading.Event()  # set when a full batch waits, or to close
        self._thread = threading.Thread(target=self._run, name="impression-logger", daemon=True)
        self._thread.start()

    def waiting(self) -> int:
        """Pages held and not yet written (the writer's lag, in pages)."""
        with self._lock:
            return len(self._pending)

    def log(self, page: ShownPage) -> None:
        """Hold one response's page for the next write; returns at once."""
        with self._lock:
            self._pending.append(page)
            self._rows += len(page.items)
            full = self._rows >= self.batch_size
        if full:
            self._due.set()

    def _run(self) -> None:
        while True:
            self._due.wait(self.interval)
            self._due.clear()
            with self._lock:
                pending, self._pending, self._rows = self._pending, [], 0
                closing = self._closing
            for batch in _batches(pending, self.batch_size):
                # one transaction (with its fsync) per batch, not one per page
                try:
                    self.store.logs.log_pages(batch)
                except Exception:  # the log must never take the service down
                    rows = sum(len(page.items) for page in batch)
                    logger.exception("could not write %d impressions of %d pages", rows, len(batch))
            if closing:
                return

    def close(self, timeout: float = 5.0) -> None:
        """Flush what is held and stop the thread."""
        with self._lock:
            self._closing = True
        self._due.set()
        self._thread.join(timeout)


def _batches(pages: list[ShownPage], rows_per_batch: int) -> Iterator[list[ShownPage]]:
    """``pages`` in order, cut into batches of about ``rows_per_batch`` impressions."""
    batch: list[ShownPage] = []
    rows = 0
    for page in pages:
        batch.append(page)
        rows += len(page.items)
        if rows >= rows_per_batch:
            yield batch
            batch, rows = [], 0
    if batch:
        yield batch
