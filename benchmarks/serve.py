"""Serve benchmark: durable event ingest over HTTP, homepage latency and throughput under
concurrent clients, and a static-JSON route (/healthz) on the same server as the floor.

    python benchmarks/serve.py [--data ../shared/data/ml-100k] [--workers 2] [--duration 10]
                               [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]
                               [--keep DIR | --data-dir DIR]

With ``--postgres`` (a server URL whose user may create databases) the store is a fresh
PostgreSQL database, dropped afterwards, instead of SQLite in the scratch folder.
``--keep DIR`` saves the prepared (imported and trained) folder; ``--data-dir DIR`` starts each
run from a copy of such a folder instead of preparing one, so two versions of the code can be
compared on the same models in one session (SQLite only).

Uses the MovieLens-100K folder when present, else synthetic data of a similar size.
Prints a markdown table to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import machine
from _load import LoadResult, get, post_json, run_load

from homefeed.config import Settings
from homefeed.datasets.folders import folder_records
from homefeed.datasets.importer import Importer
from homefeed.datasets.synth import SynthConfig, generate
from homefeed.store import Store, migrate, scratch_database

DEFAULT_MODELS = "popularity,profile,covisitation,als"  # what `homefeed train` fits

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml-100k"


def prepare(
    data_dir: Path, data: Path, models: list[str], database_url: str | None = None
) -> tuple[list[str], list[str], str]:
    settings = Settings(data_dir=data_dir, database_url=database_url)
    store = Store.from_url(settings.effective_database_url)
    migrate(store.engine)
    label = f"MovieLens-100K ({data})"
    if not data.exists():
        print(f"note: {data} is absent; using synthetic data (943 users, 1682 items)")
        data = data_dir / "synth"
        generate(SynthConfig(users=943, items=1682, days=60, topics=12, seed=0), data)
        label = "synthetic 943 users x 1682 items"
    records = folder_records(data)
    Importer(store, settings.event_weights).run(records.items, records.users, records.events)
    from homefeed.training.trainer import train_bundle  # here: a run on a kept folder needs none

    train_bundle(store, settings, models)
    found = store.logs.sample_user_ids(10_000), store.item_ids(), label
    store.close()
    return found


def kept(data_dir: Path) -> tuple[list[str], list[str], str]:
    """Users, items and a label of a folder an earlier run kept."""
    store = Store.from_url(Settings(data_dir=data_dir).effective_database_url)
    users = [user.id for user in store.iter_users()]
    found = users, [item.id for item in store.iter_items()], f"the kept folder {data_dir}"
    store.close()
    return found


@contextmanager
def maybe_scratch_database(server_url: str | None) -> Iterator[str | None]:
    """A fresh PostgreSQL database on that server (dropped afterwards), or None for SQLite."""
    if server_url is None:
        yield None
        return
    with scratch_database(server_url, "homefeed_bench") as url:
        yield url


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU seconds of a process and its live children, the server's workers
    (Linux's /proc; None elsewhere)."""
    proc = Path("/proc")
    if not (proc / str(pid)).exists():
        return None
    total = 0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def row(name: str, result: LoadResult, unit: str = "req/s", scale: float = 1.0) -> str:
    return (
        f"| {name} | {result.requests:,} | {result.errors} | {result.throughput * scale:,.0f} {unit} | "
        f"{result.percentile(50):.1f} | {result.percentile(95):.1f} | {result.percentile(99):.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--models",
        default=DEFAULT_MODELS,
        help="models to train, comma-separated (as homefeed train)",
    )
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--n", type=int, default=50, help="items per homepage")
    parser.add_argument("--ingest-events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--keep", type=Path, help="keep the prepared data folder here")
    parser.add_argument("--data-dir", type=Path, help="start from a copy of a kept data folder")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="store in a fresh database on this PostgreSQL server (SQLAlchemy URL) instead of SQLite",
    )
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="homefeed-bench-") as scratch,
        maybe_scratch_database(args.postgres) as database_url,
    ):
        data_dir = Path(scratch)
        began = time.perf_counter()
        if args.data_dir is not None:
            shutil.copytree(args.data_dir, data_dir, dirs_exist_ok=True)
            users, items, label = kept(data_dir)
        else:
            models = [m.strip() for m in args.models.split(",") if m.strip()]
            users, items, label = prepare(data_dir, args.data, models, database_url)
            if args.keep is not None:
                shutil.copytree(data_dir, args.keep, dirs_exist_ok=True)
        print(f"prepared {label} in {time.perf_counter() - began:.1f}s")
        env = {**os.environ, "HOMEFEED_DATA_DIR": str(data_dir), "HOMEFEED_MODEL_POLL_SECONDS": "0"}
        if database_url is not None:
            env["HOMEFEED_DATABASE_URL"] = database_url
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "homefeed.cli",
                "serve",
                "--port",
                str(args.port),
                "--workers",
                str(args.workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 180  # a 10M-event folder reads its aggregates for about 50 s
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{args.port}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("server did not become ready")
                time.sleep(0.2)
            results, page_cpu = asyncio.run(measure(args, users, items, server.pid))
        finally:
            server.terminate()
            server.wait(10)

    print()
    print(
        f"Machine: {machine()}; server workers: {args.workers}; "
        f"client concurrency: {args.concurrency}; data: {label}; "
        f"store: {'PostgreSQL' if args.postgres else 'SQLite'}"
    )
    print(
        f"Command: python benchmarks/serve.py --workers {args.workers} --concurrency {args.concurrency} "
        f"--duration {args.duration:g} --n {args.n} --models {args.models}"
        + (f" --postgres {args.postgres}" if args.postgres else "")
    )
    print()
    print("| route | requests | errors | throughput | p50 ms | p95 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|")
    print(row("GET /healthz (static JSON floor)", results["floor"]))
    print(
        row(
            f"GET /v1/users/{{id}}/homepage?n={args.n}, {args.concurrency} clients",
            results["homepage"],
        )
    )
    print(row("GET /healthz, 1 probe every 10 ms beside those pages", results["liveness"]))
    print(row(f"GET /v1/users/{{id}}/homepage?n={args.n}, 1 client", results["homepage_single"]))
    print(
        row(
            f"POST /v1/events, {args.batch} events per batch",
            results["ingest"],
            "events/s",
            args.batch,
        )
    )
    if page_cpu is not None:
        print()
        print(
            f"Server CPU per page with {args.concurrency} clients: {page_cpu:.2f} ms "
            "(every worker's user and system time over the pages served; the liveness probes' "
            "requests are counted in the time, not in the pages)"
        )


async def measure(
    args: argparse.Namespace, users: list[str], items: list[str], server_pid: int
) -> tuple[dict[str, LoadResult], float | None]:
    """The routes' loads, and the server's CPU milliseconds per page under the pages' load."""
    host, port = "127.0.0.1", args.port
    rng = random.Random(0)
    warm = await run_load(
        host,
        port,
        lambda i: get(f"/v1/users/{users[i % len(users)]}/homepage?n={args.n}"),
        4,
        total=400,
    )
    assert warm.errors == 0, "homepage warm-up failed"
    floor = await run_load(host, port, lambda _i: get("/healthz"), args.concurrency, duration=args.duration)
    # the pages' clients and one liveness probe at once: a page's CPU work must not hold /healthz
    cpu_before = cpu_seconds(server_pid)
    homepage, liveness = await asyncio.gather(
        run_load(
            host,
            port,
            lambda _i: get(f"/v1/users/{rng.choice(users)}/homepage?n={args.n}"),
            args.concurrency,
            duration=args.duration,
        ),
        run_load(host, port, lambda _i: get("/healthz"), 1, duration=args.duration, pause=0.01),
    )
    cpu_after = cpu_seconds(server_pid)
    page_cpu = None
    if cpu_before is not None and cpu_after is not None and homepage.requests:
        page_cpu = (cpu_after - cpu_before) * 1000 / homepage.requests
    single = await run_load(
        host,
        port,
        lambda _i: get(f"/v1/users/{rng.choice(users)}/homepage?n={args.n}"),
        1,
        duration=args.duration / 2,
    )
    batches = args.ingest_events // args.batch

    def batch(number: int) -> bytes:
        events = [
            {
                "event_id": f"bench-{number}-{k}",
                "user_id": rng.choice(users),
                "item_id": rng.choice(items),
                "type": "click",
            }
            for k in range(args.batch)
        ]
        return post_json("/v1/events", {"events": events})

    ingest = await run_load(host, port, batch, 4, total=batches)
    results = {
        "floor": floor,
        "homepage": homepage,
        "liveness": liveness,
        "homepage_single": single,
        "ingest": ingest,
    }
    return results, page_cpu


if __name__ == "__main__":
    main()
