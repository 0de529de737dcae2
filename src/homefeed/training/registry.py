"""Every model the engine can train, by name, and how the settings configure each one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homefeed.config import Settings
from homefeed.models.base import Recommender
from homefeed.models.registry import BASE_MODELS
from homefeed.ranking.ltr import DEFAULT_SOURCES, RankerRecommender

MODEL_CLASSES: dict[str, type[Recommender]] = {**BASE_MODELS, RankerRecommender.name: RankerRecommender}
# models whose options come from a section of the settings (HOMEFEED_ALS__FACTORS, ...)
SETTINGS_SECTIONS = {
    "als": "als",
    "als-text": "als",
    "sequential": "sequential",
    "popularity": "popularity",
    "profile": "profile",
}


def model_class(name: str) -> type[Recommender]:
    try:
        return MODEL_CLASSES[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(MODEL_CLASSES)}") from None


def configured_options(name: str, settings: Settings) -> dict[str, Any]:
    """The options the settings give model ``name`` (none for a model without a section)."""
    section = SETTINGS_SECTIONS.get(name)
    options: dict[str, Any] = getattr(settings, section).model_dump() if section is not None else {}
    return options


def ranker_sources(
    settings: Settings, sources: Mapping[str, Mapping[str, Any]] = DEFAULT_SOURCES
) -> dict[str, Any]:
    """The ranker's sources as trained: each one's options from the settings, then the options
    the ranker fixes for it (``DEFAULT_SOURCES``)."""
    return {name: {**configured_options(name, settings), **fixed} for name, fixed in sources.items()}


def build_model(name: str, settings: Settings, **overrides: object) -> Recommender:
    """A fresh, untrained model configured from ``settings`` (and ``overrides``)."""
    cls = model_class(name)
    options: dict[str, Any] = configured_options(name, settings)
    if cls is RankerRecommender:
        options["sources"] = ranker_sources(settings)
    return cls(**{**options, **overrides})
