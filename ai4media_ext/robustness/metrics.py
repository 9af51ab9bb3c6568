"""Metrics for privacy-protecting adversarial attacks: rank distributions and K-anonymity."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import InvalidParameterError, check_array, check_labels

__all__ = ["k_anonymity_satisfied", "rank_pmf", "true_label_ranks"]


def _probabilities(classifier_or_probs: Any, x_adv: Any) -> np.ndarray:
    if hasattr(classifier_or_probs, "predict"):
        if x_adv is None:
            raise ValueError("x_adv is required when a classifier is given")
        return check_array(classifier_or_probs.predict(x_adv), name="scores", ndim=2)
    return check_array(classifier_or_probs, name="scores", ndim=2)


def true_label_ranks(classifier_or_probs: Any, x_adv: Any = None, y: Any = None) -> np.ndarray:
    """1-based rank of the true label in each output ranking (1 = top prediction).

    ``classifier_or_probs`` is an ART classifier (``predict(x_adv)`` is used) or an ``(N, C)``
    array of scores; ``y`` holds labels in ART's conventions (index labels ``(N,)`` or
    ``(N, 1)``, or one-hot ``(N, C)``). Ties are ranked by class index, as a stable sort of the
    scores does. Returns int64 ranks of shape ``(N,)``.

    Raises ``InvalidParameterError`` (a ``ValueError``) naming ``scores`` or ``y`` for a wrong
    shape, non-finite scores or labels outside ``[0, C)``.
    """
    probs = _probabilities(classifier_or_probs, x_adv)
    if y is None:
        raise InvalidParameterError("y (the true labels) is required")
    labels = check_labels(y, len(probs), probs.shape[1], name="y")
    order = np.argsort(-probs, axis=1, kind="stable")
    return np.argmax(order == labels[:, None], axis=1) + 1


def rank_pmf(classifier_or_probs: Any, x_adv: Any = None, y: Any = None) -> np.ndarray:
    """``p[i-1] = P(r(i) = y)``: the share of samples whose true label sits at rank ``i``."""
    probs = _probabilities(classifier_or_probs, x_adv)
    ranks = true_label_ranks(probs, y=y)
    return np.bincount(ranks - 1, minlength=probs.shape[1]) / len(ranks)


def k_anonymity_satisfied(pmf: Any, k: int, tol: float = 0.02) -> bool:
    """Whether no ranking position holds the true label more often than ``1/k + tol``.

    With ``p(1)`` included, this also bounds how often the prediction is correct: the true label
    is hidden among ``k`` equally likely positions.
    """
    p = np.asarray(pmf, dtype=np.float64)
    if p.ndim != 1 or not np.isclose(p.sum(), 1.0):
        raise ValueError("pmf must be a 1-D probability vector")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= len(p):
        raise ValueError(f"k must be an int in [1, {len(p)}], got {k!r}")
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    return bool(np.all(p <= 1.0 / k + tol))
