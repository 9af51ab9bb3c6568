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


def category_of(name: str, categorical: Sequence[str]) -> str | None:
    """The categorical feature whose one-hot column ``name`` is (``c=value``), or ``None``.

    Only the features named in ``categorical`` (from the data set's metadata or the caller) are
    one-hot groups: a numeric column named ``debt=ratio`` is not mistaken for one.
    """
    matches = [c for c in categorical if name.startswith(f"{c}=")]
    return max(matches, key=len) if matches else None


def feature_groups(
    feature_names: Sequence[str], categorical: Sequence[str] = ()
) -> list[np.ndarray]:
    """Column groups that change together: the one-hot columns of each categorical feature share
    a group, every other column is its own group."""
    keys = [(category_of(n, categorical), j) for j, n in enumerate(feature_names)]
    keys = [(c, None) if c is not None else (None, j) for c, j in keys]
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
    x: np.ndarray,
    cf: np.ndarray,
    feature_names: Sequence[str],
    groups: list[np.ndarray],
    categorical: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The changes between a record and its counterfactual, one per feature group: numeric
    ``{"feature", "from", "to"}`` (floats), categorical ``{"feature", "from", "to",
    "categorical": True}`` with the category values (``education: Bachelors -> Masters``)."""
    changes = []
    for g in groups:
        if np.array_equal(x[g], cf[g]):
            continue
        key = category_of(feature_names[g[0]], categorical)
        if key is None:
            changes.append(
                {"feature": feature_names[g[0]], "from": float(x[g[0]]), "to": float(cf[g[0]])}
            )
            continue

        def level(row: np.ndarray, g: np.ndarray = g, key: str = key) -> str:
            on = [feature_names[j][len(key) + 1 :] for j in g if row[j] > 0.5]
            return ", ".join(on) if on else "(none)"

        changes.append({"feature": key, "from": level(x), "to": level(cf), "categorical": True})
    return changes


def probe_attribute(
    clf: Any,
    x: np.ndarray,
    dataset: Any,
    attribute: str,
    g: dict[str, Any],
    codes: np.ndarray,
    y_pred: np.ndarray,
    fav: float,
    rng: np.random.Generator,
    n_probes: int,
    categorical: Sequence[str] = (),
) -> dict[str, Any]:
    """Probes of one protected attribute for a fitted classifier (``FairnessReport.probes_``).

    The effect of flipping only ``attribute`` on every record's decision (when it is a model
    input), and for ``n_probes`` unprivileged records with an unfavourable decision (drawn with
    ``rng``) the nearest decision-flipping counterfactual that changes no protected attribute.

    Parameters
    ----------
    clf : fitted scikit-learn classifier
    x : numpy.ndarray
        ``(n, d)`` float model inputs.
    dataset : aif360.datasets.BinaryLabelDataset
        Feature, protected-attribute and instance names.
    attribute : str
    g : dict
        The attribute's entry of ``FairnessReport.groups_``.
    codes : numpy.ndarray
        ``(n,)`` int group codes (0 unprivileged, 1 privileged, 2 neither).
    y_pred : numpy.ndarray
        ``(n,)`` bool, the model's favourable decisions.
    fav : float
        The favourable label.
    rng : numpy.random.Generator
    n_probes : int
    categorical : sequence of str
        The categorical features whose one-hot columns ``name=value`` form one group.

    Returns
    -------
    dict
        ``protected_flip_rate`` (and ``_to_favourable``, ``_to_unfavourable``) or a ``note``,
        and ``records``: one dict per probed record.
    """
    fnames = (
        list(dataset.feature_names)
        if x.shape[1] == len(dataset.feature_names)
        else [f"x{j}" for j in range(x.shape[1])]
    )
    out: dict[str, Any] = {"protected_flip_rate": None, "records": []}
    # counterfactuals never change a protected attribute, whichever is being probed
    protected = set(dataset.protected_attribute_names)
    frozen = [
        j
        for j, n in enumerate(fnames)
        if n in protected or category_of(n, categorical) in protected
    ]
    if attribute not in fnames:
        out["note"] = f"{attribute!r} is not a model input, so it cannot be flipped"
    else:
        col = fnames.index(attribute)
        flip = protected_flip(
            clf, x, col, np.asarray(g["privileged_values"]),
            (g["privileged_values"][0], g["unprivileged_values"][0]), fav,
        )  # fmt: skip
        changed = flip["before"] != flip["after"]
        out["protected_flip_rate"] = float(changed.mean())
        out["protected_flip_to_favourable"] = float((~flip["before"] & flip["after"]).mean())
        out["protected_flip_to_unfavourable"] = float((flip["before"] & ~flip["after"]).mean())
    pool = np.flatnonzero((codes == 0) & ~y_pred)
    if len(pool) == 0:
        return out
    chosen = np.sort(rng.choice(pool, size=min(n_probes, len(pool)), replace=False))
    groups = [grp for grp in feature_groups(fnames, categorical) if not set(grp) & set(frozen)]
    scale = x.std(0)
    scale[scale == 0] = 1.0
    if attribute in fnames:  # the all-records flip above already decided these rows
        dec, prob = flip["before"], flip["p_before"]
    else:
        dec, prob = np.zeros(len(x), dtype=bool), np.full(len(x), np.nan)
        dec[chosen], prob[chosen] = decisions(clf, x[chosen], fav)
    for idx in chosen:
        rec = x[idx]
        item: dict[str, Any] = {
            "index": int(idx),
            "instance_name": str(dataset.instance_names[idx]),
            "decision": bool(dec[idx]),
            "probability": float(prob[idx]),
        }
        if attribute in fnames:  # an unprivileged record switched to the privileged value
            item["protected_flipped_decision"] = bool(flip["after"][idx])
            item["protected_flipped_probability"] = float(flip["p_after"][idx])
        cf = nearest_counterfactual(
            clf, rec, x, frozen=frozen, groups=groups, scale=scale, favourable=fav
        )
        if cf is not None:
            item["counterfactual"] = {
                "decision": cf["decision"],
                "probability": cf["probability"],
                "distance": cf["distance"],
                "changes": describe_changes(rec, cf["row"], fnames, groups, categorical),
            }
        out["records"].append(item)
    return out
