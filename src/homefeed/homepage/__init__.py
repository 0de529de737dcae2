"""The homepage: a declared pipeline of candidate sources, filters and a composer."""

from homefeed.homepage.page import Candidate, Explanation, Homepage, HomepageItem, Section
from homefeed.homepage.pipeline import HomepagePipeline

__all__ = ["Candidate", "Explanation", "Homepage", "HomepageItem", "HomepagePipeline", "Section"]
