"""Candidate sources: each proposes items for one request and says why (``base`` has the
protocol). Settings name them; this registry maps names to classes, and each source's row."""

from __future__ import annotations

from collections.abc import Callable

from homefeed.homepage.sections import Row
from homefeed.homepage.sources.base import CandidateSource, PageServices
from homefeed.homepage.sources.behaviour import ItemToItemSource, PersonalSource, ProfileSource
from homefeed.homepage.sources.catalog import BreakingSource, FreshSource, PopularSource, TrendingSource
from homefeed.homepage.sources.progress import ContinueLearningSource, ContinueSeriesSource
from homefeed.homepage.sources.text import InterestsSource, NewItemsSource, SemanticHistorySource

DECLARED = (
    BreakingSource,
    ContinueSeriesSource,
    ContinueLearningSource,
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
SOURCES: dict[str, Callable[[PageServices], CandidateSource]] = {source.name: source for source in DECLARED}
# the row of every source's items (a personal model's picks take the personal row, the default)
ROWS: dict[str, Row] = {source.name: source.row for source in DECLARED}

__all__ = [
    "ROWS",
    "SOURCES",
    "BreakingSource",
    "CandidateSource",
    "ContinueLearningSource",
    "ContinueSeriesSource",
    "FreshSource",
    "InterestsSource",
    "ItemToItemSource",
    "NewItemsSource",
    "PageServices",
    "PersonalSource",
    "PopularSource",
    "ProfileSource",
    "SemanticHistorySource",
    "TrendingSource",
]
