"""The ``homefeed`` command: init, import, datasets, train, serve, recommend, users, demo."""

from __future__ import annotations

import copy
import os
import shutil
import signal
import sys
from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from homefeed.cli.common import ItemDetailsOption, open_store, settings_of
from homefeed.cli.evaluate import evaluate_command
from homefeed.cli.experiments import experiments_app
from homefeed.cli.experiments import report as experiment_report
from homefeed.cli.keys import keys_app
from homefeed.cli.online import fairness, online_metrics
from homefeed.cli.ranks import launch_ranks, training_ranks
from homefeed.cli.simulate import simulate_command
from homefeed.cli.versions import print_gate, print_selection, versions_app
from homefeed.config import SETTINGS_FILE, Settings, load_settings, write_setting
from homefeed.errors import HomefeedError
from homefeed.presets import PRESETS
from homefeed.progress import progress as progress_display
from homefeed.threads import limit_threads

if TYPE_CHECKING:
    from homefeed.datasets.records import Record

console = Console()
err_console = Console(stderr=True)
# what `homefeed demo` trains: every model the homepage reads, the ranker over them last
DEMO_MODELS = "popularity,profile,als,sequential,ranker"
app = typer.Typer(
    help="homefeed: personalized homepages from behaviour data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
import_app = typer.Typer(
    help="Import items, users and events (every row checked before any is written).", no_args_is_help=True
)
datasets_app = typer.Typer(help="Generate or download data sets.", no_args_is_help=True)
users_app = typer.Typer(help="One person's data: export it, or delete it.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(datasets_app, name="datasets")
app.add_typer(users_app, name="users")
app.add_typer(versions_app, name="versions")
app.add_typer(experiments_app, name="experiments")
app.add_typer(keys_app, name="keys")
app.command("experiment-report", help="The same as `homefeed experiments report`.")(experiment_report)
app.command("online-metrics")(online_metrics)
app.command("fairness")(fairness)
app.command("simulate")(simulate_command)
app.command("evaluate")(evaluate_command)


@app.callback()
def configure(
    ctx: typer.Context,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory [env: HOMEFEED_DATA_DIR].")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="Database URL [env: HOMEFEED_DATABASE_URL].")
    ] = None,
) -> None:
    """Settings come from HOMEFEED_* variables, over DATA_DIR/homefeed.env (`init --preset`
    writes it); these options override both."""
    if not err_console.is_terminal:  # a log: the libraries' own progress bars would be control codes
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TQDM_DISABLE", "1")
    overrides: dict[str, object] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if database_url is not None:
        overrides["database_url"] = database_url
    ctx.obj = load_settings(**overrides)


@app.command()
def init(
    ctx: typer.Context,
    preset: Annotated[
        str | None,
        typer.Option(
            help=f"Set the data directory up for a kind of site: {', '.join(PRESETS)} (written to "
            f"DATA_DIR/{SETTINGS_FILE}; see docs/presets.md).",
        ),
    ] = None,
) -> None:
    """Create the data directory and bring the database schema up to date."""
    settings = settings_of(ctx)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if preset is not None:
        if preset not in PRESETS:
            raise typer.BadParameter(f"unknown preset {preset!r}; expected one of {sorted(PRESETS)}")
        write_setting(settings.data_dir / SETTINGS_FILE, "HOMEFEED_PRESET", preset)
        settings = load_settings(data_dir=settings.data_dir, database_url=settings.database_url)
        ctx.obj = settings
        console.print(f"[green]preset[/] {preset}: {PRESETS[preset].summary}")
    store = open_store(settings)
    console.print(f"[green]ready[/]: database {settings.effective_database_url} · {store.counts()}")


@app.command("settings")
def show_settings(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the Markdown table of docs/configuration.md.")
    ] = False,
) -> None:
    """Every setting: its environment variable, default and meaning."""
    from homefeed.config import settings_reference

    if markdown:
        typer.echo(configuration_markdown(), nl=False)
        return
    table = Table(title="HOMEFEED_* settings (nested sections use __)")
    for column in ("variable", "default", "meaning"):
        table.add_column(column, overflow="fold")
    for variable, default, meaning in settings_reference():
        table.add_row(variable, default, meaning)
    console.print(table)


def configuration_markdown() -> str:
    """docs/configuration.md, generated from the settings' field descriptions."""
    from homefeed.config import settings_reference

    lines = [
        "# Configuration",
        "",
        "Settings come from `HOMEFEED_*` environment variables, validated at start-up (nested ones use",
        "`__`, e.g. `HOMEFEED_ALS__FACTORS=128`; lists and objects are JSON). The command line's",
        "`--data-dir` and `--database-url` override the first two. This file is generated from the",
        "settings' own descriptions by `homefeed settings --markdown > docs/configuration.md`, and a",
        "test keeps it in step with them.",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    for variable, default, meaning in settings_reference():
        shown, said = default.replace("|", "\\|"), meaning.replace("|", "\\|")
        lines.append(f"| `{variable}` | `{shown}` | {said} |")
    return "\n".join(lines) + "\n"


# -- import ---------------------------------------------------------------
MapOption = Annotated[
    list[str] | None,
    typer.Option("--map", help="Rename a column: FIELD=COLUMN, e.g. --map title=movie_title (repeatable)."),
]


def _run_import(
    settings: Settings,
    items: Iterable[Record] = (),
    users: Iterable[Record] = (),
    events: Iterable[Record] = (),
) -> None:
    from homefeed.datasets.importer import Importer

    store = open_store(settings)
    with progress_display(
        err_console,
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.fields[count]:,} rows"),
        TimeElapsedColumn(),
    ) as progress:
        task = progress.add_task("importing", count=0)

        def report(kind: str, count: int) -> None:
            progress.update(task, description=f"importing {kind}", count=count)

        importer = Importer(
            store,
            settings.event_weights,
            on_progress=report,
            window=settings.event_window(imported=True),
            staging_dir=settings.data_dir / "imports",
        )
        summary = importer.run(items, users, events)
    console.print(
        f"[green]imported[/] {summary.items:,} items, {summary.users:,} users, {summary.events:,} events"
        + (f" ({summary.duplicate_events:,} already stored)" if summary.duplicate_events else "")
    )


def _records(path: Path, mapping: list[str] | None) -> Iterator[Record]:
    from homefeed.datasets.records import parse_mapping, read_records

    if not path.is_file():
        raise HomefeedError(f"{path}: no such file")
    return read_records(path, parse_mapping(mapping))


@import_app.command("items")
def import_items(ctx: typer.Context, path: Path, map_: MapOption = None) -> None:
    """Items (CSV/TSV/JSONL): id, title, text, category, tags, attributes, creator, published_at, active"""
    _run_import(settings_of(ctx), items=_records(path, map_))


@import_app.command("users")
def import_users(ctx: typer.Context, path: Path, map_: MapOption = None) -> None:
    """Users from CSV/TSV/JSONL: id, age, gender, occupation, location, interests, attributes."""
    _run_import(settings_of(ctx), users=_records(path, map_))


@import_app.command("events")
def import_events(ctx: typer.Context, path: Path, map_: MapOption = None) -> None:
    """Events from CSV/TSV/JSONL: event_id, user_id, item_id, type, value, timestamp, context."""
    _run_import(settings_of(ctx), events=_records(path, map_))


@import_app.command("dataset")
def import_dataset(
    ctx: typer.Context, folder: Path, map_: MapOption = None, item_details: ItemDetailsOption = None
) -> None:
    """A whole folder: atomic files (*.inter, *.item, *.user), MovieLens (100K, 1M, latest)
    or items/users/events files."""
    from homefeed.datasets.folders import folder_records
    from homefeed.datasets.records import parse_mapping

    records = folder_records(folder, parse_mapping(map_), item_details)
    console.print(f"recognised layout: [bold]{records.layout}[/]")
    _run_import(settings_of(ctx), records.items, records.users, records.events)


# -- datasets -------------------------------------------------------------
@datasets_app.command("synth")
def synth(
    out: Annotated[
        Path, typer.Option(help="Folder to write items/users/events JSONL and ground truth into.")
    ] = Path("homefeed-data/synth"),
    users: Annotated[int, typer.Option(min=1, help="Number of users.")] = 500,
    items: Annotated[int, typer.Option(min=10, help="Number of items.")] = 400,
    days: Annotated[int, typer.Option(min=1, help="Days of behaviour.")] = 30,
    topics: Annotated[int, typer.Option(min=2, max=12, help="Number of topics.")] = 8,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    ordered: Annotated[
        bool,
        typer.Option(help="Events in time order; --no-ordered: an export, all at one moment, rows shuffled."),
    ] = True,
    popularity_skew: Annotated[
        float, typer.Option(min=0.0, help="Spread of item appeal (lognormal sigma): higher, a heavier head.")
    ] = 0.6,
    activity_spread: Annotated[
        float,
        typer.Option(
            min=0.0, help="Spread of user activity (lognormal sigma): longer and shorter histories."
        ),
    ] = 0.5,
    taste_drift: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Share of taste following a focus topic of the moment (order matters)."
        ),
    ] = 0.0,
    play_counts: Annotated[
        bool,
        typer.Option(help="Give liking events a play count (value) that grows with the user's taste."),
    ] = False,
    pictures: Annotated[
        bool, typer.Option(help="Draw each item a picture (SVG in OUT/media, its topic's colour and motif).")
    ] = False,
    domain: Annotated[
        str | None,
        typer.Option(
            help="Dress the log as a kind of site, for its preset: ecommerce (prices, stock, purchases), "
            "news (breaking stories, reads), video (series, watch shares), education (prerequisites, "
            "enrolments, completions)."
        ),
    ] = None,
    rounds: Annotated[
        bool | None,
        typer.Option(
            "--rounds/--per-event",
            help="Draw each day's events in vectorised rounds (10M events in minutes) or one at a "
            "time; by default rounds once the log is expected to pass 200,000 events.",
        ),
    ] = None,
) -> None:
    """Generate a readable synthetic catalog, users with hidden tastes, and their events."""
    from homefeed.datasets.synth import SynthConfig, generate

    with progress_display(
        err_console,
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("day {task.completed}/{task.total}"),
    ) as progress:
        task = progress.add_task("simulating", total=days)
        summary = generate(
            SynthConfig(
                users=users,
                items=items,
                days=days,
                topics=topics,
                seed=seed,
                ordered=ordered,
                popularity_skew=popularity_skew,
                activity_spread=activity_spread,
                taste_drift=taste_drift,
                play_counts=play_counts,
                pictures=pictures,
                domain=domain,
                rounds=rounds,
            ),
            out,
            on_progress=lambda done, _total: progress.update(task, completed=done),
        )
    console.print(
        f"[green]wrote[/] {summary.items} items, {summary.users} users, {summary.events} events to {out}"
    )


@datasets_app.command("download")
def download(
    name: Annotated[str, typer.Argument(help="movielens-100k, movielens-1m or movielens-latest-small.")],
    dest: Annotated[Path, typer.Option(help="Folder to unpack into.")] = Path("homefeed-data/datasets"),
    base_url: Annotated[
        str | None, typer.Option(help="Mirror to download from instead of GroupLens.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Download again even when present.")] = False,
) -> None:
    """Download a MovieLens data set from GroupLens (needs network access)."""
    from homefeed.datasets.download import GROUPLENS, download_dataset

    with progress_display(
        err_console, TextColumn("{task.description}"), BarColumn(), DownloadColumn()
    ) as progress:
        task = progress.add_task(f"downloading {name}", total=None)
        folder = download_dataset(
            name,
            dest,
            base_url or GROUPLENS,
            force,
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    console.print(f"[green]ready[/]: {folder} — import it with `homefeed import dataset {folder}`")


# -- train / serve / recommend ----------------------------------------------
@app.command()
def train(
    ctx: typer.Context,
    models: Annotated[
        str,
        typer.Option(
            "--models",
            "--model",
            help="Comma-separated: popularity, profile, covisitation, als, sequential, ranker, ...",
        ),
    ] = "popularity,profile,covisitation,als",
    keep: Annotated[int, typer.Option(min=1, help="Model versions to keep on disk.")] = 5,
    scheduled: Annotated[
        bool,
        typer.Option(
            "--scheduled",
            help="Only when the schedule wants a run (HOMEFEED_RETRAINING__EVERY_HOURS) and no other "
            "run holds the lock; otherwise exit quietly (the service's workers start it so).",
        ),
    ] = False,
    gate: Annotated[
        bool | None,
        typer.Option(
            "--gate/--no-gate",
            help="Hold out the newest events and judge the version on them against the serving "
            "one before it serves [default: HOMEFEED_GATE__ENABLED, on].",
        ),
    ] = None,
    tune: Annotated[
        bool,
        typer.Option(
            "--tune",
            help="First choose and tune the models on a validation split of the events (each user's "
            "latest three liked items held out, drawn at random when the log has no order): the best "
            "lead the personal row and feed the ranker; the page's trades and how event values (play counts, "
            "durations) weigh are chosen too. The choices are kept for later runs without --tune.",
        ),
    ] = False,
    budget: Annotated[float, typer.Option(min=0.1, help="Minutes the tuning may take (with --tune).")] = 10.0,
    trials: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Optuna trials per model (with --tune) instead of spending the budget: the same "
            "choices on any machine (HOMEFEED_TUNE_TRIALS).",
        ),
    ] = None,
    nproc: Annotated[
        int,
        typer.Option(
            min=1,
            help="Processes that train the Transformer together (torch.distributed, gloo), started "
            "through torchrun; under torchrun (several machines too) its own ranks are used.",
        ),
    ] = 1,
) -> None:
    """Train the models on the stored events and save them as a new version, judged by the
    quality gate before it serves (one run at a time: another run holding the training lock is
    an error; each run is recorded). The last choices of --tune apply when there are any."""
    if nproc > 1 and int(os.environ.get("WORLD_SIZE", "1")) == 1:
        raise typer.Exit(launch_ranks(nproc, sys.argv[1:]))
    with training_ranks() as leads:
        if leads:  # rank 0 (or one process) does the run; another rank only follows its Transformer fits
            _train(ctx, models, keep, scheduled, gate, tune, budget, trials)


def _train(
    ctx: typer.Context,
    models: str,
    keep: int,
    scheduled: bool,
    gate: bool | None,
    tune: bool,
    budget: float,
    trials: int | None,
) -> None:
    from homefeed.homepage.evaluation import tune_page
    from homefeed.training.schedule import run_training

    settings = settings_of(ctx)
    if trials is not None:
        settings = settings.model_copy(update={"tune_trials": trials})
    limit_threads(settings.threads)
    store = open_store(settings)
    names = [name.strip() for name in models.split(",") if name.strip()]
    with progress_display(
        err_console, SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn()
    ) as progress:
        task = progress.add_task("training", total=None)
        bundle = run_training(
            store,
            settings,
            names,
            keep,
            scheduled,
            on_step=lambda step: progress.update(task, description=step),
            gated=gate,
            tune_seconds=budget * 60 if tune else None,
            page_tuner=partial(tune_page, store, settings) if tune else None,
        )
    if bundle is None:
        console.print("no run: not due, or another run holds the training lock")
        return
    table = Table(title=f"model version {bundle.version}")
    for column in ("model", "fit seconds"):
        table.add_column(column)
    for name, seconds in bundle.manifest["fit_seconds"].items():
        table.add_row(name, f"{seconds:.2f}")
    console.print(table)
    m = bundle.manifest
    console.print(f"{m['users']:,} users · {m['items']:,} items · {m['events']:,} events → {bundle.path}")
    print_gate(console, m.get("gate", {}))
    print_selection(console, m.get("selection"))


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Bind address [env: HOMEFEED_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [env: HOMEFEED_PORT].")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes [env: HOMEFEED_WORKERS].")
    ] = None,
) -> None:
    """Serve the HTTP API and the web page. SIGHUP (one worker) or polling reloads the newest model."""
    settings = settings_of(ctx)
    update = {k: v for k, v in (("host", host), ("port", port), ("workers", workers)) if v is not None}
    _serve(settings.model_copy(update=update) if update else settings)


def _serve(settings: Settings) -> None:
    """Run the service; "serving on" is logged by each worker once its start-up succeeded."""
    import uvicorn

    from homefeed.service import create_app

    console.print(f"starting homefeed on http://{settings.host}:{settings.port}/ …")
    log_config = _log_config()
    if settings.workers > 1:  # each worker process builds its own app from the environment
        os.environ["HOMEFEED_DATA_DIR"] = str(settings.data_dir.resolve())
        os.environ["HOMEFEED_DATABASE_URL"] = settings.effective_database_url
        os.environ["HOMEFEED_HOST"] = settings.host  # so a worker bound off loopback warns if open
        os.environ["HOMEFEED_PORT"] = str(settings.port)  # so it names the port it serves on
        # the workers' metrics, gathered by whichever worker answers /metrics (emptied each start)
        metrics_dir = settings.data_dir.resolve() / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        uvicorn.run(
            "homefeed.service.app:app_from_env",
            factory=True,
            workers=settings.workers,
            host=settings.host,
            port=settings.port,
            log_level="info",
            log_config=log_config,
            access_log=False,
        )
        return
    application = create_app(settings)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, lambda *_: application.state.runtime.reload_model())
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_level="info",
        log_config=log_config,
        access_log=False,
    )


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, with homefeed's own records (start-up, model versions, degradations)
    in the same format and stream."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["homefeed"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


@app.command()
def recommend(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="User id.")],
    n: Annotated[int, typer.Option(min=1, max=500, help="How many items.")] = 10,
) -> None:
    """Print a user's homepage, as the service would build it (same runtime: newest model,
    text index, every declared source); nothing is logged as shown."""
    from homefeed.service.runtime import Runtime

    quiet = {"log_impressions": False, "model_poll_seconds": 0.0, "catalog_poll_seconds": 0.0}
    runtime = Runtime.start(settings_of(ctx).model_copy(update=quiet))
    try:
        page = runtime.homepages.build(user, n)
    finally:
        runtime.close()
    table = Table(title=f"homepage of {user} · model {page.model_version}")
    for column in ("#", "item", "title", "category", "source", "score", "why"):
        table.add_column(column)
    for rank, item in enumerate(page.items, start=1):
        table.add_row(
            str(rank),
            item.item_id,
            item.title,
            item.category or "",
            item.source,
            f"{item.score:.3f}",
            item.reason,
        )
    console.print(table)
    if page.degraded:
        console.print(f"[yellow]degraded:[/] {'; '.join(page.reasons)}")


# -- users ----------------------------------------------------------------
@users_app.command("export")
def export_user(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="User id.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the JSON here instead of stdout.")
    ] = None,
) -> None:
    """Everything held about a user, as JSON: profile, events, impressions and what each kept
    model version learned of them."""
    from homefeed.training.forgetting import held_in_versions

    settings = settings_of(ctx)
    data = open_store(settings).user_data(user)
    if data is None:
        err_console.print(f"[red]error:[/] user {user!r} not found")
        raise typer.Exit(1)
    data.models = held_in_versions(settings.effective_models_dir, user)
    text = data.model_dump_json(indent=2)
    if output is None:
        sys.stdout.write(text + "\n")
        return
    output.write_text(text + "\n", encoding="utf-8")
    err_console.print(f"wrote {len(data.events)} events and {len(data.impressions)} impressions to {output}")


@users_app.command("delete")
def delete_user(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="User id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a user with every event and impression of theirs, and forget them in every kept
    model version (the right to be forgotten); running services drop their caches of the user
    at their next look at the store."""
    if not yes:
        typer.confirm(f"delete user {user!r} and all their events and impressions?", abort=True)
    from homefeed.training.forgetting import delete_and_forget

    settings = settings_of(ctx)
    store = open_store(settings)
    if not delete_and_forget(settings.effective_models_dir, lambda: store.delete_user(user), users=[user]):
        err_console.print(f"[red]error:[/] user {user!r} not found")
        raise typer.Exit(1)
    if settings.redis_url:  # the pages their scrolls showed, kept for every worker
        import redis

        from homefeed.live.scrolls import SCROLL_SECONDS, SharedPages

        try:
            SharedPages(settings.redis_url, settings.effective_database_url).forget_user(user)
        except redis.RedisError as error:
            err_console.print(
                f"[yellow]warning:[/] Redis did not answer ({error}): the pages their scrolls showed "
                f"are kept there until they expire ({SCROLL_SECONDS // 3600} h)"
            )
    console.print(f"deleted user {user!r} with their events and impressions, and from every model version")


@app.command()
def demo(
    ctx: typer.Context,
    data: Annotated[
        Path | None, typer.Option(help="A data folder (e.g. MovieLens) instead of synthetic data.")
    ] = None,
    users: Annotated[int, typer.Option(help="Synthetic users.")] = 600,
    items: Annotated[int, typer.Option(help="Synthetic items.")] = 500,
    serve_page: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the server at the end.")
    ] = True,
    preset: Annotated[
        str | None,
        typer.Option(
            help=f"A kind of site ({', '.join(PRESETS)}): its preset, and synthetic data of its kind."
        ),
    ] = None,
) -> None:
    """Load demo data (synthetic unless --data), train, and serve the homepage and its web page."""
    if preset is not None:
        ctx.invoke(init, ctx=ctx, preset=preset)
    settings = settings_of(ctx)
    store = open_store(settings)
    if store.counts()["events"] == 0:
        if data is None:
            data = settings.data_dir / (f"synth-{preset}" if preset else "synth")
            if not (data / "events.jsonl").exists():
                ctx.invoke(
                    synth,
                    out=data,
                    users=users,
                    items=items,
                    days=30,
                    topics=8,
                    seed=0,
                    pictures=True,
                    domain=preset,
                )
        ctx.invoke(import_dataset, ctx=ctx, folder=data)
        pictures = settings.effective_media_dir or settings.data_dir / "media"
        if (data / "media").is_dir() and (data / "media").resolve() != pictures.resolve():
            shutil.copytree(data / "media", pictures, dirs_exist_ok=True)  # served under /media/
    else:
        console.print(f"store already holds data: {store.counts()}")
    ctx.invoke(train, ctx=ctx, models=DEMO_MODELS, keep=5)
    sample = store.logs.sample_user_ids(1)
    if sample:
        console.print(f"try: curl http://{settings.host}:{settings.port}/v1/users/{sample[0]}/homepage?n=5")
    if serve_page:
        _serve(settings)


def main() -> None:
    """Entry point: user errors print one clear line and exit 2, without a traceback."""
    try:
        app()
    except HomefeedError as error:
        err_console.print(f"[bold red]error:[/] {error}")
        sys.exit(2)
