"""Trainable recommenders behind one interface: fit, batched recommend, similar items, save, load."""

from homefeed.models.base import Recommender, top_k
from homefeed.models.data import Interactions

__all__ = ["Interactions", "Recommender", "top_k"]
