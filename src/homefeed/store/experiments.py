"""A/B experiments as stored (table ``experiments``): started and stopped while the service
runs, several at once, each user's first exposure and arm (table ``experiment_exposures``),
and the per-user outcomes an experiment report is computed from."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from homefeed.store.dialect import insert
from homefeed.store.schema import count_followed, experiment_exposures, experiments, impressions


@dataclass(frozen=True)
class StoredExperiment:
    name: str
    arms: dict[str, Any]  # arm -> {"weight", "homepage", "model_version"}, in report order
    origin: str  # api or settings
    status: str  # running or stopped
    started_at: float
    stopped_at: float | None


def add(engine: sa.Engine, name: str, arms: dict[str, Any], origin: str) -> bool:
    """Record a running experiment; False when the name is taken (running or stopped: a name
    is used once, so a user's arm never changes under it)."""
    row = {"name": name, "arms": arms, "origin": origin, "status": "running", "started_at": time.time()}
    with engine.begin() as connection:
        added = connection.execute(
            insert(connection, experiments).on_conflict_do_nothing(index_elements=["name"]), [row]
        )
        return bool(added.rowcount)


def stop(engine: sa.Engine, name: str) -> bool:
    """Stop a running experiment; False when none by that name runs."""
    with engine.begin() as connection:
        stopped = connection.execute(
            sa.update(experiments)
            .where(experiments.c.name == name, experiments.c.status == "running")
            .values(status="stopped", stopped_at=time.time())
        )
        return bool(stopped.rowcount)


def every(engine: sa.Engine, status: str | None = None) -> list[StoredExperiment]:
    """Experiments, oldest first (only those with ``status`` when given)."""
    query = sa.select(experiments).order_by(experiments.c.started_at, experiments.c.name)
    if status is not None:
        query = query.where(experiments.c.status == status)
    with engine.connect() as connection:
        return [StoredExperiment(**row) for row in connection.execute(query).mappings()]


def get(engine: sa.Engine, name: str) -> StoredExperiment | None:
    with engine.connect() as connection:
        row = connection.execute(sa.select(experiments).where(experiments.c.name == name)).mappings().first()
    return StoredExperiment(**row) if row is not None else None


def record_exposures(connection: sa.Connection, rows: Iterable[tuple[str, str, str, float]]) -> None:
    """Remember (experiment, user, arm, time) of users' first pages in experiments; a user
    already exposed keeps their first record."""
    first: dict[tuple[str, str], dict[str, Any]] = {}
    for experiment, user_id, arm, seen in rows:
        key = (experiment, user_id)
        if key not in first or seen < first[key]["first_seen"]:
            first[key] = {"experiment": experiment, "user_id": user_id, "arm": arm, "first_seen": seen}
    if first:
        statement = insert(connection, experiment_exposures).on_conflict_do_nothing(
            index_elements=["experiment", "user_id"]
        )
        connection.execute(statement, [first[key] for key in sorted(first)])  # sorted: lock order


def user_outcomes(
    engine: sa.Engine,
    experiment: StoredExperiment,
    click_types: Collection[str],
    conversion_types: Collection[str],
    window_seconds: float,
) -> list[tuple[str, str, int, int, int]]:
    """Per exposed user: (arm, user, impressions, clicked, converted) of the impressions from
    their first exposure until the experiment stopped. An impression counts as clicked
    (converted) when the user had an event of those types on the item within the window."""

    exposed = experiment_exposures
    query = (
        sa.select(
            exposed.c.arm,
            impressions.c.user_id,
            sa.func.count(),
            count_followed(click_types, window_seconds),
            count_followed(conversion_types, window_seconds),
        )
        .select_from(
            impressions.join(
                exposed,
                sa.and_(exposed.c.user_id == impressions.c.user_id, exposed.c.experiment == experiment.name),
            )
        )
        .where(impressions.c.ts >= exposed.c.first_seen)
        .group_by(exposed.c.arm, impressions.c.user_id)
    )
    if experiment.stopped_at is not None:
        query = query.where(impressions.c.ts <= experiment.stopped_at)
    with engine.connect() as connection:
        return [
            (str(arm), str(user), int(shown), int(clicked or 0), int(converted or 0))
            for arm, user, shown, clicked, converted in connection.execute(query)
        ]


def exposed_users(engine: sa.Engine, names: Sequence[str]) -> dict[str, int]:
    """How many users each experiment has exposed so far."""
    query = (
        sa.select(experiment_exposures.c.experiment, sa.func.count())
        .where(experiment_exposures.c.experiment.in_(list(names)))
        .group_by(experiment_exposures.c.experiment)
    )
    with engine.connect() as connection:
        return {str(name): int(count) for name, count in connection.execute(query)}
