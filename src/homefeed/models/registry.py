"""Model names known to the engine; an unknown name fails loudly with the valid ones."""

from __future__ import annotations

from homefeed.config import Settings
from homefeed.models.als import AlsRecommender, TextMappedAlsRecommender
from homefeed.models.base import Recommender
from homefeed.models.bpr import BprRecommender
from homefeed.models.covisitation import CovisitationRecommender
from homefeed.models.ease import EaseRecommender
from homefeed.models.itemknn import ItemKnnRecommender
from homefeed.models.popularity import PopularityRecommender
from homefeed.models.profile import ProfileRecommender
from homefeed.models.random_baseline import RandomRecommender
from homefeed.models.sequential import SequentialRecommender
from homefeed.models.text import TextRecommender
from homefeed.ranking.ltr import RankerRecommender

MODEL_CLASSES: dict[str, type[Recommender]] = {
    model.name: model
    for model in (
        PopularityRecommender,
        ProfileRecommender,
        AlsRecommender,
        TextMappedAlsRecommender,
        BprRecommender,
        EaseRecommender,
        ItemKnnRecommender,
        CovisitationRecommender,
        RandomRecommender,
        SequentialRecommender,
        TextRecommender,
        RankerRecommender,
    )
}


def model_class(name: str) -> type[Recommender]:
    try:
        return MODEL_CLASSES[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(MODEL_CLASSES)}") from None


def build_model(name: str, settings: Settings, **overrides: object) -> Recommender:
    """A fresh, untrained model configured from ``settings`` (and ``overrides``)."""
    cls = model_class(name)
    if cls is AlsRecommender or cls is TextMappedAlsRecommender:
        return cls(**{**settings.als.model_dump(), **overrides})
    if cls is SequentialRecommender:
        return SequentialRecommender(**{**settings.sequential.model_dump(), **overrides})
    if cls is RankerRecommender:
        from homefeed.ranking.ltr import DEFAULT_SOURCES

        # the options the ranker was measured with (DEFAULT_SOURCES) win over the settings'
        sources = {
            "sequential": settings.sequential.model_dump(),
            "als": settings.als.model_dump(),
            "itemknn": {},
            "covisitation": {},
            "profile": {},
            "popularity": {"half_life_days": settings.popularity.half_life_days},
        }
        sources = {name: {**options, **DEFAULT_SOURCES.get(name, {})} for name, options in sources.items()}
        return RankerRecommender(**{"sources": sources, **overrides})  # type: ignore[arg-type]
    if cls is PopularityRecommender:
        options = {"half_life_days": settings.popularity.half_life_days, **overrides}
        return PopularityRecommender(**options)  # type: ignore[arg-type]
    return cls(**overrides)
