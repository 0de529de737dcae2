"""One setting sizes every thread pool of a training or evaluation process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from threadpoolctl import threadpool_info

from homefeed import threads
from homefeed.config import Settings


def test_the_limit_sizes_torch_blas_and_openmp_and_models_read_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "_limit", None)
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", ""))
    before = torch.get_num_threads()
    try:
        assert threads.thread_limit() == threads.available_cores()  # not limited: the cores given
        assert threads.limit_threads(1) == 1
        assert torch.get_num_threads() == 1 and threads.thread_limit() == 1
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())  # BLAS and OpenMP
        monkeypatch.setattr(threads, "idle_cores", lambda: 2)  # what the sample found
        assert threads.limit_threads(Settings(threads=0).threads) == 2 == torch.get_num_threads()
    finally:
        threads.limit_threads(before)


def test_available_cores_follow_the_process_affinity() -> None:
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this platform")
    assert threads.available_cores() == len(os.sched_getaffinity(0)) <= (os.cpu_count() or 1)


@pytest.mark.parametrize(("busy", "expected"), [(0.1, 4), (1.0, 3), (1.6, 2), (3.4, 1), (4.0, 1)])
def test_the_default_uses_the_cores_other_work_leaves_idle(
    monkeypatch: pytest.MonkeyPatch, busy: float, expected: int
) -> None:
    """``busy`` cores of 4 were kept busy by other work while the default was sampled."""
    samples = iter([(0, 0), (4000, round(1000 * busy))])
    monkeypatch.setattr(threads, "_cpu_times", lambda: next(samples))
    monkeypatch.setattr(threads, "available_cores", lambda: 4)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setattr(threads.time, "sleep", lambda _seconds: None)
    assert threads.idle_cores() == expected


def test_the_cpu_sample_reads_this_machine() -> None:
    if not Path("/proc/stat").exists():
        pytest.skip("no /proc/stat on this platform")
    total, busy = threads._cpu_times()
    assert 0 < busy < total
    assert 1 <= threads.idle_cores(0.05) <= threads.available_cores()
