"""``homefeed versions``: the model versions an operator controls (list, pin, unpin, roll back,
delete). Running services follow within HOMEFEED_MODEL_POLL_SECONDS."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from homefeed.cli.common import open_store, settings_of
from homefeed.store import runs
from homefeed.training import control

versions_app = typer.Typer(
    help="Model versions: list, pin, unpin, roll back, promote past the quality gate, delete "
    "(services follow within their poll interval), and the training runs that made them.",
    no_args_is_help=True,
)
console = Console()


def _models_dir(ctx: typer.Context) -> Path:
    settings = settings_of(ctx)
    return settings.effective_models_dir


@versions_app.command("list")
def list_versions(ctx: typer.Context) -> None:
    """Every version, newest first, with its status, events trained on, size and number of
    models (GET /v1/admin/versions names them)."""
    found = control.list_versions(_models_dir(ctx))
    if not found:
        console.print("no model version yet: run `homefeed train`")
        return
    table = Table(title="model versions", box=box.SIMPLE, pad_edge=False, collapse_padding=True)
    table.add_column("version", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("trained UTC", no_wrap=True)
    table.add_column("events", justify="right")
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("models", justify="right")
    table.add_column("gate", no_wrap=True)
    for info in found:
        trained = (
            datetime.fromtimestamp(info.created_at, UTC).strftime("%m-%d %H:%M") if info.created_at else "?"
        )
        events = f"{info.events:,}" if info.events is not None else "?"
        size = f"{info.size_bytes / 2**20:.1f} MiB"
        gate = _gate_summary(info.gate or {})
        table.add_row(info.version, info.status, trained, events, size, str(len(info.models)), gate)
    console.print(table)
    for info in found:
        if info.reason:
            console.print(f"[yellow]{info.version}[/] is {info.status}: {info.reason}")


def _gate_summary(gate: dict[str, Any]) -> str:
    """The gate's verdict and its first model's figure, e.g. ``passed als ndcg@10 0.061/0.058``."""
    status = str(gate.get("status", "?"))
    metric = str(gate.get("metric", ""))
    name = metric.split("@")[0]
    for model, sides in (gate.get("models") or {}).items():
        if "candidate" in sides:
            figure = f"{sides['candidate'][name]:.3f}"
            if "serving" in sides:
                figure += f"/{sides['serving'][name]:.3f}"
            return f"{status} {model} {metric} {figure}"
    return status


def print_gate(out: Console, gate: dict[str, Any]) -> None:
    """The quality gate's verdict on a new version and each model's figures against the serving
    version's."""
    if not gate or gate.get("status") == "off":
        out.print("quality gate: off")
        return
    colour = "red" if gate["status"] == "rejected" else "green"
    out.print(f"quality gate: [{colour}]{gate['status']}[/] ({gate['reason']})")
    name = str(gate["metric"]).split("@")[0]
    models = gate.get("models") or {}
    if not any(models.values()):
        return
    table = Table(box=box.SIMPLE, pad_edge=False, collapse_padding=True)
    for column in ("model", f"new {gate['metric']}", f"serving {gate['serving'] or ''}".strip()):
        table.add_column(column, justify="right")
    for model, sides in models.items():
        if "candidate" in sides:
            serving = f"{sides['serving'][name]:.4f}" if "serving" in sides else "—"
            table.add_row(model, f"{sides['candidate'][name]:.4f}", serving)
    out.print(table)


def print_selection(out: Console, selection: dict[str, Any] | None) -> None:
    """The models tuning chose for the personal row, each candidate's validation figure and
    its tuned options."""
    if not selection:
        return
    out.print(
        f"personal row: [bold]{', '.join(selection['personal'])}[/] (chosen on {selection['split']}, "
        f"{selection['users']:,} users, {selection['metric']})"
    )
    table = Table(box=box.SIMPLE, pad_edge=False, collapse_padding=True)
    for column in ("model", f"valid {selection['metric']}", "trials", "options"):
        table.add_column(column, justify="right" if column != "options" else "left")
    ranked = sorted(selection["validation"].items(), key=lambda pair: -pair[1])
    for model, value in ranked:
        options = ", ".join(
            f"{key}={_short(option)}" for key, option in selection["params"].get(model, {}).items()
        )
        table.add_row(model, f"{value:.4f}", str(selection["trials"].get(model, 1)), options or "defaults")
    out.print(table)
    if compared := selection.get("values_validation"):
        figures = ", ".join(f"{rule} {value:.4f}" for rule, value in compared.items())
        out.print(
            f"event values: [bold]{selection['event_values']}[/] (mean of the models' defaults: {figures})"
        )


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


@versions_app.command("pin")
def pin(ctx: typer.Context, version: Annotated[str, typer.Argument(help="The version to serve.")]) -> None:
    """Serve VERSION everywhere until unpinned; pruning keeps it."""
    control.pin(_models_dir(ctx), version)
    console.print(f"pinned {version}: services serve it within their poll interval")


@versions_app.command("unpin")
def unpin(ctx: typer.Context) -> None:
    """Serve the newest version again."""
    was = control.unpin(_models_dir(ctx))
    console.print(f"unpinned {was}: the newest version serves" if was else "nothing was pinned")


@versions_app.command("rollback")
def rollback(ctx: typer.Context) -> None:
    """Pin the intact version before the one served now (`unpin` goes forward again)."""
    version = control.rollback(_models_dir(ctx))
    console.print(f"rolled back: pinned {version}; `homefeed versions unpin` serves the newest again")


@versions_app.command("promote")
def promote(
    ctx: typer.Context, version: Annotated[str, typer.Argument(help="A version the gate rejected.")]
) -> None:
    """Overrule the quality gate: VERSION may serve (it does when it is the newest servable)."""
    control.promote(_models_dir(ctx), version)
    console.print(f"promoted {version}: services serve the newest servable version within their poll")


@versions_app.command("delete")
def delete(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="The version to delete.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete VERSION's files (not the pinned one)."""
    if not yes:
        typer.confirm(f"delete model version {version}?", abort=True)
    control.delete(_models_dir(ctx), version)
    console.print(f"deleted {version}")


@versions_app.command("runs")
def training_runs(
    ctx: typer.Context, limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 20
) -> None:
    """The latest training runs: start (UTC), trigger, result, seconds, events, version (the
    data window of each: GET /v1/admin/training-runs)."""
    settings = settings_of(ctx)
    store = open_store(settings)
    table = Table(title="training runs", box=box.SIMPLE, pad_edge=False, collapse_padding=True)
    for column in ("started", "trigger", "status", "s", "events", "version"):
        table.add_column(column, no_wrap=True)
    found = runs.recent(store.engine, limit)
    for run in found:
        table.add_row(
            _when(run.started_at),
            run.trigger,
            run.status,
            f"{run.seconds:,.0f}" if run.seconds is not None else "",
            f"{run.events:,}" if run.events is not None else "",
            run.version or "",
        )
    console.print(table if found else "no training run yet")
    for run in found:
        if run.error:
            console.print(f"[red]{_when(run.started_at)} {run.status}:[/] {run.error}")


def _when(seconds: float | None) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%m-%d %H:%M") if seconds is not None else ""
