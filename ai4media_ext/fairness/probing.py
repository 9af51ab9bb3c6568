"""Model probing around individual records: nearest decision-flipping counterfactuals and the
effect of flipping only the protected attribute (what the What-If Tool shows, for scikit-learn
models, computed in batches)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def decisions(classifier: Any, x: np.ndarray, favourable: float) -> tuple[np.ndarray, np.ndarray]:
    """Favourable decision (bool) and, when the model has ``predict_proba``, its probability."""
    decision = np.asarray(classifier.predict(x)).ravel() == favourable
    if hasattr(classifier, "predict_proba"):
        classes = list(classifier.classes_)
        prob = classifier.predict_proba(x)[:, classes.index(favourable)]
    else:
        prob = np.full(len(x), np.nan)
    return decision, prob


def feature_groups(feature_names: Sequence[str]) -> list[np.ndarray]:
    """Column groups that change together: one-hot columns ``name=value`` share a group."""
    keys = [n.split("=", 1)[0] for n in feature_names]
    order = list(dict.fromkeys(keys))
    return [np.flatnonzero([k == key for k in keys]) for key in order]


def protected_flip(
    classifier: Any,
    x: np.ndarray,
    column: int,
    privileged_values: np.ndarray,
    swap: tuple[float, float],
    favourable: float,
) -> dict[str, np.ndarray]:
    """Decisions with only the protected column switched to the other group (all rows at once).

    ``swap`` = (privileged value, unprivileged value) to switch to.
    """
    flipped = x.copy()
    is_priv = np.isin(x[:, column], privileged_values)
    flipped[:, column] = np.where(is_priv, swap[1], swap[0])
    before, p_before = decisions(classifier, x, favourable)
    after, p_after = decisions(classifier, flipped, favourable)
    return {"before": before, "after": after, "p_before": p_before, "p_after": p_after}


def nearest_counterfactual(
    classifier: Any,
    x: np.ndarray,
    pool: np.ndarray,
    *,
    frozen: Sequence[int],
    groups: list[np.ndarray],
    scale: np.ndarray,
    favourable: float,
) -> dict[str, Any] | None:
    """Nearest record of ``pool`` whose decision differs from ``x``'s, with ``x``'s ``frozen``
    (protected) columns kept, then made sparse: feature groups are reverted to ``x``'s values one
    at a time, the revert that saves most distance first, while the decision stays flipped.

    Returns the counterfactual row, its decision/probability and scaled L1 distance, or ``None``
    when no record of the pool flips the decision.
    """
    frozen = list(frozen)
    decision, _ = decisions(classifier, x[None], favourable)
    candidates = pool.copy()
    candidates[:, frozen] = x[frozen]
    flips, _ = decisions(classifier, candidates, favourable)
    flips = flips != decision[0]
    if not flips.any():
        return None
    candidates = candidates[flips]
    dist = (np.abs(candidates - x) / scale).sum(1)
    cf = candidates[np.argmin(dist)].copy()
    while True:
        changed = [g for g in groups if not np.array_equal(cf[g], x[g])]
        if not changed:
            break
        trials = np.repeat(cf[None], len(changed), axis=0)
        for i, g in enumerate(changed):
            trials[i, g] = x[g]
        still, _ = decisions(classifier, trials, favourable)
        still = still != decision[0]
        if not still.any():
            break
        saved = np.array([(np.abs(cf[g] - x[g]) / scale[g]).sum() for g in changed])
        cf = trials[np.flatnonzero(still)[np.argmax(saved[still])]]
    d, p = decisions(classifier, cf[None], favourable)
    return {
        "row": cf,
        "decision": bool(d[0]),
        "probability": float(p[0]),
        "distance": float((np.abs(cf - x) / scale).sum()),
    }


def describe_changes(
    x: np.ndarray, cf: np.ndarray, feature_names: Sequence[str], groups: list[np.ndarray]
) -> list[dict[str, Any]]:
    """Human-readable changes between a record and its counterfactual, one per feature group
    (a one-hot group reads ``education: Bachelors -> Masters``)."""
    changes = []
    for g in groups:
        if np.array_equal(x[g], cf[g]):
            continue
        if len(g) == 1 and "=" not in feature_names[g[0]]:
            changes.append(
                {"feature": feature_names[g[0]], "from": float(x[g[0]]), "to": float(cf[g[0]])}
            )
            continue
        key = feature_names[g[0]].split("=", 1)[0]

        def level(row: np.ndarray, g: np.ndarray = g) -> str:
            on = [feature_names[j].split("=", 1)[-1] for j in g if row[j] > 0.5]
            return ", ".join(on) if on else "(none)"

        changes.append({"feature": key, "from": level(x), "to": level(cf)})
    return changes
