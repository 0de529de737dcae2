"""``homefeed experiments``: start, stop, list, plan and report A/B experiments. Running services
follow a start or stop within HOMEFEED_MODEL_POLL_SECONDS."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich import box
from rich.console import Console
from rich.table import Table

from homefeed.cli.common import open_store, settings_of
from homefeed.config import ExperimentSettings
from homefeed.feedback import experiments
from homefeed.feedback.statistics import Comparison
from homefeed.store import experiments as stored

experiments_app = typer.Typer(
    help="A/B experiments: start and stop them while the service runs (several at once), plan "
    "their size, and report each arm against the first with users as the unit.",
    no_args_is_help=True,
)
console = Console()


@experiments_app.command("start")
def start(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A new name (a name is used once).")],
    arms: Annotated[
        str,
        typer.Option(
            help='Arm -> arm, as JSON or @file.json: {"control": {}, "quiet": {"homepage": '
            '{"exploration_slots": 0}}, "new-model": {"model_version": "2026..."}}; the first is '
            "the baseline; an arm may set weight, homepage overrides and model_version.",
        ),
    ],
) -> None:
    """Start experiment NAME now; every worker serves it within its poll interval."""
    from homefeed.homepage.experiments import check_arms
    from homefeed.homepage.filters import filter_factories
    from homefeed.live.catalog import Catalog

    settings = settings_of(ctx)
    text = Path(arms[1:]).read_text(encoding="utf-8") if arms.startswith("@") else arms
    try:
        experiment = ExperimentSettings.model_validate({"name": name, "arms": json.loads(text)})
    except (ValueError, ValidationError) as error:
        raise typer.BadParameter(str(error), param_hint="--arms") from None
    filters = filter_factories(Catalog([]))
    experiments.start(open_store(settings), settings, experiment, lambda e: check_arms(settings, e, filters))
    console.print(f"started experiment {name} with arms {', '.join(experiment.arms)}")


@experiments_app.command("stop")
def stop(ctx: typer.Context, name: Annotated[str, typer.Argument(help="A running experiment.")]) -> None:
    """Stop experiment NAME: pages are built as configured again; its report stays."""
    experiments.stop(open_store(settings_of(ctx)), name)
    console.print(f"stopped experiment {name}")


@experiments_app.command("list")
def list_experiments(ctx: typer.Context) -> None:
    """Every experiment: status, arms, when it started and stopped, users exposed so far."""
    store = open_store(settings_of(ctx))
    found = stored.every(store.engine)
    if not found:
        console.print("no experiment yet: `homefeed experiments start NAME --arms JSON`")
        return
    users = stored.exposed_users(store.engine, [experiment.name for experiment in found])
    table = Table(title="experiments", box=box.SIMPLE, pad_edge=False)
    for column in ("name", "status", "origin", "arms", "started UTC", "stopped UTC", "users"):
        table.add_column(column, justify="right" if column == "users" else "left")
    for experiment in found:
        table.add_row(
            experiment.name,
            experiment.status,
            experiment.origin,
            ", ".join(experiment.arms),
            _when(experiment.started_at),
            _when(experiment.stopped_at),
            f"{users.get(experiment.name, 0):,}",
        )
    console.print(table)


@experiments_app.command("plan")
def plan(
    ctx: typer.Context,
    effect: Annotated[
        float | None, typer.Option(min=0.0001, help="The relative change of CTR to detect, e.g. 0.05.")
    ] = None,
    days: Annotated[float, typer.Option(min=0.001, help="Plan from this many days of impressions.")] = 14.0,
    alpha: Annotated[float, typer.Option(min=0.0001, max=0.5, help="The test's level.")] = 0.05,
    power: Annotated[float, typer.Option(min=0.5, max=0.9999, help="The chance to detect it.")] = 0.8,
) -> None:
    """Size an experiment on CTR from the per-user variance the recent log shows: users per
    arm to detect EFFECT, and the effect the users seen could detect in two arms."""
    settings = settings_of(ctx)
    since = time.time() - days * 86_400
    found = experiments.plan(open_store(settings), settings, since, effect, alpha, power)
    console.print(f"CTR of the last {days:g} days: {found.baseline:.3%} over {found.users_seen:,} users")
    if found.detectable is not None:
        half = found.users_seen // 2
        console.print(f"two arms of {half:,} users detect a change of ±{found.detectable:.1%}")
    if found.users_per_arm is not None and effect is not None:
        needed = found.users_per_arm
        console.print(f"to detect ±{effect:.1%} with power {power:.0%}: {needed:,} users per arm")


def report(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The experiment's name.")],
    window_hours: Annotated[
        float | None, typer.Option(min=0.001, help="Attribution window [default: HOMEFEED_ATTRIBUTION_HOURS]")
    ] = None,
    conversion: Annotated[
        list[str] | None, typer.Option(help="Event type counted as a conversion (repeatable).")
    ] = None,
) -> None:
    """CTR and CVR per arm, and against the first arm the difference with its 95 % interval
    (delta method, and a bootstrap over users) and p-value, each user counted once."""
    settings = settings_of(ctx)
    found = experiments.report(open_store(settings), settings, name, window_hours, conversion)
    if not found.arms:
        console.print(f"[yellow]no impressions recorded for experiment {name!r} yet[/]")
        raise typer.Exit(1)
    table = Table(
        title=f"experiment {name} ({found.status}) · events within {found.window_hours:g} h of an impression",
        caption="Δ: the arm minus the first arm; [95 % interval, delta method] (bootstrap); unit: the user",
    )
    for column in ("arm", "users", "impressions", "CTR", "Δ CTR", "p (CTR)", "CVR", "Δ CVR", "p (CVR)"):
        table.add_column(column, justify="left" if column == "arm" else "right")
    for arm in found.arms:
        table.add_row(
            arm.arm,
            f"{arm.users:,}",
            f"{arm.impressions:,}",
            f"{arm.ctr:.2%}",
            _difference(arm.ctr_test),
            _p(arm.ctr_test),
            f"{arm.cvr:.2%}",
            _difference(arm.cvr_test),
            _p(arm.cvr_test),
        )
    console.print(table)


experiments_app.command("report")(report)


def _difference(test: Comparison | None) -> str:
    if test is None:
        return "baseline"
    text = f"{test.difference:+.2%} [{test.interval[0]:+.2%}, {test.interval[1]:+.2%}]"
    if test.bootstrap is not None:
        text += f" ({test.bootstrap[0]:+.2%}, {test.bootstrap[1]:+.2%})"
    return text


def _p(test: Comparison | None) -> str:
    if test is None:
        return ""
    return "—" if test.p_value is None else f"{test.p_value:.3g}"


def _when(seconds: float | None) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%m-%d %H:%M") if seconds is not None else ""
