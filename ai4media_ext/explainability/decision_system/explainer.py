"""``DecisionSystemExplainer``: a SHAP explainer for decision systems built from several models
combined by a policy tree (seed §4.5).

Three steps, for the indicator ``f(x) = 1[decision(x) == target]``:

1. **Policy level** (Alvarez, ECAI 2004): the geometry of the policy tree gives each policy
   variable ``j`` an importance ``I_j`` (``_geometry``); the policy-level attribution is
   ``Phi_j = (f(x) - E_bg[f]) * I_j`` (the ``I_j`` sum to 1, so the ``Phi_j`` add up to the
   decision's deviation from the background rate).
2. **Model level**: each model's output is explained over its own inputs by the best-suited SHAP
   explainer (Tree / Linear / Permutation) or LIME, giving ``phi_{m,i}``.
3. **Combination**: ``a_i = sum_m w_m * phi_{m,i} + Phi_{raw i}``, with the weight of model ``m``
   the importance of its output in the policy per unit of its explained deviation,
   ``w_m = Phi_m / sum_i phi_{m,i}`` (the rescale rule of Chen, Lundberg & Lee, "Explaining a
   series of models by propagating Shapley values", Nat. Commun. 2022), plus the direct policy
   importance of raw features the policy tests. The ``a_i`` add up to ``f(x) - E_bg[f]`` (shap's
   local accuracy) whenever the per-model explainer is additive. When ``|sum_i phi_{m,i}|`` is
   below ``1e-6 * sum_i |phi_{m,i}|`` (no net deviation to rescale), ``Phi_m`` is shared in
   proportion to ``|phi_{m,i}|``; a model with all-zero attributions passes nothing on.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..._compat import require
from ..._validation import (
    Interval,
    InvalidParameterError,
    Options,
    check_array,
    check_kwargs,
    check_params,
)
from ._geometry import PolicyGeometry, policy_geometry
from ._models import MODEL_EXPLAINERS, choose_explainer, model_attributions
from ._policy_shapley import MAX_POLICY_VARIABLES, policy_shapley
from ._system import DecisionSystem
from ._text import explain_text

shap = require("shap", "xai")

__all__ = ["DecisionSystemExplainer"]

_TINY = 1e-6


def _rescale(phi: np.ndarray) -> np.ndarray:
    """Rows of ``phi`` (n, F) divided by their sum; ``|phi|`` shares where the sum vanishes."""
    total = phi.sum(axis=1, keepdims=True)
    mass = np.abs(phi).sum(axis=1, keepdims=True)
    ok = np.abs(total) > _TINY * mass
    ratio = np.divide(phi, total, out=np.zeros_like(phi), where=ok & (total != 0))
    share = np.divide(np.abs(phi), mass, out=np.zeros_like(phi), where=mass > 0)
    return np.where(ok, ratio, share)


class DecisionSystemExplainer(shap.Explainer):
    """Structured SHAP explanation of a :class:`DecisionSystem`'s decision on raw features.

    Parameters
    ----------
    model : DecisionSystem
        The system to explain.
    masker : ndarray (k, n_features), pandas.DataFrame or shap.maskers.Independent
        Background cases (shap subsamples more than 100 rows, as ``maskers.Independent``). They
        set the base value ``E_bg[f]``, the per-model explainers' background and the policy
        metric's scales.
    target : label, optional
        The decision whose indicator is explained (default: the last class, the positive one of a
        binary policy).
    policy_importance : {"geometric", "shapley"}
        Policy-level step: Alvarez's geometry (default, the method of the seed) or the exact
        interventional Shapley values of the policy decision over its variables (enumerating
        ``2^d`` coalitions, ``d <= 12``), the chain rule of Chen, Lundberg & Lee (2022).
    model_explainers : {"auto", "tree", "linear", "permutation", "lime"} or mapping
        One kind for all models, or output name -> kind. ``"auto"``: LinearExplainer for
        scikit-learn linear models, TreeExplainer where shap supports the model, else
        PermutationExplainer.
    metric : {"quantile", "std"}
        Per-variable metric of the policy geometry (see ``_geometry``).
    p : {1, 2, inf}
        Norm combining the per-variable gaps into a distance.
    temperature : float > 0
        Softmin temperature over the other decisions' regions (metric units).
    max_evals : int or "auto"
        Model evaluations per row for PermutationExplainer (auto: ``max(2F + 1, 500)``).
    lime_num_samples : int
        Neighbourhood size of LIME per-model explanations.
    feature_names : list of str, optional
        Default: the system's ``feature_names_in_``.
    seed : int, optional
        Seed of the permutation / LIME per-model explainers.

    Raises
    ------
    InvalidParameterError
        A parameter outside its constraints, a model that is not a :class:`DecisionSystem`, a
        ``target`` that is not a decision, an unknown model name in ``model_explainers``, a
        background with the wrong number of columns or NaN entries.

    Notes
    -----
    With the geometric policy step every policy variable's attribution has the sign of
    ``f(x) - E_bg[f]``: the geometry explains why this decision rather than another (how far the
    case is from the other decisions' regions, and along which variables), so a policy variable
    whose value pushes against the decision relative to the background average gets 0 rather
    than a negative value (a model input can still be negative through its model's split).
    ``policy_importance="shapley"`` gives signed policy-level Shapley values instead.

    ``__call__(X)`` returns a ``shap.Explanation`` with ``values`` (n, n_features),
    ``base_values`` (n,) = ``E_bg[f]`` and ``data`` ``X``, so shap's plots (waterfall, bar,
    beeswarm) work unchanged. :meth:`explain_policy` gives the policy-level Explanation and
    :meth:`geometry` the Alvarez distances.
    """

    _parameter_constraints = {
        "policy_importance": [Options(str, {"geometric", "shapley"})],
        "metric": [Options(str, {"quantile", "std"})],
        "p": [Options(float, {1.0, 2.0, np.inf})],
        "temperature": [Interval(numbers.Real, 0, None, closed="neither")],
        "max_evals": [Interval(numbers.Integral, 3, None, closed="left"), Options(str, {"auto"})],
        "lime_num_samples": [Interval(numbers.Integral, 10, None, closed="left")],
        "seed": [None, Interval(numbers.Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        model: DecisionSystem,
        masker: Any,
        *,
        target: Any = None,
        model_explainers: str | Mapping[str, str] = "auto",
        policy_importance: str = "geometric",
        metric: str = "quantile",
        p: float = 2.0,
        temperature: float = 0.1,
        max_evals: int | str = "auto",
        lime_num_samples: int = 1000,
        feature_names: list[str] | None = None,
        seed: int | None = None,
    ):
        p = float(p) if isinstance(p, numbers.Real) and not isinstance(p, bool) else p
        params = {"policy_importance": policy_importance, "metric": metric, "p": p,
                  "temperature": temperature, "max_evals": max_evals,
                  "lime_num_samples": lime_num_samples, "seed": seed}  # fmt: skip
        check_params(self, params, self._parameter_constraints)
        if not isinstance(model, DecisionSystem):
            raise InvalidParameterError(
                f"model must be a DecisionSystem, got {type(model).__name__}"
            )
        names = list(model.feature_names_in_) if feature_names is None else list(feature_names)
        super().__init__(model, masker, feature_names=names, output_names=None, seed=seed)
        bg = getattr(self.masker, "data", None)
        if bg is None:
            raise InvalidParameterError("masker must be background data or maskers.Independent")
        self.background_ = check_array(np.asarray(bg), name="masker", ndim=2, dtype=np.float64)
        if self.background_.shape[1] != model.n_features_in_:
            raise InvalidParameterError(
                f"masker has {self.background_.shape[1]} columns, the system {model.n_features_in_}"
            )
        classes = model.classes_.tolist()
        target = classes[-1] if target is None else target
        if target not in classes:
            raise InvalidParameterError(f"target {target!r} is not a decision of {classes}")
        self.target, self.target_index_ = target, classes.index(target)
        self.model_explainers = model_explainers
        self.kinds_ = self._resolve_kinds(model, model_explainers)
        self.policy_importance = policy_importance
        if policy_importance == "shapley" and len(model.policy_inputs_) > MAX_POLICY_VARIABLES:
            raise InvalidParameterError(
                f"policy_importance='shapley' enumerates coalitions of at most "
                f"{MAX_POLICY_VARIABLES} policy variables, the policy has "
                f"{len(model.policy_inputs_)}"
            )
        self.metric, self.p, self.temperature = metric, p, temperature
        self.max_evals, self.lime_num_samples, self.seed = max_evals, lime_num_samples, seed
        self.bg_policy_ = model.policy_values(self.background_)
        self.expected_value = float(
            np.mean(model.predict_proba(self.background_)[:, self.target_index_])
        )

    @staticmethod
    def _resolve_kinds(model: DecisionSystem, spec: str | Mapping[str, str]) -> dict[str, str]:
        if isinstance(spec, str):
            spec = dict.fromkeys(model.output_names_, spec)
        elif not isinstance(spec, Mapping):
            raise InvalidParameterError(f"model_explainers must be a str or mapping, got {spec!r}")
        unknown = set(spec) - set(model.output_names_)
        if unknown:
            raise InvalidParameterError(f"model_explainers names unknown models {sorted(unknown)}")
        kinds = {}
        for name in model.output_names_:
            kind = spec.get(name, "auto")
            if kind not in MODEL_EXPLAINERS:
                raise InvalidParameterError(
                    f"model_explainers[{name!r}] must be one of {MODEL_EXPLAINERS}, got {kind!r}"
                )
            kinds[name] = choose_explainer(model.models[name]) if kind == "auto" else kind
        return kinds

    # --- the three steps --------------------------------------------------------------------
    def geometry(self, X: Any) -> PolicyGeometry:
        """Alvarez distances and importances of the policy variables for rows ``X`` (n, F)."""
        return self._geometry(self.model.policy_values(X))

    def _geometry(self, Z: np.ndarray) -> PolicyGeometry:
        return policy_geometry(self.model.tree_, Z, self.bg_policy_, self.target_index_,
                               metric=self.metric, p=self.p,
                               temperature=self.temperature)  # fmt: skip

    def policy_attributions(self, X: Any) -> np.ndarray:
        """``Phi`` (n, n_policy_inputs): policy-level attributions summing to ``f(x) - E[f]``."""
        Z = self.model.policy_values(X)  # validates X; the models run once
        if self.policy_importance == "shapley":
            return policy_shapley(self.model.tree_, Z, self.bg_policy_, self.target_index_)
        f = self.model._predict_index(Z) == self.target_index_
        return (f - self.expected_value)[:, None] * self._geometry(Z).importance

    def model_attributions(self, X: Any) -> dict[str, np.ndarray]:
        """Per-model attributions ``{output name: (n, F_m)}`` over each model's own columns."""
        X = self.model._check_X(X)
        out = {}
        for name in self.model.output_names_:
            if name not in self.model.policy_inputs_:
                continue
            cols = self.model.model_columns(name)
            out[name] = model_attributions(
                self.kinds_[name], self.model.models[name], self.model._proba_col[name],
                X[:, cols], self.background_[:, cols], max_evals=self.max_evals,
                lime_num_samples=self.lime_num_samples, seed=self.seed,
            )  # fmt: skip
        return out

    def path_attributions(self, X: Any) -> dict[str, np.ndarray]:
        """Contribution (n, n_features) of each policy variable's path to the raw features:
        ``{policy variable: values}``; a model output's path spreads its policy attribution over
        the model's inputs, a raw variable's path is its own column. They add up to
        :meth:`shap_values`."""
        X = self.model._check_X(X)
        phi_policy = self.policy_attributions(X)
        index = {f: i for i, f in enumerate(self.model.feature_names_in_.tolist())}
        per_model = self.model_attributions(X)
        paths = {}
        for j, name in enumerate(self.model.policy_inputs_):
            values = np.zeros(X.shape, dtype=np.float64)
            if name in per_model:
                cols = self.model.model_columns(name)
                values[:, cols] = phi_policy[:, j : j + 1] * _rescale(per_model[name])
            else:
                values[:, index[name]] = phi_policy[:, j]
            paths[name] = values
        return paths

    def shap_values(self, X: Any) -> np.ndarray:
        """Combined attributions (n, n_features) float64 of the raw features."""
        X = self.model._check_X(X)
        return sum(self.path_attributions(X).values(), np.zeros(X.shape, dtype=np.float64))

    def __call__(
        self,
        *args: Any,
        max_evals: Any = "auto",
        main_effects: bool = False,
        error_bounds: bool = False,
        batch_size: Any = "auto",
        outputs: Any = None,
        silent: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Explain rows ``X`` (n, n_features): a ``shap.Explanation`` with values (n, F).

        Raises
        ------
        InvalidParameterError
            Not exactly one input, ``main_effects``/``error_bounds`` requested (not computed),
            ``X`` not 2-D or with NaN.
        """
        check_kwargs("DecisionSystemExplainer.__call__", kwargs)
        if len(args) != 1:
            raise InvalidParameterError("DecisionSystemExplainer explains one input array X")
        if main_effects or error_bounds:
            raise InvalidParameterError("main_effects and error_bounds are not computed here")
        start = time.time()
        X = args[0]
        names = list(X.columns) if hasattr(X, "columns") else self.feature_names
        X = self.model._check_X(np.asarray(X))
        values = self.shap_values(X)
        return shap.Explanation(
            values, base_values=np.full(len(X), self.expected_value), data=X,
            feature_names=names, output_names=str(self.target),
            compute_time=time.time() - start,
        )  # fmt: skip

    def explain_row(self, *row_args: Any, **kwargs: Any) -> dict[str, Any]:
        """shap's per-row protocol: the dict ``Explainer.__call__`` assembles."""
        x = np.asarray(row_args[0], dtype=np.float64).reshape(1, -1)
        return {"values": self.shap_values(x)[0], "expected_values": self.expected_value,
                "mask_shapes": [x.shape[1:]], "main_effects": None, "clustering": None,
                "output_names": None}  # fmt: skip

    def explain_policy(self, X: Any) -> Any:
        """Policy-level ``shap.Explanation``: values ``Phi`` (n, n_policy_inputs) over the policy
        variables, data their values."""
        X = self.model._check_X(X)
        return shap.Explanation(
            self.policy_attributions(X), base_values=np.full(len(X), self.expected_value),
            data=self.model.policy_values(X), feature_names=list(self.model.policy_inputs_),
            output_names=str(self.target),
        )  # fmt: skip

    def explain_text(self, x: Any, *, audience: str = "both", max_reasons: int = 3) -> str:
        """Plain-language reasons for one raw row ``x`` (n_features,).

        ``audience="subject"``: a short reason list for the person the decision is about;
        ``"operator"``: the rule that fired and how far each policy variable is from changing
        the decision; ``"both"``: the two, subject first.

        Raises
        ------
        InvalidParameterError
            An unknown audience, ``max_reasons`` < 1, a row with the wrong size or NaN.
        """
        return explain_text(self, x, audience=audience, max_reasons=max_reasons)
