"""Per-model feature attributions: the best-suited SHAP explainer for each model of a decision
system (TreeExplainer, LinearExplainer or PermutationExplainer), or LIME."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._compat import require

__all__ = ["MODEL_EXPLAINERS", "choose_explainer", "model_attributions"]

MODEL_EXPLAINERS = ("auto", "tree", "linear", "permutation", "lime")


def choose_explainer(model: Any) -> str:
    """``"linear"`` for scikit-learn linear models, ``"tree"`` for models shap's TreeExplainer
    reads (scikit-learn trees and tree ensembles, XGBoost, LightGBM...), else ``"permutation"``."""
    module = type(model).__module__
    if module.startswith("sklearn.linear_model") and hasattr(model, "coef_"):
        return "linear"
    shap = require("shap", "xai")
    try:
        shap.TreeExplainer(model)
    except Exception:  # shap raises InvalidModelError and others for non-tree models
        return "permutation"
    return "tree"


def _pick(values: np.ndarray, col: int | None, n_cols: int | None) -> np.ndarray:
    """Attributions of the used output: class ``col``'s column of a (n, F, C) array; a binary
    explainer's single output is the last class, so class 0 is its negation."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 3:
        return values[:, :, 0 if col is None else col]
    if col is not None and n_cols == 2 and col == 0:
        return -values
    return values


class _ModelFn:
    """Picklable output function of one model on its own columns."""

    def __init__(self, model: Any, col: int | None):
        self.model, self.col = model, col

    def __call__(self, Xm: np.ndarray) -> np.ndarray:
        if self.col is None:
            return np.asarray(self.model.predict(Xm), dtype=np.float64).reshape(len(Xm))
        return np.asarray(self.model.predict_proba(Xm), dtype=np.float64)[:, self.col]


def _lime(fn: _ModelFn, Xm: np.ndarray, bg: np.ndarray, classifier: bool, num_samples: int, seed):
    lime_tabular = require("lime.lime_tabular", "xai")
    mode = "classification" if classifier else "regression"
    explainer = lime_tabular.LimeTabularExplainer(
        bg, mode=mode, discretize_continuous=True, random_state=seed
    )
    if classifier:
        predict = lambda A: np.column_stack([1.0 - fn(A), fn(A)])  # noqa: E731
        labels = (1,)
    else:
        predict, labels = fn, (1,)
    out = np.zeros_like(Xm, dtype=np.float64)
    for i, row in enumerate(Xm):  # LIME explains one instance per call (its API)
        exp = explainer.explain_instance(
            row, predict, labels=labels, num_features=Xm.shape[1], num_samples=num_samples
        )
        # classification: label 1 is the explained probability; regression: LIME stores the
        # weights under 1 (and their negation under 0)
        for j, w in exp.local_exp[1]:
            out[i, j] = w
    return out


def model_attributions(
    kind: str,
    model: Any,
    col: int | None,
    Xm: np.ndarray,
    bg: np.ndarray,
    *,
    max_evals: int | str,
    lime_num_samples: int,
    seed: int | None,
) -> np.ndarray:
    """Attributions (n, F_m) of one model's output to its own input columns.

    ``Xm`` (n, F_m) and ``bg`` (k, F_m) hold only the model's columns. TreeExplainer runs
    interventionally on ``bg`` in probability space for classifiers; LinearExplainer explains the
    margin (log-odds) of linear classifiers; Permutation uses ``maskers.Independent(bg)``; LIME
    uses ``LimeTabularExplainer(bg)`` with quartile discretisation (its default).
    """
    shap = require("shap", "xai")
    classifier = col is not None
    n_cols = len(model.classes_) if classifier else None
    if kind == "tree":
        explainer = shap.TreeExplainer(
            model, data=bg, feature_perturbation="interventional",
            model_output="probability" if classifier else "raw",
        )  # fmt: skip
        return _pick(explainer(Xm, check_additivity=False).values, col, n_cols)
    if kind == "linear":
        explainer = shap.LinearExplainer(model, bg)
        return _pick(explainer(Xm).values, col, n_cols)
    fn = _ModelFn(model, col)
    if kind == "permutation":
        masker = shap.maskers.Independent(bg, max_samples=len(bg))
        explainer = shap.PermutationExplainer(fn, masker, seed=seed)
        evals = max(2 * Xm.shape[1] + 1, 500) if max_evals == "auto" else max_evals
        return np.asarray(explainer(Xm, max_evals=evals, silent=True).values, dtype=np.float64)
    if kind == "lime":
        return _lime(fn, Xm, bg, classifier, lime_num_samples, seed)
    raise ValueError(f"unknown model explainer {kind!r}; expected one of {MODEL_EXPLAINERS}")
