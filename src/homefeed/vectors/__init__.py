"""Vector search over item vectors (FAISS): exact for small catalogs, HNSW for large ones."""

from homefeed.vectors.exclusion import Exclusion
from homefeed.vectors.index import Hit, IndexConfig, VectorIndex

__all__ = ["Exclusion", "Hit", "IndexConfig", "VectorIndex"]
