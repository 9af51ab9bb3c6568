"""The LIME-compatible path: the structured combination with LIME per-model explanations,
returned as ``lime.explanation.Explanation`` objects (``as_list``, ``as_map``,
``as_pyplot_figure`` and ``show_in_notebook`` work as for ``LimeTabularExplainer``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._compat import require
from ..._validation import InvalidParameterError
from ._system import DecisionSystem
from .explainer import DecisionSystemExplainer

__all__ = ["DecisionSystemLimeExplainer"]


class DecisionSystemLimeExplainer:
    """``LimeTabularExplainer``-like front end of the structured explanation.

    Parameters
    ----------
    system : DecisionSystem
    training_data : ndarray (k, n_features)
        Background cases (LIME's training data; also the structured explainer's background).
    target : label, optional
        The decision explained (default: the last class).
    feature_names : list of str, optional
    num_samples : int
        LIME neighbourhood size per model and row (default 5000, LIME's own).
    random_state : int, optional

    Raises
    ------
    InvalidParameterError
        As :class:`DecisionSystemExplainer`.
    """

    def __init__(
        self,
        system: DecisionSystem,
        training_data: Any,
        *,
        target: Any = None,
        feature_names: list[str] | None = None,
        num_samples: int = 5000,
        random_state: int | None = None,
    ):
        self.explainer = DecisionSystemExplainer(
            system, np.asarray(training_data, dtype=np.float64), target=target,
            model_explainers="lime", lime_num_samples=num_samples,
            feature_names=feature_names, seed=random_state,
        )  # fmt: skip
        self.random_state = random_state

    def explain_instance(self, data_row: Any, num_features: int = 10) -> Any:
        """Explain one raw row (n_features,): a ``lime.explanation.Explanation`` in
        classification mode whose label is the explained decision's index, weights the
        structured attributions, intercept the background rate of that decision.

        Raises
        ------
        InvalidParameterError
            ``num_features`` < 1, a row with the wrong size or NaN.
        """
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
            raise InvalidParameterError(f"num_features must be an int >= 1, got {num_features!r}")
        lime_explanation = require("lime.explanation", "xai")
        lime_tabular = require("lime.lime_tabular", "xai")
        ex = self.explainer
        row = ex.model._check_X(np.asarray(data_row, dtype=np.float64).reshape(1, -1))
        values = ex.shap_values(row)[0]
        names = list(ex.feature_names)
        mapper = lime_tabular.TableDomainMapper(
            names, [f"{v:.4g}" for v in row[0]], row[0], categorical_features=[]
        )
        out = lime_explanation.Explanation(
            mapper, mode="classification", class_names=[str(c) for c in ex.model.classes_],
            random_state=self.random_state,
        )  # fmt: skip
        label = ex.target_index_
        order = np.argsort(-np.abs(values))[:num_features]
        out.local_exp[label] = [(int(i), float(values[i])) for i in order]
        out.intercept[label] = ex.expected_value
        out.predict_proba = ex.model.predict_proba(row)[0]
        out.local_pred = np.array([ex.expected_value + values.sum()])
        out.score = float("nan")  # no surrogate fit: the weights come from the combination rule
        return out
