"""The homepage: a frozen query, then declared stages (sources, scoring, merge, filters,
composition) and the page with its sections; see ``pipeline``."""

from homefeed.homepage.page import Candidate, Explanation, Homepage, HomepageItem, Section
from homefeed.homepage.pipeline import HomepagePipeline

__all__ = ["Candidate", "Explanation", "Homepage", "HomepageItem", "HomepagePipeline", "Section"]
