"""Candidate sources: each proposes up to ``quota`` items for one request and says why
(``base`` has the protocol). Settings name them; this registry maps names to classes."""

from __future__ import annotations

from collections.abc import Callable

from homefeed.homepage.sources.base import PERSONAL_MODELS, CandidateSource, Services, VectorScorer
from homefeed.homepage.sources.behaviour import ItemToItemSource, PersonalSource, ProfileSource
from homefeed.homepage.sources.catalog import FreshSource, PopularSource, TrendingSource
from homefeed.homepage.sources.text import InterestsSource, NewItemsSource, SemanticHistorySource

SOURCES: dict[str, Callable[[Services], CandidateSource]] = {
    source.name: source
    for source in (
        PersonalSource,
        ItemToItemSource,
        NewItemsSource,
        SemanticHistorySource,
        InterestsSource,
        ProfileSource,
        PopularSource,
        TrendingSource,
        FreshSource,
    )
}

__all__ = [
    "PERSONAL_MODELS",
    "SOURCES",
    "CandidateSource",
    "FreshSource",
    "InterestsSource",
    "ItemToItemSource",
    "NewItemsSource",
    "PersonalSource",
    "PopularSource",
    "ProfileSource",
    "SemanticHistorySource",
    "Services",
    "TrendingSource",
    "VectorScorer",
]
