"""Row gathers on CSR matrices for one request's worth of rows, and CSR matrices as the
named flat arrays a model saves.

scipy's fancy row indexing (``matrix[rows]``) builds a new matrix on every call, an overhead
larger than the work for a handful of rows, and a homepage makes several such calls; these
read the CSR arrays directly.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def row_entries(matrix: sp.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every stored entry of ``rows`` (repeats allowed): which of ``rows`` it belongs to,
    and its position in ``matrix.data`` / ``matrix.indices``."""
    rows = np.asarray(rows, dtype=np.int64)
    starts, ends = matrix.indptr[rows], matrix.indptr[rows + 1]
    lengths = ends - starts
    owner = np.repeat(np.arange(len(rows)), lengths)
    offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return owner, np.repeat(starts, lengths) + offsets


def rows_dot(matrix: sp.csr_matrix, rows: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """``matrix[rows] @ vector`` as float64 [len(rows)]."""
    owner, at = row_entries(matrix, rows)
    products = matrix.data[at].astype(np.float64) * vector[matrix.indices[at]]
    return np.bincount(owner, products, minlength=len(rows))


def rows_weighted_sum(matrix: sp.csr_matrix, rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``weights @ matrix[rows]`` as float64 [n_columns]."""
    owner, at = row_entries(matrix, rows)
    values = matrix.data[at].astype(np.float64) * np.asarray(weights, dtype=np.float64)[owner]
    return np.bincount(matrix.indices[at], values, minlength=matrix.shape[1])


def rows_weighted_sum_stored(
    matrix: sp.csr_matrix, rows: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``weights @ matrix[rows]`` at the columns those rows store only: (columns ascending,
    sums), the sums of :func:`rows_weighted_sum` bit for bit (entries added in the same order)."""
    owner, at = row_entries(matrix, rows)
    values = matrix.data[at].astype(np.float64) * np.asarray(weights, dtype=np.float64)[owner]
    columns, inverse = np.unique(matrix.indices[at], return_inverse=True)
    return columns.astype(np.int64), np.bincount(inverse, values, minlength=len(columns))


def rows_weighted_sum_at(
    matrix: sp.csr_matrix, rows: np.ndarray, weights: np.ndarray, columns: np.ndarray
) -> np.ndarray:
    """``(weights @ matrix[rows])[columns]`` as float64 [len(columns)], reading the entries of
    ``rows`` only (each sum in the same order as :func:`rows_weighted_sum`'s)."""
    owner, at = row_entries(matrix, rows)
    order = np.argsort(columns, kind="stable")
    ordered = np.asarray(columns)[order]
    found = matrix.indices[at]
    where = np.minimum(np.searchsorted(ordered, found), max(len(ordered) - 1, 0))
    hit = ordered[where] == found if len(ordered) else np.zeros(len(found), dtype=bool)
    values = matrix.data[at[hit]].astype(np.float64) * np.asarray(weights, dtype=np.float64)[owner[hit]]
    sums = np.bincount(where[hit], values, minlength=len(ordered))
    out = np.empty(len(ordered), dtype=np.float64)
    out[order] = sums
    return out


def history_row(n_items: int, items: np.ndarray, weights: np.ndarray, strengths: bool) -> np.ndarray:
    """A user's row from a history, float32 [n_items]: 1 for each liked item, or (``strengths``)
    its events' summed strength; negative feedback left out."""
    liked = weights > 0
    if strengths:
        return np.bincount(items[liked], weights[liked], minlength=n_items).astype(np.float32)
    row = np.zeros(n_items, dtype=np.float32)
    row[items[liked]] = 1.0
    return row


def csr_arrays(prefix: str, matrix: sp.csr_matrix) -> dict[str, np.ndarray]:
    """``matrix`` as ``{prefix}_data``, ``_indices``, ``_indptr`` and ``_shape`` arrays."""
    matrix = matrix.tocsr()
    return {
        f"{prefix}_data": matrix.data,
        f"{prefix}_indices": matrix.indices,
        f"{prefix}_indptr": matrix.indptr,
        f"{prefix}_shape": np.array(matrix.shape),
    }


def csr_from_arrays(prefix: str, arrays: dict[str, np.ndarray]) -> sp.csr_matrix:
    """The inverse of :func:`csr_arrays`."""
    return sp.csr_matrix(
        (arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], arrays[f"{prefix}_indptr"]),
        shape=tuple(int(size) for size in arrays[f"{prefix}_shape"]),
    )


def blank_lines(
    matrix: sp.csr_matrix, indices: np.ndarray, rows: bool = True, columns: bool = True
) -> sp.csr_matrix:
    """``matrix`` with the entries of rows and/or columns ``indices`` removed (shape kept)."""
    matrix = matrix.tocsr()
    if rows:
        row_mask = np.ones(matrix.shape[0], dtype=matrix.dtype)
        row_mask[indices] = 0
        matrix = sp.diags(row_mask) @ matrix
    if columns:
        column_mask = np.ones(matrix.shape[1], dtype=matrix.dtype)
        column_mask[indices] = 0
        matrix = matrix @ sp.diags(column_mask)
    found: sp.csr_matrix = sp.csr_matrix(matrix)
    found.eliminate_zeros()
    return found
