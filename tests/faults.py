"""Fault injection: a real ``homefeed serve`` process killed (SIGKILL) while clients stream
events into it. Used by the suite (one kill) and by ``benchmarks/fuzz.py`` (a soak of many)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from homefeed.config import Settings


@dataclass
class Ingest:
    """What the clients saw: events acknowledged (HTTP 200) and batches left without an answer."""

    acknowledged: set[str] = field(default_factory=set)
    unanswered: list[list[dict[str, Any]]] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def kill_mid_ingest(
    settings: Settings, items: list[str], kill_after: int, clients: int = 3, batch: int = 50, run: str = "r"
) -> Ingest:
    """Serve ``settings``' store, stream batches of click events on ``items`` from ``clients``
    threads, and kill the server once ``kill_after`` events were acknowledged."""
    port = free_port()
    env = {
        **os.environ,
        "HOMEFEED_DATA_DIR": str(settings.data_dir),
        "HOMEFEED_DATABASE_URL": settings.effective_database_url,
        "HOMEFEED_SEMANTIC__ENABLED": "false",
        "HOMEFEED_MODEL_POLL_SECONDS": "0",
    }
    command = [sys.executable, "-m", "homefeed.cli", "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    seen, lock, stop = Ingest(), threading.Lock(), threading.Event()

    def stream(client: int) -> None:
        with httpx.Client(base_url=base, timeout=10) as http:
            for number in range(1_000_000):
                events = [
                    {
                        "event_id": f"{run}-c{client}-b{number}-{k}",
                        "user_id": f"u{client}-{k % 7}",
                        "item_id": items[k % len(items)],
                        "type": "click",
                    }
                    for k in range(batch)
                ]
                try:
                    answer = http.post("/v1/events", json={"events": events})
                except httpx.HTTPError:
                    with lock:
                        seen.unanswered.append(events)
                    return
                if answer.status_code != 200:
                    raise AssertionError(answer.text)
                with lock:
                    seen.acknowledged.update(str(event["event_id"]) for event in events)
                if stop.is_set():
                    return

    try:
        _wait_until_up(base, server)
        threads = [threading.Thread(target=stream, args=(client,)) for client in range(clients)]
        for thread in threads:
            thread.start()
        while len(seen.acknowledged) < kill_after and any(thread.is_alive() for thread in threads):
            time.sleep(0.01)
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        stop.set()
        for thread in threads:
            thread.join(20)
    finally:
        if server.poll() is None:
            server.kill()
    return seen


def _wait_until_up(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            raise AssertionError("the server did not start")
        time.sleep(0.1)
