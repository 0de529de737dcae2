"""A small keep-alive HTTP/1.1 load generator on asyncio streams (cheap enough per request
that one client core can drive a server harder than the server can answer)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")


async def _request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
) -> tuple[int, bytes]:
    writer.write(raw)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    body = await reader.readexactly(length) if length else b""
    return status, body


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()


def post_json(path: str, payload: object) -> bytes:
    body = json.dumps(payload).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def run_load(
    host: str,
    port: int,
    make_request: Callable[[int], bytes],
    concurrency: int,
    duration: float | None = None,
    total: int | None = None,
    pause: float = 0.0,
) -> LoadResult:
    """``concurrency`` connections send requests until ``duration`` seconds or ``total`` requests,
    each waiting ``pause`` seconds after an answer (a probe rather than a load)."""
    result = LoadResult()
    counter = iter(range(10**12))
    started = time.perf_counter()
    deadline = started + duration if duration else float("inf")

    async def worker(number: int) -> None:
        # Connect one client at a time while the others already send requests: asyncio servers
        # accept every queued connection in one go, so connections opened all at once would
        # all land on whichever server worker woke first.
        await asyncio.sleep(number * 0.05)
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                number = next(counter)
                if total is not None and number >= total:
                    return
                raw = make_request(number)
                begin = time.perf_counter()
                status, _ = await _request(reader, writer, raw)
                result.latencies_ms.append((time.perf_counter() - begin) * 1000)
                if status >= 400:
                    result.errors += 1
                if pause:
                    await asyncio.sleep(pause)
        finally:
            writer.close()

    await asyncio.gather(*(worker(number) for number in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result
