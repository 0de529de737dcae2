"""``homefeed evaluate``: models, and the homepage itself, measured offline on a protocol's
splits of a data folder (fitting only ever sees a split's training rows)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn

from homefeed.cli.common import ItemDetailsOption, open_store, settings_of
from homefeed.config import Settings
from homefeed.errors import HomefeedError
from homefeed.progress import progress as progress_display
from homefeed.threads import limit_threads
from homefeed.training.trainer import DEFAULT_MODELS

if TYPE_CHECKING:
    import numpy as np

    from homefeed.domain import Item

console = Console()
err_console = Console(stderr=True)
PAGE = "page"


def _embed_catalog(settings: Settings, items: list[Item]) -> np.ndarray:
    """Text embeddings of ``items`` with the configured encoder, cached in the store."""
    from homefeed.encoders.cache import embed_items
    from homefeed.encoders.loading import configured_encoder, configured_template

    encoder = configured_encoder(settings)
    return embed_items(items, encoder, open_store(settings), configured_template(settings))


def _cutoffs(k: str) -> list[int]:
    try:
        cutoffs = sorted({int(part) for part in k.split(",") if part.strip()})
    except ValueError:
        raise HomefeedError(f"--k must be whole numbers separated by commas, got {k!r}") from None
    if not cutoffs or cutoffs[0] < 1:
        raise HomefeedError("--k needs at least one cut-off of 1 or more")
    return cutoffs


def evaluate_command(
    ctx: typer.Context,
    data: Annotated[
        Path, typer.Option(help="A data folder in any supported format (MovieLens, homefeed files).")
    ],
    protocol: Annotated[str, typer.Option(help="loo, cold-items, cold-users or temporal.")] = "loo",
    item_details: ItemDetailsOption = None,
    models: Annotated[
        str,
        typer.Option(
            help="Comma-separated: pop,itemknn,ease,als,bpr,random,sequential,ranker,... and 'page': "
            "each test user's homepage, built by the page stages from a version of --page-models."
        ),
    ] = "pop,itemknn,ease,als,bpr",
    k: Annotated[str, typer.Option("--k", help="Cut-offs, comma-separated.")] = "10,20",
    out: Annotated[Path | None, typer.Option(help="Folder for report.md, metrics.json and plots.")] = None,
    tune: Annotated[bool, typer.Option(help="Grid-search each model on the validation rows first.")] = False,
    seeds: Annotated[int, typer.Option(min=1, help="Seeds to average for stochastic models.")] = 1,
    fold_in: Annotated[
        bool, typer.Option(help="Score every user from their known history, as the service does.")
    ] = False,
    page_models: Annotated[
        str, typer.Option(help="The models of the version the 'page' is built from (comma-separated).")
    ] = ",".join(DEFAULT_MODELS),
    exploration: Annotated[
        bool, typer.Option(help="The page's exploration slots (off: the leading source takes them).")
    ] = True,
    diversity: Annotated[
        bool, typer.Option(help="The page's diversity re-ranking of its leading picks.")
    ] = True,
    page_tune: Annotated[
        float | None,
        typer.Option(
            help="Minutes to choose and tune the page's models on the split's training rows first, "
            "as homefeed train --tune does."
        ),
    ] = None,
) -> None:
    """Evaluate models, and the homepage itself, offline on a protocol."""
    from homefeed.evaluation.dataset import EvalDataset
    from homefeed.evaluation.evaluator import Evaluation, ModelResult
    from homefeed.evaluation.report import rich_table, write_report
    from homefeed.evaluation.runner import Measure, run_protocol
    from homefeed.evaluation.tuning import NEEDS_TEXT, resolve_models
    from homefeed.homepage.evaluation import PageOptions, evaluate_page

    settings = settings_of(ctx)
    limit_threads(settings.threads)
    asked = [name.strip() for name in models.split(",") if name.strip()]
    names = resolve_models([name for name in asked if name.lower() != PAGE])
    cutoffs = _cutoffs(k)
    tune_seconds = page_tune * 60 if page_tune is not None else None
    page_options = PageOptions(resolve_models(page_models), exploration, diversity, tune_seconds)
    if not data.is_dir():
        raise HomefeedError(f"{data}: no such folder")
    bar = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with progress_display(err_console, *bar) as progress:
        task = progress.add_task(f"loading {data}", total=None)
        extra: dict[str, Measure] = {}
        if len(names) < len(asked):

            def page(evaluation: Evaluation) -> ModelResult:
                return evaluate_page(
                    evaluation, settings, page_options, lambda step: progress.update(task, description=step)
                )

            extra[PAGE] = page
        dataset = EvalDataset.load(data, settings.events, item_details)
        item_text = None
        if NEEDS_TEXT & set(names):
            progress.update(task, description="embedding item texts")
            item_text = _embed_catalog(settings, list(dataset.items.values()))
        report = run_protocol(
            dataset,
            protocol,
            names,
            cutoffs,
            seeds=seeds,
            tune_models=tune,
            from_history=fold_in,
            item_text=item_text,
            on_step=lambda step, done, total: progress.update(
                task, description=step, completed=done, total=total
            ),
            extra=extra,
        )
        progress.update(task, description="done", completed=progress.tasks[0].total)
    for split in report.splits:
        console.print(rich_table(split, report.ks))
    for name, tuning in report.tuning.items():
        console.print(f"tuned {name}: {tuning.best} (valid NDCG@10 {tuning.best_score:.4f})")
    if out is not None:
        write_report(report, out)
        console.print(f"[green]wrote[/] {out / 'report.md'}, {out / 'metrics.json'} and plots")
