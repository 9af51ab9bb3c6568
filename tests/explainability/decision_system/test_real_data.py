"""End to end on German credit: the decision system, its structured explanation against
whole-system KernelSHAP and LIME, and the full quick experiment (slow)."""

import json
import warnings

import numpy as np
import pytest

from ai4media_ext.experiments import decision_system as exp
from ai4media_ext.explainability.decision_system import DecisionSystemExplainer


@pytest.fixture(scope="module")
def german(data_root):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return exp.german_case(data_root, 0)


def test_german_system_and_structured_explanation(german):
    system = german.system
    assert system.policy_inputs_ == ["p_default", "credit_amount", "duration", "amount_hat"]
    rate = np.mean(system.predict(german.test) == "approve")
    assert 0.4 < rate < 0.95  # a policy that takes both decisions
    ex = DecisionSystemExplainer(system, german.train[:30], target="approve")
    assert ex.kinds_ == {"p_default": "tree", "amount_hat": "tree"}
    e = ex(german.test[:8])
    f = system.predict_proba(german.test[:8])[:, 1]
    np.testing.assert_allclose(e.values.sum(axis=1) + e.base_values, f, atol=1e-6)
    amount = list(system.feature_names_in_).index("credit_amount")
    assert np.abs(e.values[:, amount]).sum() > 0  # the policy tests the raw amount directly
    text = ex.explain_text(german.test[0])
    assert "Rule fired" in text and ("Main reasons" in text or "usual one" in text)


def test_german_comparison_small(german, tmp_path):
    st = exp.Setting(n_explain=4, background=10, kernel_nsamples=100, perm_max_evals=50,
                     lime_samples=100, stability_rows=2, reruns=2)  # fmt: skip
    methods = exp.explainers(german, german.train[:10], st)
    X = german.test[:3]
    structured = methods["structured"](X, 0)
    kernel = methods["kernelshap"](X, 0)
    lime = methods["lime"](X, 0)
    assert structured.shape == kernel.shape == lime.shape == (3, 20)
    assert np.isfinite(kernel).all() and np.abs(lime).sum() > 0


@pytest.mark.slow
def test_quick_experiment_writes_every_key(data_root, tmp_path):
    from ai4media_ext.experiments._core import RunContext

    ctx = RunContext(out_dir=tmp_path, quick=True, data_root=data_root)
    res = exp.DecisionSystemExperiment().run(ctx)
    for system in ("synthetic", "german", "bank"):
        for method in ("structured", "kernelshap", "permutationshap", "lime"):
            for m in ("deletion_auc", "stability", "seconds_per_explanation"):
                assert np.isfinite(res[f"{system}_{method}_{m}"])
    for method in ("structured", "kernelshap", "permutationshap", "lime"):
        assert 0 <= res[f"synthetic_{method}_topk_recall"] <= 1
        assert -1 <= res[f"synthetic_{method}_spearman_exact"] <= 1
    assert (tmp_path / "german_waterfall_structured.png").stat().st_size > 10_000
    json.dumps(res)
