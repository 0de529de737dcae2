"""Hand-gathered CSR rows give scipy's answers, on empty, repeated and all rows."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from homefeed.models.sparse_rows import rows_dot, rows_weighted_sum


@pytest.mark.parametrize("rows", [[5, 3, 3, 39, 0], list(range(40)), []])
def test_row_products_match_scipy(rows: list[int]) -> None:
    rng = np.random.default_rng(0)
    dense = sparse.random(40, 7, density=0.3, random_state=1, dtype=np.float32).toarray()
    dense[5] = 0.0  # a row without entries
    matrix = sparse.csr_matrix(dense)
    chosen = np.array(rows, dtype=np.int64)
    vector, weights = rng.normal(size=7), rng.random(len(chosen))
    np.testing.assert_allclose(rows_dot(matrix, chosen, vector), dense[chosen] @ vector, atol=1e-9)
    np.testing.assert_allclose(rows_weighted_sum(matrix, chosen, weights), weights @ dense[chosen], atol=1e-6)
    ones = np.ones(len(chosen))
    np.testing.assert_allclose(rows_weighted_sum(matrix, chosen, ones), dense[chosen].sum(axis=0), atol=1e-6)
