"""The Transformer trained by two processes with torch.distributed (gloo, as torchrun starts
them) learns the planted cycle as well as one process does, and both end with the same weights."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from homefeed.config import Settings
from homefeed.datasets.synth import SynthConfig, generate
from homefeed.models.base import Validation
from homefeed.models.sequential import SequentialRecommender
from homefeed.models.sequential.distributed import announce
from homefeed.models.sequential.model import follow_training
from homefeed.store import Store, migrate
from tests.conftest import load_folder
from tests.test_sequential import SMALL, _cycles, _next_topic_hits

pytestmark = pytest.mark.slow
TINY = {"EPOCHS": "2", "HIDDEN": "32", "LAYERS": "1", "MAX_LENGTH": "20"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _train(folder: Path) -> dict[str, float]:
    """Fit on the planted cycles (rank 0, or alone; other ranks follow); the share of the top 5
    in the next topic, for new users."""
    data, text = _cycles()
    data.item_text = text
    sequences = data.sequences()[:20]
    validation = Validation([s[:-1] for s, _ in sequences], [{int(s[-1])} for s, _ in sequences])
    model = SequentialRecommender(**SMALL).fit(data, validation)
    announce(None)  # training is over: the followers return
    return _summary(model)


def _summary(model: SequentialRecommender) -> dict[str, float]:
    fresh, _ = _cycles(n_users=40, seed=1)
    assert model.network is not None
    weights = torch.cat([parameter.detach().flatten() for parameter in model.network.parameters()])
    return {
        "share": _next_topic_hits(model, [seq for seq, _ in fresh.sequences()]),
        "epochs": float(len(model.history)),
        "checksum": float(weights.double().sum()),
    }


def _rank(rank: int, world: int, port: int, folder: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        if rank == 0:
            found = _train(Path(folder))
        else:  # as `homefeed train --nproc` runs them: fed the data by rank 0, fitting in step
            [model] = follow_training()
            found = _summary(model)
        (Path(folder) / f"rank{rank}.json").write_text(json.dumps(found))
    finally:
        dist.destroy_process_group()


def test_two_processes_learn_the_cycle_as_one_does_with_the_same_weights(tmp_path: Path) -> None:
    mp.spawn(_rank, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    ranks = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in range(2)]
    assert ranks[0]["checksum"] == pytest.approx(ranks[1]["checksum"], rel=1e-6)  # gradients averaged
    assert ranks[0]["epochs"] == ranks[1]["epochs"]  # stopped together
    torch.set_num_threads(1)
    alone = _train(tmp_path)
    # share of the top 5 in the topic that comes next (chance: 1/4): within noise of one process
    assert ranks[0]["share"] > 0.85 and alone["share"] > 0.85, (ranks[0], alone)
    assert abs(ranks[0]["share"] - alone["share"]) < 0.08, (ranks[0], alone)
    assert np.isfinite(ranks[0]["checksum"])


def test_train_with_two_processes_writes_one_version_with_the_transformer(tmp_path: Path) -> None:
    """`homefeed train --nproc 2` starts itself again under torchrun; rank 0 alone writes."""
    env = {
        **os.environ,
        "HOMEFEED_DATA_DIR": str(tmp_path / "data"),
        "HOMEFEED_SEMANTIC__ENABLED": "false",
        "HOMEFEED_GATE__ENABLED": "false",
        **{f"HOMEFEED_SEQUENTIAL__{key}": value for key, value in TINY.items()},
    }
    settings = Settings(data_dir=tmp_path / "data")
    store = Store.from_url(settings.effective_database_url)
    migrate(store.engine)
    folder = tmp_path / "synth"
    generate(SynthConfig(users=120, items=80, days=20, seed=3), folder)
    load_folder(store, settings, folder)
    store.close()
    command = [
        sys.executable,
        "-m",
        "homefeed.cli",
        "train",
        "--model",
        "popularity,sequential",
        "--nproc",
        "2",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (
        done.stderr[:4000] + "\n…\n" + done.stderr[-2000:]
    )  # rank 0's own words first
    [version] = [path for path in (tmp_path / "data" / "models").iterdir() if path.is_dir()]
    manifest = json.loads((version / "manifest.json").read_text())
    assert set(manifest["models"]) >= {"popularity", "sequential"}
