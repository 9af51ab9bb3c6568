"""Re-ID retrieval evaluation: mean average precision and CMC, vectorised over queries."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._validation import InvalidParameterError, check_array

__all__ = ["euclidean_distances", "mean_ap_cmc"]


def euclidean_distances(query: Any, gallery: Any) -> np.ndarray:
    """Euclidean distance matrix ``(n_query, n_gallery)`` float64 between feature rows."""
    q = check_array(query, name="query", ndim=2, dtype=np.float64)
    g = check_array(gallery, name="gallery", ndim=2, dtype=np.float64)
    if q.shape[1] != g.shape[1]:
        raise InvalidParameterError(
            f"query and gallery features differ in dimension: {q.shape[1]} vs {g.shape[1]}"
        )
    sq = (q**2).sum(1)[:, None] + (g**2).sum(1)[None] - 2.0 * q @ g.T
    return np.sqrt(np.maximum(sq, 0.0))


def mean_ap_cmc(
    distmat: Any,
    q_pids: Any,
    g_pids: Any,
    q_camids: Any = None,
    g_camids: Any = None,
    max_rank: int = 10,
) -> tuple[float, np.ndarray]:
    """mAP and the CMC curve of a retrieval run, as in re-ID (Market-1501 protocol).

    The gallery is ranked by increasing distance (ties keep gallery order). With camera ids, the
    gallery items of the query's identity *and* camera are dropped from its ranking (the
    Market-1501 / open-reid / torchreid ``evaluate_rank`` rule); without them nothing is dropped.
    AP is the mean over the relevant items of precision at their rank (equal to
    ``sklearn.metrics.average_precision_score`` on ``-distance`` when distances are distinct);
    CMC at rank k is the share of queries with a relevant item in their top k. Queries without
    any relevant gallery item are left out of both, as torchreid does.

    Parameters
    ----------
    distmat : array-like, shape (n_query, n_gallery)
    q_pids, g_pids : array-like of int, shapes (n_query,), (n_gallery,)
        Identities (here: the digit classes).
    q_camids, g_camids : array-like of int or None
        Camera (domain / style) ids; both or neither.
    max_rank : int
        Length of the CMC curve.

    Returns
    -------
    mAP : float
        In [0, 1].
    cmc : numpy.ndarray
        float64 ``(max_rank,)``; ``cmc[0]`` is rank-1 accuracy.

    Raises
    ------
    InvalidParameterError
        Shapes that do not match, only one of the camera id arrays, ``max_rank < 1``, or no
        query with a relevant gallery item.
    """
    dist = check_array(distmat, name="distmat", ndim=2, dtype=np.float64)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    if q_pids.shape != (dist.shape[0],) or g_pids.shape != (dist.shape[1],):
        raise InvalidParameterError(
            f"q_pids {q_pids.shape} and g_pids {g_pids.shape} must match distmat {dist.shape}"
        )
    if (q_camids is None) != (g_camids is None):
        raise InvalidParameterError("pass both q_camids and g_camids, or neither")
    if isinstance(max_rank, bool) or not isinstance(max_rank, int | np.integer) or max_rank < 1:
        raise InvalidParameterError(f"max_rank must be an int >= 1, got {max_rank!r}")
    order = np.argsort(dist, axis=1, kind="stable")
    matches = g_pids[order] == q_pids[:, None]
    keep = np.ones_like(matches)
    if q_camids is not None:
        q_cam, g_cam = np.asarray(q_camids), np.asarray(g_camids)
        if q_cam.shape != q_pids.shape or g_cam.shape != g_pids.shape:
            raise InvalidParameterError("camera ids must have the shapes of the pids")
        keep = ~(matches & (g_cam[order] == q_cam[:, None]))
    hits = matches & keep
    n_rel = hits.sum(axis=1)
    valid = n_rel > 0
    if not valid.any():
        raise InvalidParameterError("no query has a relevant gallery item")
    hits, keep, n_rel = hits[valid], keep[valid], n_rel[valid]
    position = np.cumsum(keep, axis=1)  # 1-based rank among the kept items
    precision = np.cumsum(hits, axis=1) / np.maximum(position, 1)
    ap = (precision * hits).sum(axis=1) / n_rel
    first = np.where(hits, position, np.iinfo(np.int64).max).min(axis=1)
    cmc = (first[:, None] <= np.arange(1, max_rank + 1)[None]).mean(axis=0)
    return float(ap.mean()), cmc.astype(np.float64)
