"""Synthetic decision systems with known ground truth: models that are fitted to known functions
of a few features, a hand-written policy, so the relevant features are known and exact Shapley
values of the whole system are computable (12 features)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..._compat import require
from ._policy import Leaf, Split, ThresholdTree
from ._system import DecisionSystem

__all__ = ["SyntheticSystem", "make_synthetic_system"]


@dataclass(frozen=True)
class SyntheticSystem:
    """A synthetic system, its data and the indices of the features it really uses."""

    system: DecisionSystem
    X: np.ndarray
    relevant: tuple[int, ...]


def make_synthetic_system(n_samples: int = 2000, *, random_state: int = 0) -> SyntheticSystem:
    """A credit-like system on 12 standard-normal features, 6 of them relevant.

    - ``risk``: ``LogisticRegression`` on ``x0, x1, x2`` fitted to labels drawn with
      ``P(1) = sigmoid(2 x0 - 1.5 x1 + x2)``;
    - ``value``: ``GradientBoostingRegressor`` (50 trees, depth 3) on ``x3, x4`` fitted to
      ``2 x3 + x4 + N(0, 0.1^2)``;
    - policy (hand-written): ``risk <= 0.5`` -> approve when ``value > 0`` or ``x5 <= 0.5``;
      ``risk > 0.5`` -> approve only when ``value > 2``.

    ``x6 ... x11`` are read by no model. Returns the system, ``n_samples`` rows and
    ``relevant = (0, 1, 2, 3, 4, 5)``.
    """
    lm = require("sklearn.linear_model", "xai")
    ens = require("sklearn.ensemble", "xai")
    rng = np.random.default_rng(random_state)
    X = rng.standard_normal((n_samples, 12))
    logit = 2.0 * X[:, 0] - 1.5 * X[:, 1] + X[:, 2]
    y_risk = (rng.random(n_samples) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    y_value = 2.0 * X[:, 3] + X[:, 4] + 0.1 * rng.standard_normal(n_samples)
    risk = lm.LogisticRegression().fit(X[:, :3], y_risk)
    value = ens.GradientBoostingRegressor(
        n_estimators=50, max_depth=3, random_state=random_state
    ).fit(X[:, 3:5], y_value)
    policy = ThresholdTree(
        Split("risk", 0.5,
              left=Split("value", 0.0,
                         left=Split("x5", 0.5, left=Leaf("approve"), right=Leaf("reject")),
                         right=Leaf("approve")),
              right=Split("value", 2.0, left=Leaf("reject"), right=Leaf("approve"))),
        classes=["reject", "approve"],
    )  # fmt: skip
    names = [f"x{i}" for i in range(12)]
    system = DecisionSystem(
        {"risk": risk, "value": value}, policy, feature_names=names,
        model_features={"risk": names[:3], "value": names[3:5]},
    )  # fmt: skip
    return SyntheticSystem(system, X, (0, 1, 2, 3, 4, 5))
