"""The quality gate: a new version serves only when it ranks the newest events, which it was not
trained on, about as well as the version serving now ranks the same rows.

Training holds out the newest ``holdout_share`` of events (a time cut: the temporal protocol);
a log without order (a bulk export at one moment) has no newest events, and liked items per
user are drawn and held out instead (:func:`review_drawn`, the validation of ``--tune``).
Each test user is known by their history before the cut and is asked for their next items: the
positive events after the cut on items they had not had before. Both versions score every user
from that history, as the page does, and each model the two versions share is compared on the
configured metric. A version worse by more than the margin on any of them, beyond chance (a
paired one-sided bound over users), is kept, marked rejected (see ``versions.reject``), and not
served.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import norm

from homefeed.config import GateSettings
from homefeed.domain import UserProfile
from homefeed.events import EventPolicy
from homefeed.models.base import Recommender
from homefeed.models.data import EventRow, Interactions
from homefeed.models.popularity import PopularityRecommender
from homefeed.training.integrity import CorruptVersionError
from homefeed.training.validation import ValidationCase, ValidationSplit, measure
from homefeed.training.versions import ModelBundle, load_bundle, served_version_path


class Holdout:
    """Splits the event stream at ``cut``: rows before it pass on to training, the rest are
    kept (the newest share of the log, so they fit in memory)."""

    def __init__(self, cut: float) -> None:
        self.cut = cut
        self.rows: list[EventRow] = []

    def training_rows(self, rows: Iterable[EventRow]) -> Iterator[EventRow]:
        for row in rows:
            if row[3] < self.cut:
                yield row
            else:
                self.rows.append(row)


@dataclass(frozen=True)
class Verdict:
    """What the gate decided and on what figures; recorded in the version's manifest."""

    status: str  # passed | rejected
    reason: str
    users: int
    cut: float | None
    serving: str | None = None
    metrics: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # model -> side -> metric
    confounded: int = 0  # held-out picks left out: the homepage had shown the item to the user

    @property
    def rejected(self) -> bool:
        return self.status == "rejected"

    def manifest(self, settings: GateSettings) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "metric": f"{settings.metric}@{settings.k}",
            "margin": settings.margin,
            "cut": self.cut,
            "users": self.users,
            "serving": self.serving,
            "models": self.metrics,
            "left_out_shown": self.confounded,
        }


Shown = Callable[[Sequence[str]], set[tuple[str, str]]]  # users -> (user, item) shown on homepages


def test_cases(
    data: Interactions,
    held: Iterable[EventRow],
    events: EventPolicy,
    seen: float,
    limit: int,
    shown: Shown | None = None,
) -> tuple[list[ValidationCase], int]:
    """Users with a history in ``data`` and positive held-out events after ``seen`` on catalog
    items new to them; at most ``limit`` of them, a fixed sample. Items the homepage had shown
    the user (``shown``) are left out of what they are asked to predict: those clicks follow the
    serving version's own choices and would favour it. Returns the cases and how many such
    (user, item) pairs were left out."""
    later: dict[str, set[str]] = {}
    for user_id, item_id, kind, timestamp, *_ in held:
        if timestamp > seen and events.weight(kind) > 0 and data.item_index(item_id) is not None:
            later.setdefault(user_id, set()).add(item_id)
    known = sorted(user for user in later if data.user_index(user) is not None)
    if len(known) > limit:
        chosen = np.random.default_rng(0).choice(len(known), size=limit, replace=False)
        known = [known[i] for i in sorted(chosen)]
    wanted = {index: user for user in known if (index := data.user_index(user)) is not None}
    order = np.lexsort((data.timestamps, data.users))
    cases: dict[str, ValidationCase] = {user: ValidationCase(user, [], [], set()) for user in known}
    for row in order[np.isin(data.users[order], list(wanted))]:
        case = cases[wanted[int(data.users[row])]]
        case.history.append(data.item_ids[int(data.items[row])])
        case.weights.append(float(data.weights[row]))
    exposed = shown(known) if shown is not None and known else set()
    confounded = 0
    for case in cases.values():
        relevant = later[case.user_id] - set(case.history)
        case.relevant = {item for item in relevant if (case.user_id, item) not in exposed}
        confounded += len(relevant) - len(case.relevant)
    return [case for case in cases.values() if case.relevant], confounded


def _means(values: dict[str, np.ndarray]) -> dict[str, float]:
    return {name: round(float(column.mean()), 5) for name, column in values.items()}


def review_drawn(
    settings: GateSettings,
    models: Mapping[str, Recommender],
    split: ValidationSplit,
    profiles_of: Callable[[Sequence[str]], Mapping[str, UserProfile]],
) -> Verdict:
    """Judge ``models`` fitted on ``split.training`` of a log without order: each model that
    scores a user's taste is asked for the item drawn from each test user, and must not rank
    them clearly worse than popularity fitted on the same rows. The serving version is not
    compared: it may have trained on the drawn rows, which would flatter it."""
    cases, k, key = split.cases, settings.k, settings.metric
    profiles = profiles_of([case.user_id for case in cases])
    reference = models.get("popularity") or PopularityRecommender().fit(split.training)
    floor = measure(reference, cases, profiles, k)
    figures: dict[str, dict[str, dict[str, float]]] = {}
    worse = []
    for name, model in models.items():
        if not model.personal:
            continue
        found = measure(model, cases, profiles, k)
        figures[name] = {"candidate": _means(found), "popularity": _means(floor)}
        if clearly_worse(found[key], floor[key], settings.margin, settings.confidence):
            now, base = figures[name]["candidate"][key], figures[name]["popularity"][key]
            worse.append(f"{name} {key}@{k} {now:.4f} < {base:.4f} of popularity minus {settings.margin:.0%}")
    if worse:
        return Verdict("rejected", "; ".join(worse), len(cases), None, None, figures)
    judged = ", ".join(sorted(figures)) or "no personal model"
    reason = (
        f"{judged} not worse than popularity by over {settings.margin:.0%} on {split.how} "
        f"({len(cases)} users; the serving version is not compared: it may have trained on them)"
    )
    return Verdict("passed", reason, len(cases), None, None, figures)


def clearly_worse(new: np.ndarray, old: np.ndarray, margin: float, confidence: float) -> bool:
    """Whether the new per-user figures fall below the old ones minus ``margin`` (relative)
    beyond chance: the upper one-sided ``confidence`` bound of the mean of
    ``new - (1 - margin) * old`` over users (paired) is below zero."""
    gap = new - (1.0 - margin) * old
    if len(gap) < 2:
        return False
    bound = float(gap.mean()) + float(norm.ppf(confidence)) * float(gap.std(ddof=1)) / np.sqrt(len(gap))
    return bool(bound < 0)


def serving_bundle(models_dir: Path) -> ModelBundle | None:
    """The version served now, to compare with (None when none is, or it cannot be read)."""
    path = served_version_path(models_dir)
    if path is None:
        return None
    try:
        return load_bundle(path)
    except CorruptVersionError:
        return None


def seen_until(bundle: ModelBundle) -> float:
    """The newest event time ``bundle`` may have trained on: as recorded, else the time it was
    created (versions from before the gate)."""
    manifest = bundle.manifest
    return float(manifest.get("trained_until") or manifest.get("created_at") or 0.0)


def review(
    settings: GateSettings,
    data: Interactions,
    models: Mapping[str, Recommender],
    holdout: Holdout,
    serving: ModelBundle | None,
    profiles_of: Callable[[Sequence[str]], Mapping[str, UserProfile]],
    events: EventPolicy,
    shown: Shown | None = None,
) -> Verdict:
    """Judge the freshly fitted ``models`` against ``serving`` on the held-out rows neither
    trained on; ``profiles_of`` gives the test users' profiles (for models that read them),
    ``shown`` what homepages showed them (left out of what they are asked to predict)."""
    seen = seen_until(serving) if serving is not None else -np.inf  # rows it may have trained on
    cases, confounded = test_cases(data, holdout.rows, events, seen, settings.max_users, shown)
    profiles = profiles_of([case.user_id for case in cases])
    name = serving.version if serving is not None else None
    k, key = settings.k, settings.metric
    figures: dict[str, dict[str, dict[str, float]]] = {}
    per_user: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # model -> (new, serving) of the key metric
    for model_name, model in models.items():
        figures[model_name] = {}
        if not cases:
            continue
        new = measure(model, cases, profiles, k)
        figures[model_name]["candidate"] = _means(new)
        old = serving.get(model_name) if serving is not None else None
        if old is not None:
            served = measure(old, cases, profiles, k)
            figures[model_name]["serving"] = _means(served)
            per_user[model_name] = (new[key], served[key])
    if serving is None:
        first = "no version serving to compare with"
        return Verdict("passed", first, len(cases), holdout.cut, None, figures, confounded)
    if len(cases) < settings.min_users:
        reason = f"not judged: {len(cases)} test users, fewer than gate.min_users={settings.min_users}"
        if confounded:
            reason += f" ({confounded} later picks were of items their homepage had shown: left out)"
        return Verdict("passed", reason, len(cases), holdout.cut, name, figures, confounded)
    worse = []
    for model_name, (new_values, old_values) in per_user.items():
        if clearly_worse(new_values, old_values, settings.margin, settings.confidence):
            now, before = figures[model_name]["candidate"][key], figures[model_name]["serving"][key]
            worse.append(
                f"{model_name} {key}@{k} {now:.4f} < {before:.4f} of {name} minus {settings.margin:.0%}"
            )
    if worse:
        return Verdict("rejected", "; ".join(worse), len(cases), holdout.cut, name, figures, confounded)
    compared = sorted(model for model, sides in figures.items() if "serving" in sides)
    shared = ", ".join(compared) or "no shared model"
    reason = f"{shared} not worse than {name} by over {settings.margin:.0%} ({len(cases)} users)"
    return Verdict("passed", reason, len(cases), holdout.cut, name, figures, confounded)
