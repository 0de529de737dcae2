"""Synthetic data with planted structure: readable items in topics, users with hidden tastes.

Each user has a hidden preference vector over topics; their profile (age, gender,
occupation, stated interests) is correlated with it, and their events are drawn from a
choice model: a slate ordered by the platform's popularity is shown, the user examines
positions with a decaying probability (position bias) and picks the item whose utility
(preference + item quality + freshness + noise) is highest. The ground truth is written
beside the data so tests can check what the engine learned.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from homefeed.datasets.domains import DOMAINS
from homefeed.datasets.pictures import write_picture
from homefeed.datasets.synth_rounds import EventColumns, simulate_rounds


@dataclass(frozen=True)
class Topic:
    key: str
    category: str
    kind: str
    blurb: str
    words: tuple[str, ...]
    age: float  # mean age of the people who love it
    female_share: float
    occupations: tuple[str, ...]


TOPICS: tuple[Topic, ...] = (
    Topic(
        "space",
        "Space",
        "documentary",
        "rockets, planets and the people who explore them",
        (
            "Mars",
            "Orbit",
            "Nebula",
            "Rocket",
            "Galaxy",
            "Telescope",
            "Astronaut",
            "Comet",
            "Moon",
            "Satellite",
        ),
        31,
        0.35,
        ("engineer", "scientist", "student"),
    ),
    Topic(
        "cooking",
        "Cooking",
        "recipe",
        "Italian home cooking, step by step",
        (
            "Pasta",
            "Risotto",
            "Basil",
            "Tomato",
            "Lasagna",
            "Parmesan",
            "Pizza",
            "Olive Oil",
            "Gnocchi",
            "Espresso",
        ),
        42,
        0.65,
        ("chef", "homemaker", "writer"),
    ),
    Topic(
        "football",
        "Football",
        "match report",
        "goals, transfers and the big derbies",
        (
            "Striker",
            "Goal",
            "Derby",
            "Goalkeeper",
            "Transfer",
            "League",
            "Penalty",
            "Midfield",
            "Stadium",
            "Cup Final",
        ),
        29,
        0.2,
        ("student", "salesperson", "technician"),
    ),
    Topic(
        "jazz",
        "Music",
        "album review",
        "jazz and blues records, old and new",
        (
            "Saxophone",
            "Trumpet",
            "Swing",
            "Bebop",
            "Blues",
            "Improvisation",
            "Quartet",
            "Groove",
            "Piano Trio",
            "Harlem",
        ),
        48,
        0.45,
        ("artist", "educator", "writer"),
    ),
    Topic(
        "ml",
        "Technology",
        "course",
        "machine learning from the ground up",
        (
            "Neural Networks",
            "Gradients",
            "Transformers",
            "Embeddings",
            "Datasets",
            "Classifiers",
            "Regression",
            "Attention",
            "Benchmarks",
            "GPUs",
        ),
        30,
        0.3,
        ("programmer", "scientist", "student"),
    ),
    Topic(
        "gardening",
        "Home & Garden",
        "guide",
        "growing flowers, herbs and vegetables",
        (
            "Roses",
            "Compost",
            "Tomatoes",
            "Seedlings",
            "Orchards",
            "Herbs",
            "Greenhouses",
            "Pruning",
            "Tulips",
            "Soil",
        ),
        56,
        0.6,
        ("retired", "homemaker", "educator"),
    ),
    Topic(
        "horror",
        "Films",
        "film",
        "haunted houses, curses and things that go bump in the night",
        (
            "Haunted House",
            "Zombies",
            "Vampires",
            "Nightmares",
            "Curses",
            "Ghosts",
            "Slashers",
            "Crypts",
            "Werewolves",
            "Seances",
        ),
        24,
        0.4,
        ("student", "artist", "technician"),
    ),
    Topic(
        "finance",
        "Money",
        "article",
        "budgets, savings and investing for everyone",
        (
            "Budgets",
            "Savings",
            "Mortgages",
            "Index Funds",
            "Retirement",
            "Taxes",
            "Credit Scores",
            "Dividends",
            "Inflation",
            "Pensions",
        ),
        45,
        0.45,
        ("executive", "lawyer", "salesperson"),
    ),
    Topic(
        "travel",
        "Travel",
        "travel guide",
        "journeys to cities, islands and mountains",
        (
            "Lisbon",
            "Kyoto",
            "Backpacking",
            "Road Trips",
            "Islands",
            "Hostels",
            "Fjords",
            "Safaris",
            "Patagonia",
            "Night Trains",
        ),
        35,
        0.55,
        ("writer", "educator", "executive"),
    ),
    Topic(
        "fitness",
        "Health",
        "workout",
        "training plans for strength and endurance",
        (
            "Marathons",
            "Yoga",
            "Strength",
            "Cycling",
            "Stretching",
            "Intervals",
            "Swimming",
            "Kettlebells",
            "Pilates",
            "Recovery",
        ),
        33,
        0.55,
        ("healthcare", "student", "salesperson"),
    ),
    Topic(
        "history",
        "History",
        "podcast",
        "empires, revolutions and everyday life in the past",
        (
            "Rome",
            "Pharaohs",
            "Vikings",
            "The Renaissance",
            "Empires",
            "Revolutions",
            "Medieval Towns",
            "Castles",
            "Samurai",
            "Byzantium",
        ),
        52,
        0.35,
        ("educator", "retired", "lawyer"),
    ),
    Topic(
        "comedy",
        "Comedy",
        "show",
        "stand-up, sketches and sitcoms",
        (
            "Sitcoms",
            "Stand-up",
            "Sketches",
            "Parody",
            "Satire",
            "Improv",
            "Roasts",
            "Pranks",
            "Sidekicks",
            "Punchlines",
        ),
        27,
        0.5,
        ("student", "artist", "salesperson"),
    ),
)

_ADJECTIVES = (
    "Ultimate",
    "Hidden",
    "Little",
    "Modern",
    "Complete",
    "Curious",
    "Golden",
    "Wild",
    "Quiet",
    "Brilliant",
)
_TITLE_PATTERNS = (
    "The {adj} Guide to {a}",
    "{a} and {b}",
    "{a}: {adj} Stories",
    "A Week of {a}",
    "{adj} {a}, {adj2} {b}",
    "Beyond {a}",
    "{a} for Beginners",
)


@dataclass(frozen=True)
class SynthConfig:
    users: int = 500
    items: int = 400
    days: int = 30
    topics: int = 8
    seed: int = 0
    events_per_user_day: float = 0.6
    slate_size: int = 20
    # regimes a log may be in (docs/evaluation.md): each user's events in time order, or (False)
    # a bulk export with every event stamped at the log's end and users' rows in no order
    ordered: bool = True
    popularity_skew: float = 0.6  # lognormal sigma of item quality: higher, a heavier head
    activity_spread: float = 0.5  # lognormal sigma of user activity: higher, longer and shorter histories
    # share of a user's taste that follows a focus topic of the moment (switching now and then):
    # the latest picks then tell the next ones best, which only order-aware models can read
    taste_drift: float = 0.0
    # a music service's log: half the picks are tries of what the slate shows (taste aside),
    # and each liking event carries a play count as its value that grows with the user's taste
    # for the item's topic (a try of something they care little for gets one or two plays), so
    # the counts tell the tastes apart where the choices alone are half noise
    play_counts: bool = False
    # an SVG picture per item in media/ (its topic's colour and motif), named by the item's image
    pictures: bool = False
    # the log dressed as a kind of site (datasets/domains.py): ecommerce, news, video, education
    domain: str | None = None
    # draw each day's events in rounds, vectorised (datasets/synth_rounds.py): True, False, or
    # None for rounds once the log is expected to pass ROUNDS_FROM events
    rounds: bool | None = None


@dataclass(frozen=True)
class SynthSummary:
    users: int
    items: int
    events: int
    folder: Path


ROUNDS_FROM = 200_000  # expected events above which ``rounds=None`` simulates in rounds


def in_rounds(config: SynthConfig) -> bool:
    """Whether ``config`` is simulated in rounds: as asked, else by the log's expected size."""
    if config.rounds is not None:
        return config.rounds
    mean_activity = float(np.exp(config.activity_spread**2 / 2))
    return config.users * config.days * config.events_per_user_day * mean_activity >= ROUNDS_FROM


def _item_title(rng: np.random.Generator, topic: Topic) -> str:
    a, b = rng.choice(len(topic.words), size=2, replace=False)
    adj, adj2 = rng.choice(len(_ADJECTIVES), size=2, replace=False)
    pattern = _TITLE_PATTERNS[int(rng.integers(len(_TITLE_PATTERNS)))]
    return pattern.format(a=topic.words[a], b=topic.words[b], adj=_ADJECTIVES[adj], adj2=_ADJECTIVES[adj2])


def _interests_text(rng: np.random.Generator, prefs: np.ndarray, topics: tuple[Topic, ...]) -> str | None:
    if rng.random() < 0.4:
        return None
    order = np.argsort(-prefs)
    liked = [topics[order[0]].blurb]
    if prefs[order[1]] > 0.2:
        liked.append(topics[order[1]].blurb)
    text = "I enjoy " + " and ".join(liked)
    if rng.random() < 0.5:
        text += f"; not into {topics[order[-1]].category.lower()} ({topics[order[-1]].words[0].lower()})"
    return text + "."


def generate(
    config: SynthConfig, folder: Path, on_progress: Callable[[int, int], None] | None = None
) -> SynthSummary:
    """Write items.jsonl, users.jsonl, events.jsonl and ground_truth.json into ``folder``."""
    if not 2 <= config.topics <= len(TOPICS):
        raise ValueError(f"topics must be between 2 and {len(TOPICS)}, got {config.topics}")
    if config.domain is not None and config.domain not in DOMAINS:
        raise ValueError(f"domain must be one of {sorted(DOMAINS)}, got {config.domain!r}")
    rng = np.random.default_rng(config.seed)
    topics = TOPICS[: config.topics]
    n_topics = len(topics)
    start = 1_767_225_600.0  # 2026-01-01T00:00:00Z
    day = 86_400.0

    item_topic = rng.integers(n_topics, size=config.items)
    quality = rng.lognormal(0.0, config.popularity_skew, size=config.items)
    published = start + rng.uniform(-30, config.days, size=config.items) * day
    items: list[dict[str, Any]] = []
    titles: set[str] = set()
    repeats: dict[str, int] = {}  # a title drawn again: how many of it there are so far
    for index in range(config.items):
        topic = topics[item_topic[index]]
        title = _item_title(rng, topic)
        for _attempt in range(5):  # prefer fresh titles; number the rare repeat
            if title not in titles:
                break
            title = _item_title(rng, topic)
        if title in titles:
            repeats[title] = repeats.get(title, 1) + 1
            title = f"{title}, Part {repeats[title]}"
        titles.add(title)
        items.append(
            {
                "id": f"i{index:05d}",
                "title": title,
                "text": f"A {topic.kind} about {title.lower()}: {topic.blurb}.",
                "category": topic.category,
                "tags": [topic.key, topic.kind],
                "attributes": {"topic": topic.key},
                "creator": f"{topic.key}-studio-{index % 3 + 1}",
                "published_at": float(published[index]),
            }
        )
        if config.pictures:
            shade = float(np.clip(np.log(quality[index]) / 3 + 0.5, 0.0, 1.0))
            picture = write_picture(folder / "media", items[-1]["id"], title, int(item_topic[index]), shade)
            items[-1]["image"] = picture

    preferences = rng.dirichlet(np.full(n_topics, 0.3), size=config.users)
    activity = rng.lognormal(0.0, config.activity_spread, size=config.users)
    users: list[dict[str, Any]] = []
    occupations = sorted({occ for topic in topics for occ in topic.occupations})
    for index in range(config.users):
        prefs = preferences[index]
        top = topics[int(np.argmax(prefs))]
        age = float(np.dot(prefs, [t.age for t in topics])) + rng.normal(0, 5)
        female = rng.random() < float(np.dot(prefs, [t.female_share for t in topics]))
        occupation = (
            top.occupations[int(rng.integers(3))]
            if rng.random() < 0.7
            else occupations[int(rng.integers(len(occupations)))]
        )
        users.append(
            {
                "id": f"u{index:05d}",
                "age": int(np.clip(round(age), 16, 90)),
                "gender": "F" if female else "M",
                "occupation": occupation,
                "location": f"region-{int(rng.integers(1, 10))}",
                "interests": _interests_text(rng, prefs, topics),
            }
        )

    world = {
        "item_topic": item_topic,
        "quality": quality,
        "published": published,
        "preferences": preferences,
        "activity": activity,
    }
    user_ids, item_ids = [user["id"] for user in users], [item["id"] for item in items]
    columns: EventColumns | None = None
    events: list[dict[str, Any]] = []
    if in_rounds(config):
        columns = simulate_rounds(config, rng, world, start, on_progress)
        if not config.ordered:  # an export: one moment for all, rows shuffled
            columns.timestamp[:] = round(start + config.days * day, 3)
            columns = columns.take(rng.permutation(len(columns)))
        if config.domain is not None:
            events = columns.rows(user_ids, item_ids)
    else:
        events = _simulate_events(config, rng, world, start, user_ids, item_ids, on_progress)
        events.sort(key=lambda event: (event["timestamp"], event["event_id"]))
        if not config.ordered:  # an export: one moment for all, rows shuffled
            exported = round(start + config.days * day, 3)
            events = [{**events[i], "timestamp": exported} for i in rng.permutation(len(events))]

    if config.domain is not None:  # its own draws: the tastes and choices stay the same
        DOMAINS[config.domain](items, events, np.random.default_rng([config.seed, 2]))
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (("items", items), ("users", users), ("events", events)):
        if name == "events" and columns is not None and config.domain is None:
            columns.write_jsonl(folder / "events.jsonl", user_ids, item_ids)
            continue
        with (folder / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    truth = {
        "config": {k: getattr(config, k) for k in config.__dataclass_fields__},
        "start": start,  # the log's first day; it ends config.days later
        "topics": [{"key": t.key, "category": t.category} for t in topics],
        "item_topic": {items[i]["id"]: int(item_topic[i]) for i in range(config.items)},
        "item_quality": {items[i]["id"]: round(float(quality[i]), 6) for i in range(config.items)},
        "user_activity": {users[u]["id"]: round(float(activity[u]), 6) for u in range(config.users)},
        "user_preferences": {
            users[u]["id"]: [round(float(p), 6) for p in preferences[u]] for u in range(config.users)
        },
    }
    (folder / "ground_truth.json").write_text(json.dumps(truth), encoding="utf-8")
    written = len(columns) if columns is not None and config.domain is None else len(events)
    return SynthSummary(config.users, config.items, written, folder)


def _simulate_events(
    config: SynthConfig,
    rng: np.random.Generator,
    world: dict[str, np.ndarray],
    start: float,
    user_ids: list[str],
    item_ids: list[str],
    on_progress: Callable[[int, int], None] | None,
) -> list[dict[str, Any]]:
    """The choice model one event at a time (``synth_rounds`` for the batched form)."""
    day = 86_400.0
    item_topic, quality, published = world["item_topic"], world["quality"], world["published"]
    preferences, activity = world["preferences"], world["activity"]
    n_topics = preferences.shape[1]
    events: list[dict[str, Any]] = []
    seen: list[set[int]] = [set() for _ in user_ids]
    drifting = config.taste_drift > 0  # draws nothing otherwise: the default data stay as they were
    focus = rng.integers(n_topics, size=config.users) if drifting else np.zeros(config.users, dtype=np.int64)
    plays = np.random.default_rng([config.seed, 1])  # its own draws: the events stay the same
    platform_popularity = quality.copy()
    examine = 1.0 / np.log2(np.arange(config.slate_size) + 2.0)
    for day_index in range(config.days):
        for user in range(len(user_ids)):
            count = rng.poisson(config.events_per_user_day * activity[user])
            for _ in range(count):
                taste = preferences[user]
                if drifting:
                    if rng.random() < 0.15:  # a new focus now and then
                        focus[user] = rng.integers(n_topics)
                    taste = (1.0 - config.taste_drift) * taste + config.taste_drift * (
                        np.arange(n_topics) == focus[user]
                    )
                now = start + (day_index + rng.random()) * day
                available = np.flatnonzero(published <= now)
                if available.size < config.slate_size:
                    continue
                slate = rng.choice(available, size=config.slate_size, replace=False)
                slate = slate[np.argsort(-platform_popularity[slate], kind="stable")]
                age_days = (now - published[slate]) / day
                trying = config.play_counts and plays.random() < 0.5
                utility = (
                    (0.0 if trying else 2.5) * np.log(taste[item_topic[slate]] + 0.02)
                    + 0.7 * np.log(quality[slate])
                    - age_days / 45.0
                    + np.log(examine)
                    + rng.gumbel(size=config.slate_size)
                )
                utility[[i for i, item in enumerate(slate) if item in seen[user]]] = -np.inf
                if not np.isfinite(utility.max()):
                    continue
                item = int(slate[int(np.argmax(utility))])
                seen[user].add(item)
                platform_popularity[item] += 0.05
                pref = preferences[user, item_topic[item]]
                kind = "click"
                if pref < 0.03 and rng.random() < 0.5:
                    kind = "dislike"
                elif rng.random() < 0.3 * pref + 0.05:
                    kind = "like" if rng.random() < 0.7 else "purchase"
                event: dict[str, Any] = {
                    "event_id": f"s{len(events):07d}",
                    "user_id": user_ids[user],
                    "item_id": item_ids[item],
                    "type": kind,
                    "timestamp": round(now, 3),
                }
                if config.play_counts and kind != "dislike":
                    event["value"] = 1 + int(plays.poisson(40.0 * pref**2))
                events.append(event)
        if on_progress is not None:
            on_progress(day_index + 1, config.days)
    return events


def load_ground_truth(folder: Path) -> dict[str, Any]:
    """The planted truth written by :func:`generate`."""
    return dict(json.loads((folder / "ground_truth.json").read_text(encoding="utf-8")))
