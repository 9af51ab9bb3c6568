"""Group confusion counts and the AIF360 fairness metrics computed from them, vectorised over
bootstrap replicates (one ``bincount`` for all replicates instead of one AIF360 metric object each)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

#: cells of the per-record table: group (0 unprivileged, 1 privileged, 2 neither) x TP, FP, TN, FN
CELLS = ("tp", "fp", "tn", "fn")
N_CELLS = 12


def cell_ids(y_true: np.ndarray, y_pred: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per-record cell index ``group * 4 + {TP, FP, TN, FN}``.

    ``y_true``/``y_pred`` are booleans (favourable outcome), ``group`` is 0 unprivileged,
    1 privileged, 2 neither.
    """
    outcome = np.where(y_pred, np.where(y_true, 0, 1), np.where(y_true, 3, 2))
    return group * 4 + outcome


def replicate_counts(
    cells: np.ndarray,
    weights: np.ndarray,
    n_bootstrap: int,
    rng: np.random.Generator,
    chunk: int = 50,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted cell sums and unweighted cell counts: row 0 the data, rows 1.. bootstrap replicates.

    Returns arrays of shape ``(1 + n_bootstrap, N_CELLS)``.
    """
    n, m = len(cells), N_CELLS
    sums = np.empty((1 + n_bootstrap, m))
    counts = np.empty((1 + n_bootstrap, m))
    sums[0] = np.bincount(cells, weights=weights, minlength=m)
    counts[0] = np.bincount(cells, minlength=m)
    for start in range(0, n_bootstrap, chunk):
        b = min(chunk, n_bootstrap - start)
        idx = rng.integers(0, n, size=(b, n))
        flat = (np.arange(b)[:, None] * m + cells[idx]).ravel()
        rows = slice(1 + start, 1 + start + b)
        sums[rows] = np.bincount(flat, weights=weights[idx].ravel(), minlength=m * b).reshape(b, m)
        counts[rows] = np.bincount(flat, minlength=m * b).reshape(b, m)
    return sums, counts


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(a, dtype=float) / b


def group_rates(sums: np.ndarray) -> dict[str, np.ndarray]:
    """Per-group rates, each of shape ``(replicates, 2)`` (column 0 unprivileged, 1 privileged)."""
    c = sums[:, :8].reshape(-1, 2, 4)
    tp, fp, tn, fn = c[..., 0], c[..., 1], c[..., 2], c[..., 3]
    n = tp + fp + tn + fn
    return {
        "num_instances": n,
        "base_rate": _div(tp + fn, n),
        "selection_rate": _div(tp + fp, n),
        "true_positive_rate": _div(tp, tp + fn),
        "false_positive_rate": _div(fp, fp + tn),
        "false_negative_rate": _div(fn, tp + fn),
        "true_negative_rate": _div(tn, fp + tn),
        "error_rate": _div(fp + fn, n),
        "accuracy": _div(tp + tn, n),
    }


def theil_index(counts: np.ndarray) -> np.ndarray:
    """Theil index of b = 1 + y_pred - y_true over all records (unweighted, as AIF360)."""
    c = counts.reshape(-1, 3, 4).sum(1)  # every record, whatever its group
    n = c.sum(1)
    n2, n1 = c[:, 1], c[:, 0] + c[:, 2]  # b = 2 for FP, 1 for TP/TN, 0 for FN
    mu = _div(n1 + 2 * n2, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (n1 / mu * np.log(1 / mu) + n2 * 2 / mu * np.log(2 / mu)) / n
    return t


def metric_table(sums: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
    """AIF360's group metrics (unprivileged minus/over privileged) per replicate."""
    r = group_rates(sums)

    def diff(name: str) -> np.ndarray:
        return r[name][:, 0] - r[name][:, 1]

    return {
        "base_rate_difference": diff("base_rate"),
        "base_rate_ratio": _div(r["base_rate"][:, 0], r["base_rate"][:, 1]),
        "statistical_parity_difference": diff("selection_rate"),
        "disparate_impact": _div(r["selection_rate"][:, 0], r["selection_rate"][:, 1]),
        "equal_opportunity_difference": diff("true_positive_rate"),
        "average_odds_difference": 0.5 * (diff("false_positive_rate") + diff("true_positive_rate")),
        "average_abs_odds_difference": 0.5
        * (np.abs(diff("false_positive_rate")) + np.abs(diff("true_positive_rate"))),
        "false_positive_rate_difference": diff("false_positive_rate"),
        "false_negative_rate_difference": diff("false_negative_rate"),
        "error_rate_difference": diff("error_rate"),
        "accuracy": _div(sums[:, [0, 2, 4, 6, 8, 10]].sum(1), sums.sum(1)),
        "theil_index": theil_index(counts),
    }


def percentile_interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile bootstrap interval of ``samples`` (NaN/inf replicates ignored)."""
    s = samples[np.isfinite(samples)]
    if len(s) == 0:
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    lo, hi = np.quantile(s, [alpha, 1 - alpha])
    return float(lo), float(hi)


def _group_label(values: np.ndarray, names: Mapping[float, str] | None, attribute: str) -> str:
    labels = [str(names[v]) if names and v in names else f"{attribute}={v:g}" for v in values]
    return " / ".join(labels)


def attribute_groups(dataset: Any, a: str) -> tuple[dict[str, Any], np.ndarray]:
    """The privileged / unprivileged groups of attribute ``a`` and each record's group code
    (0 unprivileged, 1 privileged, 2 neither)."""
    names = list(dataset.protected_attribute_names)
    attr_maps = (dataset.metadata or {}).get("protected_attribute_maps") or [None] * len(names)
    n = dataset.labels.shape[0]
    i = names.index(a)
    col = dataset.protected_attributes[:, i]
    if np.isnan(col).any():
        raise ValueError(
            f"protected attribute {a!r} has {int(np.isnan(col).sum())} missing values "
            "(NaN); drop or impute those records first"
        )
    priv = np.asarray(dataset.privileged_protected_attributes[i], dtype=float).ravel()
    unpriv = np.asarray(dataset.unprivileged_protected_attributes[i], dtype=float).ravel()
    if priv.size == 0:
        raise ValueError(f"the data set names no privileged value for {a!r}")
    is_priv = np.isin(col, priv)
    is_unpriv = np.isin(col, unpriv) if unpriv.size else ~is_priv
    if not is_priv.any() or not is_unpriv.any():
        values = np.unique(col)
        raise ValueError(
            f"protected attribute {a!r} has a single group: all {n} records have "
            f"{a} in {values.tolist()} ({'privileged' if is_priv.any() else 'unprivileged'}); "
            "a fairness comparison needs both a privileged and an unprivileged group"
        )
    if not unpriv.size:
        unpriv = np.setdiff1d(np.unique(col), priv)
    amap = attr_maps[i] if i < len(attr_maps) else None
    group = {
        "privileged_values": priv.tolist(),
        "unprivileged_values": unpriv.tolist(),
        "privileged": _group_label(priv, amap, a),
        "unprivileged": _group_label(unpriv, amap, a),
        "n_privileged": int(is_priv.sum()),
        "n_unprivileged": int(is_unpriv.sum()),
        "column": i,
    }
    return group, np.where(is_unpriv, 0, np.where(is_priv, 1, 2))
