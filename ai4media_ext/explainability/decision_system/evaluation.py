"""Quality measures of feature attributions (n, F): rank agreement with reference values,
top-k recovery of known relevant features, deletion-curve faithfulness and rerun stability.
All are vectorised over rows and features."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..._validation import InvalidParameterError, check_array

__all__ = ["deletion_auc", "rank_agreement", "stability", "topk_recall"]


def _ranks(a: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(a, axis=-1)


def _row_spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman correlation of matching rows of ``a`` and ``b`` (..., F); a constant row against
    a constant row counts 1, a constant row against a varying one 0."""
    ra, rb = _ranks(a), _ranks(b)
    ra = ra - ra.mean(axis=-1, keepdims=True)
    rb = rb - rb.mean(axis=-1, keepdims=True)
    na, nb = np.linalg.norm(ra, axis=-1), np.linalg.norm(rb, axis=-1)
    num = (ra * rb).sum(axis=-1)
    both_const = (na == 0) & (nb == 0)
    out = np.divide(num, na * nb, out=np.zeros_like(num), where=(na > 0) & (nb > 0))
    return np.where(both_const, 1.0, out)


def rank_agreement(values: Any, reference: Any) -> float:
    """Mean over rows of the Spearman correlation between ``|values|`` and ``|reference|``
    (both (n, F)): do the two rank the features' importance alike?

    Raises
    ------
    InvalidParameterError
        Shapes differ, not 2-D, NaN.
    """
    v = check_array(values, name="values", ndim=2)
    r = check_array(reference, name="reference", ndim=2)
    if v.shape != r.shape:
        raise InvalidParameterError(f"values {v.shape} and reference {r.shape} differ in shape")
    return float(np.mean(_row_spearman(np.abs(v), np.abs(r))))


def topk_recall(values: Any, relevant: Sequence[int], k: int | None = None) -> float:
    """Mean share of the ``relevant`` feature indices among each row's ``k`` largest
    ``|values|`` (default ``k = len(relevant)``), in [0, 1]."""
    v = check_array(values, name="values", ndim=2)
    rel = np.asarray(list(relevant), dtype=np.intp)
    if rel.size == 0 or rel.min() < 0 or rel.max() >= v.shape[1]:
        raise InvalidParameterError(f"relevant must index columns of values, got {relevant!r}")
    k = len(rel) if k is None else k
    if not 1 <= k <= v.shape[1]:
        raise InvalidParameterError(f"k must be in [1, {v.shape[1]}], got {k}")
    top = np.argsort(-np.abs(v), axis=1, kind="stable")[:, :k]
    return float(np.isin(top, rel).sum(axis=1).mean() / min(k, len(rel)))


def deletion_auc(
    decide: Callable[[np.ndarray], np.ndarray], X: Any, values: Any, background: Any
) -> float:
    """Deletion-curve faithfulness of attributions (lower is better).

    For each row, features are deleted in decreasing ``|value|`` order; a deleted feature takes
    the background cases' values (all ``k`` of them, as shap's Independent masker). The curve is
    the share of (row, background) pairs whose decision is still the row's original one, after
    0, 1, ..., F deletions; the result is the area under it on a [0, 1] axis (trapezoids).

    Parameters
    ----------
    decide : callable
        Raw rows (m, F) -> decisions (m,).
    X : ndarray (n, F)
    values : ndarray (n, F)
    background : ndarray (k, F)
    """
    X = check_array(X, name="X", ndim=2, dtype=np.float64)
    v = check_array(values, name="values", ndim=2)
    bg = check_array(background, name="background", ndim=2, dtype=np.float64)
    if v.shape != X.shape or bg.shape[1] != X.shape[1]:
        raise InvalidParameterError("X, values and background must share the feature axis")
    n, F = X.shape
    k = len(bg)
    order = np.argsort(-np.abs(v), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(F)[None].repeat(n, 0), axis=1)
    original = np.asarray(decide(X))
    steps = np.arange(F + 1)
    deleted = rank[:, None, :] < steps[None, :, None]  # (n, F+1, F)
    batch = np.where(deleted[:, :, None, :], bg[None, None], X[:, None, None, :])
    decisions = np.asarray(decide(batch.reshape(-1, F))).reshape(n, F + 1, k)
    curve = (decisions == original[:, None, None]).mean(axis=(0, 2))
    return float(np.trapezoid(curve, dx=1.0 / F))


def stability(reruns: Sequence[Any]) -> float:
    """Mean pairwise Spearman correlation of ``|values|`` between reruns (each (n, F)),
    averaged over rows: 1 means every rerun ranks the features identically."""
    arrs = np.stack([check_array(r, name="reruns", ndim=2) for r in reruns])
    if len(arrs) < 2:
        raise InvalidParameterError("stability needs at least two reruns")
    i, j = np.triu_indices(len(arrs), k=1)
    return float(np.mean(_row_spearman(np.abs(arrs[i]), np.abs(arrs[j]))))
