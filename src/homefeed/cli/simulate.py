"""``homefeed simulate``: judge a configuration before launch in a closed loop of synthetic
people with hidden tastes (see ``homefeed.simulation``)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import SpinnerColumn, TextColumn
from rich.table import Table

from homefeed.cli.common import settings_of
from homefeed.progress import progress as progress_display
from homefeed.simulation import DayResult, SimulationConfig, simulate, summary
from homefeed.simulation.loop import POPULAR_ONLY
from homefeed.training.trainer import DEFAULT_MODELS

console = Console()
err_console = Console(stderr=True)
DEFAULT_ARMS = json.dumps({"learning": {}, "popular": {"homepage": POPULAR_ONLY}})


def simulate_command(
    ctx: typer.Context,
    days: Annotated[int, typer.Option(min=1, max=365, help="Simulated days.")] = 30,
    users: Annotated[int, typer.Option(min=10, help="Synthetic people.")] = 300,
    items: Annotated[int, typer.Option(min=20, help="Items of the synthetic catalog.")] = 240,
    warmup_days: Annotated[int, typer.Option(min=1, help="Days of generated history before day 1.")] = 14,
    visits: Annotated[float, typer.Option(min=0.01, help="Visits per person and day (average).")] = 0.5,
    retrain_days: Annotated[int, typer.Option(min=1, help="Train a new version every this many days.")] = 1,
    models: Annotated[str, typer.Option(help="Models every retraining trains.")] = ",".join(DEFAULT_MODELS),
    arms: Annotated[
        str,
        typer.Option(
            help="Arm -> {weight, homepage overrides} as JSON: people are split among them (the "
            "default compares the configured page with a popularity-only page)."
        ),
    ] = DEFAULT_ARMS,
    fixed_catalog: Annotated[
        bool, typer.Option("--fixed-catalog", help="Publish no new items while it runs.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the people, the catalog and their clicks.")] = 0,
    folder: Annotated[
        Path | None, typer.Option("--folder", help="Keep its store and versions here [default: a temp dir].")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Also write each day's results per arm as JSON.")] = None,
) -> None:
    """People with hidden tastes visit for DAYS simulated days, see the pages homefeed builds
    (each person in one arm), click by taste and position, and feed a retraining every
    RETRAIN_DAYS; prints CTR and catalog coverage per day and arm. The page and training follow
    your settings (HOMEFEED_*), in a store of the simulation's own."""
    try:
        split = json.loads(arms)
    except ValueError as error:
        raise typer.BadParameter(f"not JSON: {error}", param_hint="--arms") from None
    config = SimulationConfig(
        days=days,
        warmup_days=warmup_days,
        users=users,
        items=items,
        seed=seed,
        visits_per_day=visits,
        retrain_days=retrain_days,
        models=tuple(name.strip() for name in models.split(",") if name.strip()),
        arms=split,
        new_items=not fixed_catalog,
    )
    settings = settings_of(ctx)
    with tempfile.TemporaryDirectory(prefix="homefeed-simulation-") as scratch:
        where = folder or Path(scratch)
        with progress_display(err_console, SpinnerColumn(), TextColumn("{task.description}")) as progress:
            task = progress.add_task("simulating", total=None)
            results = simulate(
                config, where, settings, on_step=lambda step: progress.update(task, description=step)
            )
    _print(results, list(split))
    if out is not None:
        rows = [{**vars(result), "ctr": result.ctr, "coverage": result.coverage} for result in results]
        out.write_text(json.dumps(rows, indent=1), encoding="utf-8")
        console.print(f"each day's results: {out}")


def _print(results: Sequence[DayResult], arms: list[str]) -> None:
    table = Table(title="simulated days: CTR (coverage of the catalog) per arm")
    table.add_column("day", justify="right")
    for arm in arms:
        table.add_column(arm, justify="right")
    table.add_column("model version")
    for day in sorted({result.day for result in results}):
        found = {result.arm: result for result in results if result.day == day}
        cells = [f"{found[arm].ctr:.2%} ({found[arm].coverage:.0%})" if arm in found else "" for arm in arms]
        table.add_row(str(day), *cells, next(iter(found.values())).version or "")
    console.print(table)
    last = min(7, max(result.day for result in results))
    for arm, figures in summary(results, last).items():
        console.print(
            f"{arm}: CTR {figures['ctr_first']:.2%} in the first {last} days → {figures['ctr_last']:.2%} in "
            f"the last {last}; coverage {figures['coverage_first']:.0%} → {figures['coverage_last']:.0%}; "
            f"exposure Gini {figures['gini_first']:.2f} → {figures['gini_last']:.2f}"
        )
