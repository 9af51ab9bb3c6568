"""DecisionSystem: predictions, decision paths, and clear errors on bad inputs."""

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.explainability.decision_system import DecisionSystem, Leaf, Split, ThresholdTree

RNG = np.random.default_rng(1)
X = RNG.normal(size=(300, 4))
NAMES = ["a", "b", "c", "d"]
CLF = LogisticRegression().fit(X[:, :2], (X[:, 0] > 0).astype(int))
REG = LinearRegression().fit(X, X @ [1.0, 0.0, 2.0, 0.0])
POLICY = ThresholdTree(
    Split("p", 0.5, left=Leaf("no"), right=Split("d", 0.0, left=Leaf("yes"), right=Leaf("no")))
)


def make(**kw):
    args = dict(feature_names=NAMES, model_features={"p": ["a", "b"]})
    return DecisionSystem({"p": CLF, "v": REG}, kw.pop("policy", POLICY), **{**args, **kw})


def test_predict_follows_the_hand_written_policy():
    s = make()
    p = CLF.predict_proba(X[:, :2])[:, 1]
    expected = np.where((p > 0.5) & (X[:, 3] <= 0.0), "yes", "no")
    assert (s.predict(X) == expected).all()
    np.testing.assert_allclose(s.model_outputs(X), np.column_stack([p, REG.predict(X)]))
    proba = s.predict_proba(X)
    assert proba.shape == (300, 2) and (proba.sum(axis=1) == 1).all()
    assert (s.classes_[proba.argmax(axis=1)] == expected).all()
    assert s.policy_inputs_ == ["p", "d"]


def test_fitted_policy_decision_path_matches_sklearn():
    s0 = make()
    Z = pd.DataFrame({"p": s0.model_outputs(X)[:, 0], "v": s0.model_outputs(X)[:, 1],
                      "c": X[:, 2]})  # fmt: skip
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(Z, X[:, 1] > 0)
    s = make(policy=tree)
    assert s.policy_inputs_ == ["p", "v", "c"]
    assert (s.predict(X) == tree.predict(Z)).all()
    assert (s.decision_path(X) != tree.decision_path(Z)).nnz == 0
    rules = s.rules(X[0])
    assert len(rules) == tree.decision_path(Z.iloc[:1]).nnz - 1
    assert all(op in ("<=", ">") for _, op, _ in rules)


def test_policy_referring_to_a_missing_output():
    bad = ThresholdTree(Split("risk", 0.5, left=Leaf(0), right=Leaf(1)))
    with pytest.raises(InvalidParameterError, match="risk"):
        make(policy=bad)
    with pytest.raises(InvalidParameterError, match="nope"):
        make(policy_inputs=["p", "nope"])


def test_sklearn_policy_with_wrong_inputs():
    tree = DecisionTreeClassifier(max_depth=2).fit(X[:, :3], X[:, 0] > 0)
    with pytest.raises(InvalidParameterError, match="policy_inputs is required"):
        make(policy=tree)
    with pytest.raises(InvalidParameterError, match="3 inputs"):
        make(policy=tree, policy_inputs=["p", "v"])


def test_unfitted_models_and_policy():
    with pytest.raises(NotFittedError, match="'p' is not fitted"):
        DecisionSystem({"p": LogisticRegression()}, POLICY, feature_names=NAMES)
    with pytest.raises(NotFittedError, match="policy tree is not fitted"):
        make(policy=DecisionTreeClassifier(), policy_inputs=["p"])


def test_bad_rows_and_settings():
    s = make()
    bad = X[:5].copy()
    bad[2, 1] = np.nan
    with pytest.raises(InvalidParameterError, match="X"):
        s.predict(bad)
    with pytest.raises(InvalidParameterError, match="3 features"):
        s.predict(X[:, :3])
    with pytest.raises(InvalidParameterError, match="unknown features"):
        make(model_features={"p": ["a", "zz"]})
    with pytest.raises(InvalidParameterError, match="proba_class"):
        make(proba_class={"p": 7})
    with pytest.raises(InvalidParameterError, match="clash"):
        DecisionSystem({"a": CLF}, POLICY, feature_names=NAMES)
    with pytest.raises(InvalidParameterError, match="non-empty"):
        DecisionSystem({}, POLICY, feature_names=NAMES)


def test_inputs_are_not_mutated():
    s = make()
    x = X[:10].copy()
    s.predict(x), s.decision_path(x), s.rules(x[0])
    np.testing.assert_array_equal(x, X[:10])
