"""Ranking: typed candidate features and the learning-to-rank model that scores them."""
