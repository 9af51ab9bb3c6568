"""A decision system: several fitted scikit-learn models whose outputs, with optional raw
features, feed a business-policy tree (seed §4.5)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..._compat import require
from ..._validation import InvalidParameterError, check_array
from ._policy import ThresholdTree, TreeArrays, tree_arrays

__all__ = ["DecisionSystem"]


def _is_classifier(model: Any) -> bool:
    return getattr(model, "_estimator_type", None) == "classifier" or hasattr(
        model, "predict_proba"
    )


class DecisionSystem:
    """Fitted models combined by a policy tree into a decision.

    Parameters
    ----------
    models : mapping of str to fitted estimator
        Output name -> fitted scikit-learn model. A classifier contributes the probability of one
        class (``proba_class``, default its last class, the positive one in binary problems); a
        regressor its prediction.
    policy : sklearn.tree.DecisionTreeClassifier or ThresholdTree
        Fitted over the policy variables ``policy_inputs`` (a hand-written :class:`ThresholdTree`
        names its variables itself).
    feature_names : sequence of str
        Names of the raw input columns of ``X`` (n_features,).
    policy_inputs : sequence of str, optional
        The policy tree's input columns, in order: model output names and raw feature names.
        Default: the tree's ``feature_names_in_`` (fitted on a DataFrame) or the
        :class:`ThresholdTree`'s variables.
    model_features : mapping of str to sequence of str, optional
        Raw columns each model reads (default: all of ``feature_names``, in order).
    proba_class : mapping of str to label, optional
        For classifiers, the class whose probability is the output.

    Attributes
    ----------
    classes_ : numpy.ndarray
        The decisions.
    output_names_ : list of str
        The model outputs, in ``models`` order.
    policy_inputs_ : list of str
    n_features_in_ : int
    feature_names_in_ : numpy.ndarray of str

    Raises
    ------
    sklearn.exceptions.NotFittedError
        A model or the policy tree is not fitted.
    InvalidParameterError
        A policy input that is neither a model output nor a raw feature, a model feature not in
        ``feature_names``, an output name that is also a feature name, a wrong number of policy
        inputs, an unknown ``proba_class``.
    """

    def __init__(
        self,
        models: Mapping[str, Any],
        policy: Any,
        *,
        feature_names: Sequence[str],
        policy_inputs: Sequence[str] | None = None,
        model_features: Mapping[str, Sequence[str]] | None = None,
        proba_class: Mapping[str, Any] | None = None,
    ):
        validation = require("sklearn.utils.validation", "xai")
        if not isinstance(models, Mapping) or not models:
            raise InvalidParameterError("models must be a non-empty mapping name -> fitted model")
        self.models = dict(models)
        self.policy = policy
        self.feature_names_in_ = np.array([str(f) for f in feature_names], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.output_names_ = [str(k) for k in self.models]
        clash = set(self.output_names_) & set(self.feature_names_in_.tolist())
        if clash:
            raise InvalidParameterError(f"model output names clash with feature names: {clash}")
        for name, model in self.models.items():
            validation.check_is_fitted(model, msg=f"model {name!r} is not fitted (%(name)s)")
        if not isinstance(policy, ThresholdTree):
            validation.check_is_fitted(policy, msg="the policy tree is not fitted (%(name)s)")
        self.policy_inputs_ = self._resolve_policy_inputs(policy_inputs)
        self._model_cols = self._resolve_model_features(model_features)
        self._proba_col = self._resolve_proba_class(proba_class or {})
        self.tree_: TreeArrays = tree_arrays(policy, self.policy_inputs_)
        self.classes_ = np.asarray(self.tree_.classes)

    def _resolve_policy_inputs(self, policy_inputs: Sequence[str] | None) -> list[str]:
        if policy_inputs is None:
            if isinstance(self.policy, ThresholdTree):
                policy_inputs = self.policy.variables_
            elif hasattr(self.policy, "feature_names_in_"):
                policy_inputs = list(self.policy.feature_names_in_)
            else:
                raise InvalidParameterError(
                    "policy_inputs is required for a policy tree fitted without feature names"
                )
        names = [str(p) for p in policy_inputs]
        known = set(self.output_names_) | set(self.feature_names_in_.tolist())
        missing = [p for p in names if p not in known]
        if missing:
            raise InvalidParameterError(
                f"policy_inputs {missing} are neither model outputs {self.output_names_} nor raw "
                f"features"
            )
        if isinstance(self.policy, ThresholdTree):
            unknown = [v for v in self.policy.variables_ if v not in names]
            if unknown:
                raise InvalidParameterError(f"the policy tests variables {unknown} not in inputs")
        elif getattr(self.policy, "n_features_in_", len(names)) != len(names):
            raise InvalidParameterError(
                f"the policy tree has {self.policy.n_features_in_} inputs, policy_inputs names "
                f"{len(names)}"
            )
        return names

    def _resolve_model_features(self, model_features: Mapping[str, Sequence[str]] | None):
        index = {f: i for i, f in enumerate(self.feature_names_in_.tolist())}
        cols = {}
        for name in self.output_names_:
            feats = (model_features or {}).get(name)
            if feats is None:
                cols[name] = np.arange(self.n_features_in_)
                continue
            missing = [f for f in feats if f not in index]
            if missing:
                raise InvalidParameterError(f"model_features[{name!r}]: unknown features {missing}")
            cols[name] = np.array([index[f] for f in feats], dtype=np.intp)
        return cols

    def _resolve_proba_class(self, proba_class: Mapping[str, Any]) -> dict[str, int | None]:
        out: dict[str, int | None] = {}
        for name, model in self.models.items():
            if not _is_classifier(model):
                out[name] = None
                continue
            classes = list(np.asarray(model.classes_).tolist())
            label = proba_class.get(name, classes[-1])
            if label not in classes:
                raise InvalidParameterError(f"proba_class[{name!r}]={label!r} not in {classes}")
            out[name] = classes.index(label)
        return out

    # --- evaluation -------------------------------------------------------------------------
    def _check_X(self, X: Any) -> np.ndarray:
        X = check_array(X, name="X", ndim=2, dtype=np.float64)
        if X.shape[1] != self.n_features_in_:
            raise InvalidParameterError(
                f"X has {X.shape[1]} features, the system expects {self.n_features_in_}"
            )
        return X

    def model_columns(self, name: str) -> np.ndarray:
        """Indices of the raw columns model ``name`` reads."""
        return self._model_cols[name]

    def is_classifier(self, name: str) -> bool:
        """Whether model ``name`` contributes a class probability."""
        return self._proba_col[name] is not None

    def model_output(self, name: str, X: np.ndarray) -> np.ndarray:
        """Output of one model on the full raw rows ``X`` (n, n_features) -> (n,) float64."""
        Xm = X[:, self._model_cols[name]]
        model = self.models[name]
        col = self._proba_col[name]
        if col is None:
            return np.asarray(model.predict(Xm), dtype=np.float64).reshape(len(X))
        return np.asarray(model.predict_proba(Xm), dtype=np.float64)[:, col]

    def model_outputs(self, X: Any) -> np.ndarray:
        """Model outputs (n, n_models), columns in ``output_names_`` order."""
        X = self._check_X(X)
        return np.column_stack([self.model_output(n, X) for n in self.output_names_])

    def policy_values(self, X: Any) -> np.ndarray:
        """The policy tree's inputs (n, len(policy_inputs_)): model outputs and raw columns."""
        X = self._check_X(X)
        cols = {n: self.model_output(n, X) for n in self.output_names_ if n in self.policy_inputs_}
        index = {f: i for i, f in enumerate(self.feature_names_in_.tolist())}
        return np.column_stack(
            [cols[p] if p in cols else X[:, index[p]] for p in self.policy_inputs_]
        )

    def _predict_index(self, Z: np.ndarray) -> np.ndarray:
        return self.tree_.leaf_class[self.tree_.apply(Z)]

    def predict(self, X: Any) -> np.ndarray:
        """Decisions (n,) for raw rows ``X`` (n, n_features).

        Raises
        ------
        InvalidParameterError
            ``X`` not 2-D, a wrong number of columns, NaN or inf entries.
        """
        return self.classes_[self._predict_index(self.policy_values(X))]

    def predict_proba(self, X: Any) -> np.ndarray:
        """One-hot decisions (n, n_classes) float64: the policy is deterministic."""
        idx = self._predict_index(self.policy_values(X))
        return np.eye(len(self.classes_))[idx]

    def decision_path(self, X: Any) -> Any:
        """Policy nodes each row visits, as scikit-learn's ``decision_path``: a CSR indicator
        matrix (n, n_nodes); node ids are those of ``tree_``."""
        sparse = require("scipy.sparse", "xai")
        Z = self.tree_.cast(self.policy_values(X))
        t = self.tree_
        node = np.zeros(len(Z), dtype=np.intp)
        rows, cols = [np.arange(len(Z))], [node]
        rng = np.arange(len(Z))
        while True:
            active = t.feature[node] >= 0
            if not active.any():
                break
            f = np.where(active, t.feature[node], 0)
            nxt = np.where(Z[rng, f] <= t.threshold[node], t.left[node], t.right[node])
            node = np.where(active, nxt, node)
            rows.append(rng[active])
            cols.append(node[active])
        r, c = np.concatenate(rows), np.concatenate(cols)
        return sparse.csr_matrix((np.ones(len(r), dtype=np.int64), (r, c)),
                                 shape=(len(Z), len(t.feature)))  # fmt: skip

    def rules(self, x: Any) -> list[tuple[str, str, float]]:
        """The tests one raw row ``x`` (n_features,) satisfies on its path:
        ``[(variable, "<=" or ">", threshold), ...]``."""
        x = np.asarray(x, dtype=np.float64).reshape(1, -1)
        path = self.decision_path(x).indices
        z = self.tree_.cast(self.policy_values(x))[0]
        t = self.tree_
        out = []
        for node in sorted(path):
            f = t.feature[node]
            if f >= 0:
                op = "<=" if z[f] <= t.threshold[node] else ">"
                out.append((self.policy_inputs_[f], op, float(t.threshold[node])))
        return out
