"""Exact interventional Shapley values of the policy tree's decision over its (few) policy
variables: the alternative policy-level step (``policy_importance="shapley"``), the first link of
the chain rule of Chen, Lundberg & Lee (Nat. Commun. 2022)."""

from __future__ import annotations

from math import factorial

import numpy as np

from ._policy import TreeArrays

__all__ = ["policy_shapley"]

MAX_POLICY_VARIABLES = 12


def policy_shapley(
    tree: TreeArrays, Z: np.ndarray, background: np.ndarray, explained_class: int,
    *, chunk_cells: int = 4_000_000,
) -> np.ndarray:  # fmt: skip
    """Shapley values (n, d) of ``1[decision == explained_class]`` at ``Z`` (n, d), absent
    variables taking the ``background`` (k, d) values (shap's Independent masker), computed by
    enumerating the ``2^d`` coalitions; rows are processed in chunks of about ``chunk_cells``
    policy evaluations."""
    n, d = Z.shape
    if d > MAX_POLICY_VARIABLES:
        raise ValueError(f"exact policy Shapley enumerates 2^d coalitions; d={d} > 12")
    k = len(background)
    masks = ((np.arange(2**d)[:, None] >> np.arange(d)[None]) & 1).astype(bool)  # (2^d, d)
    size = masks.sum(axis=1)
    weight = np.array([factorial(s) * factorial(d - s - 1) / factorial(d) if s < d else 0.0
                       for s in range(d + 1)])  # fmt: skip
    out = np.empty((n, d), dtype=np.float64)
    step = max(1, chunk_cells // (2**d * k))
    for start in range(0, n, step):  # chunks of rows, vectorised inside
        z = Z[start : start + step]
        m = len(z)
        cells = np.where(masks[:, None, None, :], z[None, :, None, :], background[None, None])
        dec = tree.leaf_class[tree.apply(cells.reshape(-1, d))] == explained_class
        v = dec.reshape(2**d, m, k).mean(axis=2)  # (2^d, m)
        for j in range(d):  # loop over the policy variables (d <= 12)
            without = np.flatnonzero(~masks[:, j])
            gain = v[without | (1 << j)] - v[without]  # (2^(d-1), m)
            out[start : start + m, j] = weight[size[without]] @ gain
    return out
