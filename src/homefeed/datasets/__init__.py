"""Data in: CSV/JSONL importers, MovieLens layouts, downloads and the synthetic generator."""
