"""Model names known to the engine; an unknown name fails loudly with the valid ones."""

from __future__ import annotations

from homefeed.config import Settings
from homefeed.models.als import AlsRecommender
from homefeed.models.base import Recommender
from homefeed.models.popularity import PopularityRecommender

MODEL_CLASSES: dict[str, type[Recommender]] = {
    PopularityRecommender.name: PopularityRecommender,
    AlsRecommender.name: AlsRecommender,
}


def model_class(name: str) -> type[Recommender]:
    try:
        return MODEL_CLASSES[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(MODEL_CLASSES)}") from None


def build_model(name: str, settings: Settings) -> Recommender:
    """A fresh, untrained model configured from ``settings``."""
    model_class(name)
    if name == AlsRecommender.name:
        return AlsRecommender(**settings.als.model_dump())
    return PopularityRecommender(half_life_days=settings.popularity.half_life_days)
