"""Fuzz and soak: the whole OpenAPI schema fuzzed with a long budget, and the server killed
mid-ingest over and over, on SQLite and on PostgreSQL. The suite runs both with a small budget
(tests/test_fuzz.py, tests/test_durability.py); this is the long run whose figures go in
docs/benchmarks.md.

    python benchmarks/fuzz.py [--examples 200] [--kills 10] [--backends sqlite,postgres]
                              [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

Fuzzing: schemathesis sends ``--examples`` generated requests to each operation (valid and
invalid by the schema, with an admin key) against the app in process, holding a trained model
on a small synthetic data set; every answer is checked for 5xx, undocumented status codes,
bodies off their schema and accepted invalid input. Soak: ``--kills`` times, a fresh
``homefeed serve`` is killed (SIGKILL) after a random number of acknowledged events from three
streaming clients; every acknowledged event must be in the store afterwards.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the suite's fuzzing and fault helpers
from _docs import machine
from tests.faults import kill_mid_ingest
from tests.fuzzing import fuzz_app

from homefeed.config import Settings
from homefeed.datasets.folders import folder_records
from homefeed.datasets.importer import Importer
from homefeed.datasets.synth import SynthConfig, generate
from homefeed.domain import Item
from homefeed.service import create_app
from homefeed.service.runtime import Runtime
from homefeed.store import Store, migrate, scratch_database
from homefeed.training.trainer import train_bundle

ADMIN_KEY = "fuzz-admin-key-0123456789"


@contextmanager
def database(backend: str, folder: Path, server_url: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'homefeed.db'}"
    else:
        with scratch_database(server_url, "homefeed_fuzz") as url:
            yield url


def fuzz(backend: str, examples: int, server_url: str) -> tuple[int, int, int, float]:
    """(operations, requests, failing operations, seconds) of one long fuzzing run."""
    with tempfile.TemporaryDirectory() as scratch, database(backend, Path(scratch), server_url) as url:
        settings = Settings(
            data_dir=Path(scratch),
            database_url=url,
            model_poll_seconds=0,
            catalog_poll_seconds=0,
            access={"admin_keys": [ADMIN_KEY]},  # type: ignore[arg-type]
        )
        store = Store.from_url(url)
        migrate(store.engine)
        generate(SynthConfig(users=300, items=240, days=30, topics=6, seed=7), Path(scratch) / "synth")
        records = folder_records(Path(scratch) / "synth")
        Importer(store, settings.event_weights).run(records.items, records.users, records.events)
        train_bundle(store, settings)
        runtime = Runtime.start(settings)
        began = time.perf_counter()
        try:
            report = fuzz_app(create_app(settings, runtime), ADMIN_KEY, examples)
        finally:
            runtime.close()
            store.close()
        for operation, failure in report.failures.items():
            print(f"FAILED {operation}:\n{failure}\n")
        return len(report.requests), report.total, len(report.failures), time.perf_counter() - began


def soak(backend: str, kills: int, server_url: str, seed: int = 0) -> tuple[int, int, int, float]:
    """(kills, events acknowledged, acknowledged but lost, seconds) over ``kills`` kill cycles."""
    rng = random.Random(seed)
    acknowledged = lost = 0
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch, database(backend, Path(scratch), server_url) as url:
        settings = Settings(data_dir=Path(scratch), database_url=url)
        store = Store.from_url(url)
        migrate(store.engine)
        store.upsert_items([Item(id=f"i{n}", title=f"Item {n}") for n in range(20)])
        for cycle in range(kills):
            kill_after = rng.randrange(500, 5000)
            seen = kill_mid_ingest(settings, [f"i{n}" for n in range(20)], kill_after, run=f"k{cycle}")
            with store.engine.connect() as connection:
                stored = {str(r[0]) for r in connection.execute(sa.text("SELECT event_id FROM events"))}
            acknowledged += len(seen.acknowledged)
            lost += len(seen.acknowledged - stored)
        store.close()
    return kills, acknowledged, lost, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=200, help="generated requests per operation")
    parser.add_argument("--kills", type=int, default=10, help="kill cycles per backend")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    fuzzed = {backend: fuzz(backend, args.examples, args.postgres) for backend in backends}
    soaked = {backend: soak(backend, args.kills, args.postgres) for backend in backends}
    print(f"Machine: {machine()}")
    print(f"Command: python benchmarks/fuzz.py --examples {args.examples} --kills {args.kills}")
    print()
    print("| store | operations | requests | operations failing | seconds |")
    print("|---|---|---|---|---|")
    for backend, (operations, requests, failing, seconds) in fuzzed.items():
        print(f"| {backend} | {operations} | {requests:,} | {failing} | {seconds:.0f} |")
    print()
    print("| store | kills (SIGKILL mid-ingest) | events acknowledged | acknowledged but lost | seconds |")
    print("|---|---|---|---|---|")
    for backend, (kills, acknowledged, lost, seconds) in soaked.items():
        print(f"| {backend} | {kills} | {acknowledged:,} | {lost} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
