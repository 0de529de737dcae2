"""The models of this package by name (the learning-to-rank model, which is made of them, is
registered with them in ``homefeed.training.registry``); an unknown name fails with the valid ones."""

from __future__ import annotations

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

BASE_MODELS: dict[str, type[Recommender]] = {
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
    )
}


def base_model(name: str) -> type[Recommender]:
    """The class of a model of this package; a ValueError names the valid ones."""
    try:
        return BASE_MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(BASE_MODELS)}") from None
