"""DecisionSystemExplainer: the combination rule against closed forms, the policy Shapley step
against shap's ExactExplainer, shap conformance, text views and bad inputs."""

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pytest
import shap
from sklearn.linear_model import LinearRegression

from ai4media_ext import registry
from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.explainability.decision_system import (
    DecisionSystem,
    DecisionSystemExplainer,
    Leaf,
    Split,
    ThresholdTree,
)

RNG = np.random.default_rng(3)
X = RNG.normal(size=(200, 4))
NAMES = ["a", "b", "c", "d"]
M1 = LinearRegression().fit(X[:, :3], X[:, :3] @ [1.0, -2.0, 0.5] + 0.1 * RNG.normal(size=200))
M2 = LinearRegression().fit(X[:, 2:], X[:, 2:] @ [3.0, 1.0])
BG = X[:40]
MODELS = {"o1": M1, "o2": M2}
FEATS = {"o1": ["a", "b", "c"], "o2": ["c", "d"]}


def linear_system(policy):
    return DecisionSystem(MODELS, policy, feature_names=NAMES, model_features=FEATS)


def test_single_split_on_a_linear_model_closed_form():
    system = linear_system(ThresholdTree(Split("o1", 0.0, left=Leaf(0), right=Leaf(1))))
    ex = DecisionSystemExplainer(system, BG)
    x = X[100:130]
    f = (M1.predict(x[:, :3]) > 0).astype(float)
    base = np.mean(M1.predict(BG[:, :3]) > 0)
    phi = M1.coef_ * (x[:, :3] - BG[:, :3].mean(axis=0))  # LinearExplainer, interventional
    expected = np.zeros_like(x)
    expected[:, :3] = (f - base)[:, None] * phi / phi.sum(axis=1, keepdims=True)
    values = ex.shap_values(x)
    np.testing.assert_allclose(values, expected, atol=1e-10)
    np.testing.assert_allclose(values.sum(axis=1) + ex.expected_value, f, atol=1e-10)


def test_two_models_and_a_raw_feature_closed_form():
    policy = ThresholdTree(
        Split("o1", 0.0, left=Split("o2", 1.0, left=Leaf(0), right=Leaf(1)),
              right=Split("d", 0.5, left=Leaf(1), right=Leaf(0)))
    )  # fmt: skip
    system = linear_system(policy)
    ex = DecisionSystemExplainer(system, BG)
    x = X[100:140]
    importance = ex.geometry(x).importance  # (n, 3): o1, o2, d
    f = system.predict_proba(x)[:, 1]
    dev = f - np.mean(system.predict_proba(BG)[:, 1])
    mu = BG.mean(axis=0)
    expected = np.zeros_like(x)
    for j, (model, cols) in enumerate([(M1, [0, 1, 2]), (M2, [2, 3])]):
        phi = model.coef_ * (x[:, cols] - mu[cols])
        expected[:, cols] += (dev * importance[:, j])[:, None] * phi / phi.sum(1, keepdims=True)
    expected[:, 3] += dev * importance[:, 2]
    np.testing.assert_allclose(ex.shap_values(x), expected, atol=1e-10)
    paths = ex.path_attributions(x)
    assert set(paths) == {"o1", "o2", "d"}
    np.testing.assert_allclose(sum(paths.values()), expected, atol=1e-10)
    np.testing.assert_allclose(importance.sum(axis=1), 1.0)


def test_policy_shapley_equals_brute_force_over_permutations(synthetic):
    system = synthetic.system
    bg = synthetic.X[:20]
    ex = DecisionSystemExplainer(system, bg, policy_importance="shapley")
    Zb = system.policy_values(bg)
    Z = system.policy_values(synthetic.X[300:310])

    def value(z, coalition):  # E_bg[f] with the coalition's variables fixed at z
        Zq = Zb.copy()
        Zq[:, list(coalition)] = z[list(coalition)]
        return np.mean(system.tree_.leaf_class[system.tree_.apply(Zq)] == 1)

    perms = list(itertools.permutations(range(3)))
    expected = np.zeros_like(Z)
    for r, z in enumerate(Z):
        for perm in perms:
            for pos, j in enumerate(perm):
                before = perm[:pos]
                expected[r, j] += (value(z, (*before, j)) - value(z, before)) / len(perms)
    np.testing.assert_allclose(ex.policy_attributions(synthetic.X[300:310]), expected,
                               atol=1e-12)  # fmt: skip
    values = ex.shap_values(synthetic.X[300:310])
    f = system.predict_proba(synthetic.X[300:310])[:, 1]
    np.testing.assert_allclose(values.sum(axis=1) + ex.expected_value, f, atol=1e-10)


def test_model_explainer_choice_and_permutation_agreement(synthetic):
    system, bg, x = synthetic.system, synthetic.X[:25], synthetic.X[300:306]
    auto = DecisionSystemExplainer(system, bg)
    assert auto.kinds_ == {"risk": "linear", "value": "tree"}
    perm = DecisionSystemExplainer(system, bg, model_explainers={"value": "permutation"}, seed=0)
    # two inputs: permutation Shapley is exact, as interventional TreeSHAP
    np.testing.assert_allclose(perm.model_attributions(x)["value"],
                               auto.model_attributions(x)["value"], atol=1e-9)  # fmt: skip
    lime_ex = DecisionSystemExplainer(system, bg, model_explainers="lime", lime_num_samples=100,
                                      seed=0)  # fmt: skip
    v = lime_ex.shap_values(x[:1])
    assert v.shape == (1, 12) and np.isfinite(v).all()
    np.testing.assert_allclose(v[:, 6:], 0.0)  # features no model reads


def test_shap_conformance_and_plots(synthetic):
    ex = registry.load("ai4media_ext.shap.explainers", "decision_system")(
        synthetic.system, synthetic.X[:30]
    )
    assert isinstance(ex, shap.Explainer)
    e = ex(synthetic.X[300:310])
    assert isinstance(e, shap.Explanation)
    assert e.values.shape == (10, 12) and e.base_values.shape == (10,)
    assert e.feature_names == [f"x{i}" for i in range(12)]
    assert isinstance(e[0], shap.Explanation) and e[:, "x0"].values.shape == (10,)
    shap.plots.waterfall(e[0], show=False)
    plt.close("all")
    shap.plots.bar(e, show=False)
    plt.close("all")
    shap.plots.beeswarm(e, show=False)
    plt.close("all")
    row = ex.explain_row(synthetic.X[300], max_evals="auto", main_effects=False,
                         error_bounds=False, outputs=None, silent=True)  # fmt: skip
    np.testing.assert_allclose(row["values"], e.values[0])
    p = ex.explain_policy(synthetic.X[300:310])
    assert p.feature_names == ["risk", "value", "x5"] and p.values.shape == (10, 3)


def test_explain_text_views(synthetic):
    ex = DecisionSystemExplainer(synthetic.system, synthetic.X[:30])
    x = synthetic.X[300]
    decision = synthetic.system.predict(x[None])[0]
    subject = ex.explain_text(x, audience="subject")
    assert subject.startswith(f"Decision: {decision}.")
    assert "Rule fired" not in subject
    operator = ex.explain_text(x, audience="operator")
    assert operator.startswith("Rule fired:") and "Nearest region" in operator
    for name in ("risk", "value", "x5"):
        assert f"  - {name} = " in operator
    both = ex.explain_text(x, max_reasons=1)
    assert "Operator view:" in both
    with pytest.raises(InvalidParameterError, match="audience"):
        ex.explain_text(x, audience="boss")
    with pytest.raises(InvalidParameterError, match="max_reasons"):
        ex.explain_text(x, max_reasons=0)


@pytest.mark.parametrize(
    "param, value",
    [("metric", "l3"), ("p", 3), ("temperature", 0.0), ("max_evals", 1),
     ("lime_num_samples", 5), ("seed", -1), ("policy_importance", "tree")],
)  # fmt: skip
def test_invalid_parameters_name_themselves(synthetic, param, value):
    with pytest.raises(InvalidParameterError, match=param):
        DecisionSystemExplainer(synthetic.system, synthetic.X[:10], **{param: value})


def test_bad_inputs(synthetic):
    s, bg = synthetic.system, synthetic.X[:10]
    with pytest.raises(InvalidParameterError, match="DecisionSystem"):
        DecisionSystemExplainer(lambda z: z, bg)
    with pytest.raises(InvalidParameterError, match="target"):
        DecisionSystemExplainer(s, bg, target="maybe")
    with pytest.raises(InvalidParameterError, match="unknown models"):
        DecisionSystemExplainer(s, bg, model_explainers={"nope": "tree"})
    with pytest.raises(InvalidParameterError, match="model_explainers"):
        DecisionSystemExplainer(s, bg, model_explainers="deep")
    with pytest.raises(InvalidParameterError, match="columns"):
        DecisionSystemExplainer(s, bg[:, :5])
    ex = DecisionSystemExplainer(s, bg)
    x = synthetic.X[300:303].copy()
    x[1, 4] = np.nan
    with pytest.raises(InvalidParameterError, match="X"):
        ex(x)
    with pytest.raises(InvalidParameterError, match="main_effects"):
        ex(synthetic.X[300:303], main_effects=True)
    before = synthetic.X[300:303].copy()
    ex(before)
    np.testing.assert_array_equal(before, synthetic.X[300:303])


def test_lime_per_model_signs_follow_the_regressor():
    rng = np.random.default_rng(0)
    Xr = rng.normal(size=(300, 2))
    reg = LinearRegression().fit(Xr, 3.0 * Xr[:, 0] - 2.0 * Xr[:, 1])
    system = DecisionSystem({"o": reg}, ThresholdTree(Split("o", 0.0, left=Leaf(0), right=Leaf(1))),
                            feature_names=["a", "b"])  # fmt: skip
    ex = DecisionSystemExplainer(system, Xr[:50], model_explainers="lime", lime_num_samples=300,
                                 seed=0)  # fmt: skip
    phi = ex.model_attributions(np.array([[1.5, -1.5]]))["o"][0]
    assert phi[0] > 0 and phi[1] > 0  # a high and b low both raise o
