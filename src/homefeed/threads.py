"""How many threads the heavy libraries use: one setting (``HOMEFEED_THREADS``) for PyTorch,
BLAS, every OpenMP runtime loaded (LightGBM's, FAISS's), implicit and ONNX Runtime.

Each library otherwise sizes its pool by the machine's cores, not by the cores that are free,
and threads that wait on a busy core stall the others at every step: beside one busy process
on 2 cores, the Transformer's fit took 2.6 times as long on 2 threads as on 1
(``benchmarks/threads.py``). The pools are the process's, so the limit is too: the commands
that train or evaluate set it once at start; models read it where a library takes a thread
count as an argument.
"""

from __future__ import annotations

import logging
import os
import time

logger = logging.getLogger(__name__)
_limit: int | None = None  # set by limit_threads; None: not limited


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers and ``taskset``
    narrow), else the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def idle_cores(sample_seconds: float = 0.5) -> int:
    """The available cores not already busy: the machine's cores less those other work kept
    busy over ``sample_seconds`` (``/proc/stat``, steal time counting as busy), at most the
    cores this process may use, at least one. On 2 cores, the Transformer fitted in 25 s on
    2 threads alone (28 s on 1), but in 97 s on 2 threads beside one busy process (38 s on 1;
    ``benchmarks/threads.py``): a thread more than the idle cores costs far more than a
    thread fewer. (The load average is no guide: on these VMs it sat near 1 with nothing
    running.)"""
    available = available_cores()
    try:
        before = _cpu_times()
        time.sleep(sample_seconds)
        after = _cpu_times()
    except (OSError, ValueError):  # not Linux
        return available
    total = after[0] - before[0]
    if total <= 0:
        return available
    busy = (os.cpu_count() or available) * (after[1] - before[1]) / total
    return max(1, min(available, round((os.cpu_count() or available) - busy)))


def _cpu_times() -> tuple[int, int]:
    """(all, busy) jiffies of every CPU since boot: busy is all but idle and I/O wait."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(value) for value in stat.readline().split()[1:9]]
    idle = fields[3] + fields[4]
    return sum(fields), sum(fields) - idle


def limit_threads(threads: int = 0) -> int:
    """Size every thread pool of this process to ``threads`` (0: the idle cores, see
    :func:`idle_cores`, sampled for half a second); the number used."""
    global _limit
    count = threads if threads > 0 else idle_cores()
    import faiss
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(count)
    faiss.omp_set_num_threads(count)
    threadpool_limits(count)  # BLAS and every OpenMP runtime loaded so far
    os.environ["OMP_NUM_THREADS"] = str(count)  # OpenMP runtimes loaded later start sized too
    _limit = count
    logger.info("using %d thread(s) (%d cores available)", count, available_cores())
    return count


def thread_limit() -> int:
    """Threads a library that takes a count should use: the limit set, else the available cores."""
    return _limit if _limit is not None else available_cores()
