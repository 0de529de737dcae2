"""Evaluation output: metrics.json, report.md and PNG plots, plus a Rich table for the terminal."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from rich.table import Table

from homefeed import __version__
from homefeed.evaluation.runner import EvaluationReport, SplitReport

HEADLINE = ("hr", "recall", "ndcg", "mrr", "map", "precision")
BEYOND = ("coverage", "novelty", "diversity", "popularity", "gini_items", "gini_categories")


def to_json(report: EvaluationReport) -> dict[str, Any]:
    return {
        "protocol": report.protocol,
        "dataset": report.dataset,
        "ks": report.ks,
        "seeds": report.seeds,
        "from_history": report.from_history,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "homefeed": __version__,
        "python": platform.python_version(),
        "tuning": {
            name: {
                "best": t.best,
                "best_valid_ndcg@10": t.best_score,
                "trials": [{"params": p, "valid_ndcg@10": s} for p, s in t.trials],
            }
            for name, t in report.tuning.items()
        },
        "splits": [
            {
                "split": s.split,
                "users": s.n_users,
                "notes": s.notes,
                "models": {name: asdict(r) for name, r in s.results.items()},
                "std_over_seeds": s.spread,
            }
            for s in report.splits
        ],
    }


def rich_table(split: SplitReport, ks: list[int]) -> Table:
    table = Table(title=f"{split.split} · {split.n_users} users")
    table.add_column("model")
    columns = [f"{name}@{k}" for k in ks for name in ("recall", "ndcg")]
    columns += [f"hr@{ks[0]}", f"coverage@{ks[-1]}"]
    for column in columns:
        table.add_column(column, justify="right")
    table.add_column("fit s", justify="right")
    for name, result in split.results.items():
        cells = [f"{result.metrics[c]:.4f}" for c in columns]
        table.add_row(
            name + (" *" if result.notes and "same score" in " ".join(result.notes) else ""),
            *cells,
            f"{result.fit_seconds:.2f}",
        )
    return table


def _markdown_table(split: SplitReport, columns: list[str], with_costs: bool) -> list[str]:
    header = ["model", *columns] + (["fit s", "score s", "peak MiB"] if with_costs else [])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, result in split.results.items():
        cells = [f"{result.metrics[c]:.4f}" for c in columns]
        if with_costs:
            cells += [f"{result.fit_seconds:.2f}", f"{result.score_seconds:.2f}", f"{result.peak_mib:.0f}"]
        lines.append("| " + " | ".join([name, *cells]) + " |")
    return lines


def markdown(report: EvaluationReport, plots: dict[str, list[str]]) -> str:
    ks = report.ks
    lines = [
        f"# Evaluation: {report.protocol} on {report.dataset}",
        "",
        f"homefeed {__version__}, Python {platform.python_version()}, "
        f"{report.seeds} seed(s) for stochastic models"
        + (", users scored from their known history (fold-in)" if report.from_history else "")
        + ". Ties are ordered by ascending item id.",
        "",
    ]
    if report.tuning:
        lines += ["## Tuned on the validation rows (NDCG@10)", ""]
        for name, tuning in report.tuning.items():
            lines.append(
                f"- **{name}**: {tuning.best} "
                f"(valid NDCG@10 {tuning.best_score:.4f}, {len(tuning.trials)} trials)"
            )
        lines.append("")
    for split in report.splits:
        lines += [f"## {split.split} ({split.n_users} users)", ""]
        lines += [f"_{note}_" for note in split.notes] + ([""] if split.notes else [])
        for name, result in split.results.items():
            lines += [f"- {name}: {note}" for note in result.notes]
        lines += ["", "### Accuracy", ""]
        lines += _markdown_table(split, [f"{m}@{k}" for k in ks for m in HEADLINE], with_costs=True)
        lines += ["", "### Beyond accuracy", ""]
        lines += _markdown_table(split, [f"{m}@{k}" for k in ks[-1:] for m in BEYOND], with_costs=False)
        lines += ["", f"### NDCG@{ks[0]} by user group", ""]
        lines += _group_table(split, f"ndcg@{ks[0]}")
        lines.append("")
        for image in plots.get(split.split, []):
            lines += [f"![{image}]({image})", ""]
    return "\n".join(lines) + "\n"


def _group_table(split: SplitReport, metric: str) -> list[str]:
    lines = [
        "| group | value | users | " + " | ".join(split.results) + " |",
        "|" + "---|" * (3 + len(split.results)),
    ]
    first = next(iter(split.results.values()))
    for group, values in first.groups.items():
        for label, stats in values.items():
            cells = [f"{r.groups[group][label][metric]:.4f}" for r in split.results.values()]
            lines.append(f"| {group} | {label} | {stats['users']:.0f} | " + " | ".join(cells) + " |")
    return lines


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name).strip("-")


def plot_split(split: SplitReport, ks: list[int], out: Path) -> list[str]:
    """Three figures per split: metric vs K, per-group bars, popularity of recommendations."""
    names: list[str] = []
    slug = _slug(split.split)
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for model, result in split.results.items():
        cutoffs = range(1, len(result.curves["ndcg"]) + 1)
        axes[0].plot(cutoffs, result.curves["ndcg"], label=model)
        axes[1].plot(cutoffs, result.curves["recall"], label=model)
    for axis, title in zip(axes, ("NDCG@K", "Recall@K"), strict=True):
        axis.set_title(f"{title} · {split.split}")
        axis.set_xlabel("K")
        axis.grid(alpha=0.3)
    axes[0].legend()
    figure.tight_layout()
    names.append(f"{slug}-metric-vs-k.png")
    figure.savefig(out / names[-1], dpi=110)
    plt.close(figure)

    first = next(iter(split.results.values()))
    metric = f"ndcg@{ks[0]}"
    figure, axes = plt.subplots(1, len(first.groups), figsize=(5 * len(first.groups), 4), squeeze=False)
    width = 0.8 / max(len(split.results), 1)
    for axis, (group, labels) in zip(axes[0], first.groups.items(), strict=True):
        positions = range(len(labels))
        for offset, (model, result) in enumerate(split.results.items()):
            values = [result.groups[group][label][metric] for label in labels]
            axis.bar([p + offset * width for p in positions], values, width, label=model)
        axis.set_xticks(
            [p + width * (len(split.results) - 1) / 2 for p in positions], list(labels), rotation=30
        )
        axis.set_title(f"{metric} by {group}")
    axes[0][0].legend(fontsize=8)
    figure.tight_layout()
    names.append(f"{slug}-groups.png")
    figure.savefig(out / names[-1], dpi=110)
    plt.close(figure)

    figure, axis = plt.subplots(figsize=(7, 4))
    deciles = range(10)
    axis.plot(deciles, [0.1] * 10, "k--", label="catalog (uniform)")
    for model, result in split.results.items():
        axis.plot(deciles, result.popularity_deciles, marker="o", label=model)
    axis.set_xlabel("item popularity decile (0 = least popular)")
    axis.set_ylabel(f"share of top-{ks[-1]} recommendations")
    axis.set_title(f"Popularity of recommendations · {split.split}")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    names.append(f"{slug}-popularity.png")
    figure.savefig(out / names[-1], dpi=110)
    plt.close(figure)
    return names


def write_report(report: EvaluationReport, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    plots = {split.split: plot_split(split, report.ks, out) for split in report.splits}
    (out / "metrics.json").write_text(json.dumps(to_json(report), indent=2), encoding="utf-8")
    (out / "report.md").write_text(markdown(report, plots), encoding="utf-8")
