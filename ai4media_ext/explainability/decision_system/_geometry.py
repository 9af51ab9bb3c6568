"""Geometric explanation of a policy tree's decision (Alvarez, "Explaining the result of a
decision tree to the end-user", ECAI 2004).

For a case ``z`` (its policy variables), each leaf region of another decision is an
axis-parallel box; the closest point of a box is the projection ``clip(z, lo, hi)`` and the
displacement ``delta = clip(z, lo, hi) - z`` says which tests must change and by how much. The
tests bounding the nearest regions are the most sensitive ones. Displacements are measured in a
per-variable metric so that a probability and an amount in euros compare: ``"quantile"`` (the
share of the background cases the move crosses, i.e. distance on the empirical CDF) or ``"std"``
(standard deviations).

Importances (our formulation, the 3IA combination rule being unpublished; see
``shared/docs/methods.md`` §8): the share of policy variable ``j`` in the scaled displacement to
a region, averaged over the regions of the other decision with weights ``softmax(-r / T)``
(``r``: the region's distance, ``T``: ``temperature``; ``T -> 0`` uses the nearest region only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._policy import TreeArrays

__all__ = ["PolicyGeometry", "policy_geometry"]

_EPS_STD = 1e-3  # weight of the std-scaled move added to the quantile gap (a flat CDF stays > 0)


@dataclass(frozen=True)
class PolicyGeometry:
    """Alvarez geometry of ``n`` cases against the ``L`` leaves of a policy over ``d`` variables.

    Attributes
    ----------
    displacement : ndarray (n, L, d)
        ``clip(z, lo, hi) - z`` per leaf box (zero inside), in the variables' own units.
    gap : ndarray (n, L, d)
        The displacement measured in the metric (unit-free, >= 0).
    distance : ndarray (n, L)
        The p-norm of ``gap`` over variables: the distance to each leaf region.
    target : ndarray (n, L) of bool
        Regions whose decision differs from the case's (for the explained class).
    nearest : ndarray (n,) of int
        Index (into the leaves) of the nearest target region.
    axis_distance : ndarray (n, d)
        Smallest gap to a target region reachable by moving variable ``j`` alone (inf: none).
    importance : ndarray (n, d)
        Non-negative importances, each row summing to 1.
    """

    displacement: np.ndarray
    gap: np.ndarray
    distance: np.ndarray
    target: np.ndarray
    nearest: np.ndarray
    axis_distance: np.ndarray
    importance: np.ndarray


def _ecdf(sorted_bg: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Mid-rank empirical CDF of each column of ``v`` (..., d) against ``sorted_bg`` (k, d)."""
    k, d = sorted_bg.shape
    out = np.empty(v.shape, dtype=np.float64)
    flat = v.reshape(-1, d)
    res = out.reshape(-1, d)
    for j in range(d):  # loop over policy variables (a handful); searchsorted is vectorised
        lo = np.searchsorted(sorted_bg[:, j], flat[:, j], side="left")
        hi = np.searchsorted(sorted_bg[:, j], flat[:, j], side="right")
        res[:, j] = (lo + hi) / (2.0 * k)
    return out


def policy_geometry(
    tree: TreeArrays,
    Z: np.ndarray,
    background: np.ndarray,
    explained_class: int,
    *,
    metric: str = "quantile",
    p: float = 2.0,
    temperature: float = 0.1,
) -> PolicyGeometry:
    """Alvarez distances and importances of the policy variables for the cases ``Z`` (n, d).

    Parameters
    ----------
    tree : TreeArrays
        The policy.
    Z : ndarray (n, d)
        Policy-variable values of the cases.
    background : ndarray (k, d)
        Policy-variable values of background cases; they define the metric's scales.
    explained_class : int
        Index of the explained decision: target regions are those whose indicator of this class
        differs from the case's.
    metric : {"quantile", "std"}
    p : float
        Norm over variables (1, 2 or ``numpy.inf``).
    temperature : float
        Softmin temperature over target regions, in metric units (> 0).

    Returns
    -------
    PolicyGeometry
    """
    Z = tree.cast(np.asarray(Z, dtype=np.float64))
    own = tree.leaf_class[tree.apply(Z)] == explained_class  # (n,)
    leaf_is = tree.leaf_class[tree.leaves] == explained_class  # (L,)
    target = own[:, None] != leaf_is[None, :]  # (n, L)
    proj = np.clip(Z[:, None, :], tree.lo[None], tree.hi[None])
    delta = proj - Z[:, None, :]  # (n, L, d)
    std = np.std(background, axis=0)
    std = np.where(std > 0, std, 1.0)
    if metric == "std":
        gap = np.abs(delta) / std
    else:
        bg = np.sort(np.asarray(background, dtype=np.float64), axis=0)
        gap = np.abs(_ecdf(bg, proj) - _ecdf(bg, Z[:, None, :])) + _EPS_STD * np.abs(delta) / std
    distance = np.linalg.norm(gap, ord=p, axis=2)
    masked = np.where(target, distance, np.inf)
    nearest = np.argmin(masked, axis=1)
    # regions reachable along one axis: displacement non-zero in at most one variable
    moved = delta != 0
    single = target[:, :, None] & moved & (moved.sum(axis=2, keepdims=True) == 1)
    axis_distance = np.where(single, gap, np.inf).min(axis=1)
    # softmin weights over target regions; shares of each variable in each region's move
    finite = np.isfinite(masked)
    shifted = (masked - masked.min(axis=1, keepdims=True)) / temperature
    w = np.where(finite, np.exp(-np.where(finite, shifted, 0.0)), 0.0)
    w_sum = w.sum(axis=1, keepdims=True)
    w = np.divide(w, w_sum, out=np.zeros_like(w), where=w_sum > 0)
    tot = gap.sum(axis=2, keepdims=True)
    share = np.divide(gap, tot, out=np.zeros_like(gap), where=tot > 0)
    importance = np.einsum("nl,nld->nd", w, share)
    return PolicyGeometry(delta, gap, distance, target, nearest, axis_distance, importance)
