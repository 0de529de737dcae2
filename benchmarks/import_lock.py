"""Event POSTs during an import: how long a client's event waits while ``homefeed import``
writes into the same SQLite store, and what the import costs.

    python benchmarks/import_lock.py [--events 40000] [--items 200] [--pause 0.02]

An import of ``--events`` synthetic click events runs in a thread against a fresh SQLite store
while the service (in process, the same database) receives a one-event POST every ``--pause``
seconds; the table gives the import's wall time and each POST's wait. Run it on two versions of
the code (PYTHONPATH=...) in one session to compare them.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import machine

from homefeed.config import Settings
from homefeed.datasets.importer import Importer
from homefeed.datasets.records import Record
from homefeed.service import create_app
from homefeed.store import Store, migrate


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--pause", type=float, default=0.02)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="homefeed-lock-"))
    settings = Settings(
        data_dir=folder, catalog_poll_seconds=0, model_poll_seconds=0, semantic={"enabled": False}
    )  # type: ignore[arg-type]
    store = Store.from_url(settings.effective_database_url)
    migrate(store.engine)
    items = [Record("items", n + 1, {"id": f"i{n}", "title": f"Item {n}"}) for n in range(args.items)]
    events = [
        Record(
            "events",
            n + 1,
            {
                "event_id": f"e{n}",
                "user_id": f"u{n % 500}",
                "item_id": f"i{n % args.items}",
                "type": "click",
                "timestamp": 1.7e9 + n,
            },
        )
        for n in range(args.events)
    ]
    staged = "staging_dir" in inspect.signature(Importer).parameters  # code before staging had none
    options = {"staging_dir": folder / "imports"} if staged else {}
    waits: list[float] = []
    with TestClient(create_app(settings)) as client:
        client.put("/v1/items/live", json={"title": "Live"})
        began = time.perf_counter()
        importing = threading.Thread(
            target=lambda: Importer(store, settings.event_weights, **options).run(items, (), events)  # type: ignore[arg-type]
        )
        importing.start()
        while importing.is_alive():
            start = time.perf_counter()
            answer = client.post(
                "/v1/events",
                json={
                    "events": [
                        {"event_id": f"live-{len(waits)}", "user_id": "x", "item_id": "live", "type": "click"}
                    ]
                },
            )
            waits.append(time.perf_counter() - start)
            if answer.status_code != 200:
                raise SystemExit(f"a POST failed: {answer.status_code} {answer.text}")
            time.sleep(args.pause)
        importing.join()
        seconds = time.perf_counter() - began
    ms = np.array(waits) * 1000
    print(f"Machine: {machine()}")
    print(f"Command: python benchmarks/import_lock.py --events {args.events} --items {args.items}")
    print()
    print("| import | import s | POSTs during it | wait p50 ms | wait p99 ms | wait max ms |")
    print("|---|---|---|---|---|---|")
    kind = "staged, merged in chunks" if staged else "one transaction"
    print(
        f"| {kind} | {seconds:.1f} | {len(waits)} | {np.percentile(ms, 50):.0f} | "
        f"{np.percentile(ms, 99):.0f} | {ms.max():.0f} |"
    )


if __name__ == "__main__":
    main()
