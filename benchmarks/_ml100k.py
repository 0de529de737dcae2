"""What every MovieLens-100K benchmark shares: its options, the skip when the shared data is
absent, the cached item text embeddings, and printing (and writing) the result section."""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _docs import replace_section

from homefeed.config import Settings
from homefeed.encoders.cache import embed_items
from homefeed.encoders.loading import configured_encoder
from homefeed.encoders.sentence import SentenceTransformerEncoder
from homefeed.evaluation.dataset import EvalDataset
from homefeed.evaluation.evaluator import Evaluation
from homefeed.evaluation.protocols import Split, loo
from homefeed.models.data import Interactions
from homefeed.store import Store, migrate
from homefeed.threads import limit_threads

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml-100k"
# the benchmarks fit models as `homefeed train` does: thread pools sized by HOMEFEED_THREADS
limit_threads(Settings().threads)


def parser(doc: str | None) -> argparse.ArgumentParser:
    """--data and --write; a script adds its own options."""
    options = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("--data", type=Path, default=DEFAULT_DATA)
    options.add_argument("--write", action="store_true", help="write the full output to docs/journal/runs/")
    return options


def available(folder: Path) -> bool:
    """Whether the shared data folder is there; says why the benchmark is skipped when not."""
    if not (folder / "ml-100k.inter").exists():
        print(f"skipped: {folder} is absent (MovieLens-100K in the shared atomic layout is needed)")
        return False
    return True


def load(folder: Path) -> EvalDataset | None:
    """The data set, or None (after saying why) when the shared folder is absent."""
    return EvalDataset.load(folder, Settings().event_weights) if available(folder) else None


def item_text(dataset: EvalDataset, settings: Settings | None = None) -> np.ndarray:
    """Item text vectors, cached under the temp dir: bundled all-MiniLM-L6-v2 (PyTorch fp32),
    or with ``settings`` the service's encoder, backend and template."""
    cache = Store.from_url(f"sqlite:///{Path(tempfile.gettempdir()) / 'homefeed-embeddings.db'}")
    migrate(cache.engine)
    items = list(dataset.items.values())
    if settings is None:
        return embed_items(items, SentenceTransformerEncoder(), cache)
    encoder = configured_encoder(settings)
    return embed_items(items, encoder, cache, settings.item_text_template)


@dataclass
class Loo:
    """The `loo` protocol ready for a model: the split, its evaluation at ``ks``, the training
    data with item text, and each test user's history as item indices."""

    dataset: EvalDataset
    split: Split
    evaluation: Evaluation
    data: Interactions
    histories: list[np.ndarray]


def loo_setup(dataset: EvalDataset, ks: list[int]) -> Loo:
    text = item_text(dataset)
    split = loo(dataset)
    evaluation = Evaluation(dataset, split, ks, text)
    data = split.fit_data()
    data.item_text = text
    histories = [evaluation._indices(case.history) for case in split.cases]
    return Loo(dataset, split, evaluation, data, histories)


def finish(section: str, lines: list[str], write: bool) -> int:
    print("\n".join(lines))
    if write:
        replace_section(section, lines)
    return 0
