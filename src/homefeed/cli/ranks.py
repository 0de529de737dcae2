"""``homefeed train --nproc N``: the Transformer trained by N processes with PyTorch's own
runtime. The command starts itself again under torchrun (``torch.distributed.run``), which
gives each process its rank; under torchrun started by hand (several machines too) the same
happens. Rank 0 does the whole run (the store, the other models, the version); every other
rank fits each Transformer rank 0 fits, in step, on the data rank 0 sends it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta

logger = logging.getLogger(__name__)


def launch_ranks(nproc: int, argv: Sequence[str]) -> int:
    """Run this command line again as ``nproc`` ranks on this machine; their exit status."""
    kept = _without_nproc(argv)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"]
    command += ["-m", "homefeed.cli", *kept]
    logger.info("training with %d processes: %s", nproc, " ".join(command))
    return subprocess.run(command, check=False).returncode


@contextmanager
def training_ranks() -> Iterator[bool]:
    """Join the process group torchrun set up (none: one process); yields whether this process
    leads (rank 0), and when it is done tells the others training is over."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        yield True
        return
    import torch.distributed as dist

    from homefeed.models.sequential.distributed import announce
    from homefeed.models.sequential.model import follow_training

    dist.init_process_group("gloo")
    try:
        if dist.get_rank() == 0:
            try:
                yield True
            finally:
                announce(None)
        else:
            fitted = follow_training()
            logger.info("rank %d fitted %d Transformer(s) with rank 0", dist.get_rank(), len(fitted))
            yield False
    finally:
        try:  # leave together: a rank that tears the group down while a peer still reads aborts
            dist.monitored_barrier(timeout=timedelta(seconds=60))
        except RuntimeError as error:  # a peer is gone already; nothing left to wait for
            logger.warning("rank %d left without its peers: %s", dist.get_rank(), error)
        dist.destroy_process_group()


def _without_nproc(argv: Sequence[str]) -> list[str]:
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            kept.append(arg)
    return kept
