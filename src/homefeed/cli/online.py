"""``homefeed online-metrics``: CTR and CVR from the logs, per section, source, position, model
version, day or arm."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from homefeed.cli.common import open_store, settings_of
from homefeed.feedback import online

console = Console()


def online_metrics(
    ctx: typer.Context,
    by: Annotated[str, typer.Option(help=f"One of {', '.join(online.DIMENSIONS)}.")] = "section",
    days: Annotated[float, typer.Option(min=0.001, help="Impressions of the last this many days.")] = 7.0,
    window_hours: Annotated[
        float | None, typer.Option(help="Attribution window [default: HOMEFEED_ATTRIBUTION_HOURS].")
    ] = None,
) -> None:
    """CTR and CVR of what homepages showed, from the impression and event logs: overall and per
    section, source, position, model version, day or arm."""
    settings = settings_of(ctx)
    if by not in online.DIMENSIONS:
        raise typer.BadParameter(f"expected one of {', '.join(online.DIMENSIONS)}", param_hint="--by")
    store = open_store(settings)
    report = online.online_report(store, settings, by, time.time() - days * 86_400, window_hours)
    table = Table(
        title=f"online metrics by {by}, last {days:g} days, window {report.window_hours:g} h",
        caption=f"clicks: {', '.join(report.click_types)}; conversions: {', '.join(report.conversion_types)}",
    )
    for column in (by, "users", "impressions", "clicked", "CTR", "converted", "CVR"):
        table.add_column(column, justify="left" if column == by else "right")
    for row in [*report.rows, report.total]:
        table.add_row(
            row.key,
            f"{row.users:,}",
            f"{row.impressions:,}",
            f"{row.clicked:,}",
            f"{row.ctr:.2%}",
            f"{row.converted:,}",
            f"{row.cvr:.2%}",
            end_section=row is report.rows[-1] if report.rows else False,
        )
    console.print(table)


def fairness(
    ctx: typer.Context,
    by: Annotated[str, typer.Option(help="category or creator.")] = "category",
    days: Annotated[float, typer.Option(min=0.001, help="Impressions of the last this many days.")] = 7.0,
) -> None:
    """Fair exposure: per category or creator, its share of the active catalog against its share
    of what homepages showed (ratio 1: in proportion; far below 1: starved)."""
    from homefeed.feedback.fairness import FIELDS, fairness_report

    if by not in FIELDS:
        raise typer.BadParameter(f"expected one of {', '.join(FIELDS)}", param_hint="--by")
    settings = settings_of(ctx)
    report = fairness_report(open_store(settings), by, time.time() - days * 86_400)
    table = Table(
        title=f"exposure by {by}, last {days:g} days: {report.impressions:,} impressions",
        caption=f"Gini of impressions per item across groups: {report.gini:.3f} (0: each in proportion)",
    )
    for column in (by, "items", "shown", "catalog share", "impressions", "exposure share", "ratio"):
        table.add_column(column, justify="left" if column == by else "right")
    for group in report.groups:
        ratio = f"{group.ratio:.2f}" if group.ratio is not None else "—"
        table.add_row(
            group.group or "(none)",
            f"{group.items:,}",
            f"{group.shown_items:,}",
            f"{group.catalog_share:.1%}",
            f"{group.impressions:,}",
            f"{group.exposure_share:.1%}",
            ratio,
        )
    console.print(table)
