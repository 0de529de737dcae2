"""One training run: read the behaviour log and catalog from the store, embed what the models
read, fit each named model, and write them as one new version (see ``versions``)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from homefeed import __version__
from homefeed.config import Settings
from homefeed.domain import Item, UserProfile
from homefeed.errors import ModelNotTrainedError
from homefeed.events import ValueRule
from homefeed.models.base import Recommender
from homefeed.models.data import EventRow, Interactions
from homefeed.models.new_items import MAPPED_MODELS, NEW_ITEMS_DIR, fit_new_item_map
from homefeed.store import Store
from homefeed.training.forgetting import forget_in_folder
from homefeed.training.gate import Holdout, Verdict, review, review_drawn, serving_bundle
from homefeed.training.indexing import chosen_index
from homefeed.training.integrity import ARTIFACT_FORMAT, file_checksums
from homefeed.training.registry import build_model, configured_options, model_class
from homefeed.training.selection import Selection, candidates_for, tune
from homefeed.training.validation import has_order, validation_split
from homefeed.training.versions import (
    INDEX_DIR,
    MANIFEST,
    SEMANTIC_DIR,
    ModelBundle,
    new_version,
    reject,
    versions_lock,
)
from homefeed.understanding.semantic import embed_interests, open_semantic_space
from homefeed.vectors import IndexConfig
from homefeed.vectors.choice import RECALL_AT

DEFAULT_MODELS = ("popularity", "profile", "covisitation", "als")
# the page's settings chosen for a selection and the models the version will hold
PageTuner = Callable[[Selection, Sequence[str]], dict[str, float]]
StepCallback = Callable[[str], None]


def train_bundle(
    store: Store,
    settings: Settings,
    names: Sequence[str] = DEFAULT_MODELS,
    on_step: StepCallback | None = None,
    gated: bool | None = None,
    tune_seconds: float | None = None,
    selection: Selection | None = None,
    page_tuner: PageTuner | None = None,
) -> ModelBundle:
    """Read the behaviour log, fit each named model and save them as one new version. With the
    quality gate on (``gated``, default HOMEFEED_GATE__ENABLED) the newest events are held out
    and the version is judged on them before it is published; one the gate rejects is saved
    marked rejected, and no worker serves it. With ``tune_seconds`` the models are first chosen
    and tuned on a validation split of the events (``selection``), then the page's shares
    (``page_tuner``, from the page's layer); without it the given ``selection`` applies, else
    the last tuned choices, when there are any."""
    for name in names:
        model_class(name)  # unknown names fail before any work is done
    step = on_step or (lambda _message: None)
    step("reading events")
    started = time.perf_counter()
    # deletions from here on reach this version before it is published (see _publish)
    changes_seen, deletions_from = store.last_user_change(), time.time()
    catalog = list(store.iter_items())
    root = settings.effective_models_dir
    if selection is None and tune_seconds is None:
        selection = Selection.load(root)
    events = settings.events  # with values ignored while --tune is still to choose how they weigh
    if settings.event_values == "auto" and selection is not None:
        events = events.with_values(selection.event_values)
    chosen_rule = None if settings.event_values == "auto" else events.values  # None: --tune chooses
    rows: Iterator[EventRow] = store.logs.iter_event_rows()
    gated = settings.gate.enabled if gated is None else gated
    cut = store.logs.newest_share_cut(settings.gate.holdout_share) if gated else None
    holdout = Holdout(cut) if cut is not None else None
    if holdout is not None:
        rows = holdout.training_rows(rows)
    data = Interactions.from_rows(rows, events, [item.id for item in catalog])
    by_id = {item.id: item for item in catalog}
    in_order = [by_id[item_id] for item_id in data.item_ids]  # the models' item order
    data.item_fields = in_order
    if len(data.users) == 0:
        raise ModelNotTrainedError(
            "no usable events to train on: import data first (homefeed import ...) "
            "or send events to POST /v1/events"
        )
    everything, drawn = data, None
    if gated and holdout is None and not has_order(data):  # no time to cut: liked items per user drawn
        found = validation_split(data, settings.gate.max_users)
        if len(found.cases) >= settings.gate.min_users:
            data, drawn = found.training, found
    if any(model_class(name).reads_request for name in names):
        step("reading user profiles")
        known = (user for user in store.iter_users() if data.user_index(user.id) is not None)
        data.profiles = {user.id: user for user in known}
    if selection is None and tune_seconds is not None:
        selection = _tuned(
            store, settings, data, in_order, names, tune_seconds, step, page_tuner, chosen_rule
        )
        if selection.event_values != events.values:
            events = events.with_values(selection.event_values)
            data = data.reweighed(events.values)
            if drawn is not None:  # the same rows drawn; their histories weighed by the rule
                drawn = validation_split(everything.reweighed(events.values), settings.gate.max_users)
    if selection is not None:  # the chosen personal models are trained too
        names = list(dict.fromkeys([*names, *selection.personal]))
    models: dict[str, Recommender] = {}
    timings: dict[str, float] = {}
    for name in names:
        model = build_model(name, settings, **(selection.options(name) if selection is not None else {}))
        if model.reads_item_text and data.item_text is None:
            step("embedding item texts")
            data.item_text = _embed(settings, store, in_order)
        if model.reads_interests and not data.interests and data.profiles:
            step("embedding stated interests")
            data.interests = _embed_interests(settings, data.profiles)
        model.on_progress = _prefixed(step, f"fitting {name}: ")
        model.adopt(data, models)  # a ranker takes sources fitted just now instead of refitting them
        step(f"fitting {name}")
        begin = time.perf_counter()
        models[name] = model.fit(data)
        timings[name] = round(time.perf_counter() - begin, 3)
    new_items = None
    if settings.semantic.enabled and any(name in models for name in MAPPED_MODELS):
        if data.item_text is None:
            step("embedding item texts")
            data.item_text = _embed(settings, store, in_order)
        step("mapping item text into the behaviour space")
        new_items = fit_new_item_map(models, data, settings.homepage.new_items_days)
    verdict: Verdict | None = None
    if holdout is not None:
        step("judging the new version on the newest events (quality gate)")
        serving = serving_bundle(settings.effective_models_dir)
        since = holdout.cut - settings.attribution_hours * 3600  # pages that could have led to them

        def shown(users: Sequence[str]) -> set[tuple[str, str]]:
            return store.logs.shown_pairs(users, since)

        verdict = review(settings.gate, data, models, holdout, serving, store.profiles_of, events, shown)
    elif drawn is not None:
        step("judging the new version on liked items drawn at random per user (quality gate)")
        verdict = review_drawn(settings.gate, models, drawn, store.profiles_of)
    elif gated:
        unsplit = "not judged: the events cannot be split in time (too few, or all at one time)"
        verdict = Verdict("passed", unsplit, 0, None)
    version = new_version()
    temporary = root / f".tmp-{version}"
    step("saving")
    config = IndexConfig(hnsw_above=settings.semantic.exact_below)
    graphs: dict[str, dict[str, object]] = {}
    for name, model in models.items():
        model.save(temporary / name)
        # only a model that scores by its vectors is searched in them (a ranker's are its source's)
        vectors = model.item_vectors() if model.scores_by_vectors else None
        if vectors is not None and len(vectors) > config.hnsw_above:
            step(f"indexing {name} item vectors")  # minutes at a million items: not at load
            chosen = chosen_index(model, vectors, data, config)
            chosen.index.save(temporary / name / INDEX_DIR)
            graphs[name] = {"index": chosen.name, "recall": chosen.recall, "widths": chosen.widened}
            if chosen.recall:
                width = chosen.index.config.width
                shares = ", ".join(f"{kind} {share:.2f}" for kind, share in chosen.recall.items())
                step(
                    f"{name}: the {chosen.name} index at width {width} finds "
                    f"{chosen.widened[width]:.2f} of users' best {RECALL_AT} (at the usual widths: {shares})"
                )
    if new_items is not None:
        new_items.save(temporary / NEW_ITEMS_DIR)
    if settings.semantic.enabled:
        step("indexing item text")
        open_semantic_space(settings, store, catalog).save(temporary / SEMANTIC_DIR)
    step("checksumming")
    manifest = {
        "version": version,
        "format": ARTIFACT_FORMAT,
        "homefeed": __version__,
        "created_at": time.time(),
        "models": list(names),
        "users": data.n_users,
        "items": data.n_items,
        "events": len(data.users),
        "trained_until": float(data.timestamps.max()),
        "gate": verdict.manifest(settings.gate) if verdict is not None else {"status": "off"},
        "fit_seconds": timings,
        "total_seconds": round(time.perf_counter() - started, 3),
        "event_weights": dict(events.weights),
        "event_values": events.values,
        "reports": {name: report for name, model in models.items() if (report := model.training_report())},
        "indexes": graphs,
        **({"selection": selection.manifest()} if selection is not None else {}),
        "files": file_checksums(temporary),  # verified on every load (integrity.verify_files)
    }
    (temporary / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    if verdict is not None and verdict.rejected:
        reject(temporary, verdict.reason)  # after checksumming: promoting a version removes it
    final = root / version
    with versions_lock(root, exclusive=True):
        users = {user for _, user, deleted in store.user_changes_since(changes_seen) if deleted}
        items = {item for item, _ in store.items_deleted_since(deletions_from)}
        if users or items:  # deleted while this version was trained: it forgets them first
            step(f"forgetting {len(users)} user(s) and {len(items)} item(s) deleted meanwhile")
            forget_in_folder(temporary, users, items)
            manifest = json.loads((temporary / MANIFEST).read_text(encoding="utf-8"))
            for model in models.values():
                model.forget(users, items)
            new_items = new_items.without(items) if new_items is not None else None
        os.replace(temporary, final)
    return ModelBundle(version, final, manifest, models, new_items)


def _tuned(
    store: Store,
    settings: Settings,
    data: Interactions,
    items: list[Item],
    names: Sequence[str],
    tune_seconds: float,
    step: StepCallback,
    page_tuner: PageTuner | None,
    value_rule: ValueRule | None,
) -> Selection:
    """Models chosen and tuned now on the events, and the page's trades (saved for later
    trainings); with ``value_rule`` None, how events' values weigh too."""
    root = settings.effective_models_dir
    candidates = candidates_for(names)
    if any(build_model(name, settings).reads_item_text for name in candidates) and data.item_text is None:
        step("embedding item texts")
        data.item_text = _embed(settings, store, items)
    if not data.profiles and any(model_class(name).reads_request for name in candidates):
        known = (user for user in store.iter_users() if data.user_index(user.id) is not None)
        data.profiles = {user.id: user for user in known}
    defaults = {name: configured_options(name, settings) for name in candidates}
    selection = tune(
        data,
        candidates,
        tune_seconds,
        data.profiles,
        settings.gate.max_users,
        defaults,
        step,
        value_rule,
        trials=settings.tune_trials,
    )
    if page_tuner is not None:
        step("choosing the page's shares on validation pages")
        selection.page = page_tuner(selection, list(dict.fromkeys([*names, *selection.personal])))
    selection.save(root)
    return selection


def _prefixed(step: StepCallback, prefix: str) -> StepCallback:
    return lambda message: step(prefix + message)


def _embed(settings: Settings, store: Store, items: list[Item]) -> np.ndarray:
    """Text embeddings of ``items``, in their order (cached in the store)."""
    from homefeed.encoders.cache import embed_items
    from homefeed.encoders.loading import configured_encoder, configured_template

    encoder = configured_encoder(settings)
    return embed_items(items, encoder, store, configured_template(settings))


def _embed_interests(
    settings: Settings, profiles: dict[str, UserProfile]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Unit vectors of each user's liked and disliked interest phrases (users who stated any)."""
    from homefeed.encoders.loading import configured_encoder

    stated = {user_id: profile.interests for user_id, profile in profiles.items() if profile.interests}
    if not stated:
        return {}
    encoder = configured_encoder(settings)
    queries = embed_interests(list(stated.values()), encoder)
    return {
        user_id: (query.liked, query.disliked)
        for user_id, query in zip(stated, queries, strict=True)
        if query.interests
    }
