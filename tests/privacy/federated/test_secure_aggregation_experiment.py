"""The `secure-aggregation` experiment end to end on scikit-learn digits (no data root)."""

import json

import pytest

from ai4media_ext.experiments import run_experiments
from ai4media_ext.experiments.secure_aggregation import SecureAggregationExperiment


@pytest.mark.slow
def test_secure_aggregation_quick_on_digits(tmp_path):
    (path,) = run_experiments([SecureAggregationExperiment()], tmp_path, quick=True)
    res = json.loads(path.read_text())
    rounds = res["rounds"]
    for name in ("plaintext", "secaggplus", "he", "he_secaggplus", "secaggplus_ddp_eps8",
                 "central_dp_eps8", "local_dp_eps8", "secaggplus_ddp_eps2", "local_dp_eps2"):  # fmt: skip
        assert 0 <= res[f"{name}_acc_round_{rounds}"] <= 1
        assert res[f"{name}_bytes_ratio_vs_float32"] > 0
        assert f"{name}_max_abs_error" in res
    final = {
        k: res[f"{k}_acc_round_{rounds}"] for k in ("plaintext", "secaggplus", "he_secaggplus")
    }
    assert abs(final["secaggplus"] - final["plaintext"]) <= 0.005  # issue 21 goal
    assert abs(final["he_secaggplus"] - final["plaintext"]) <= 0.005
    assert res["secaggplus_bytes_ratio_vs_float32"] <= 2.0
    assert res["secaggplus_max_abs_error"] < 1e-3
    assert (tmp_path / "secure-aggregation" / "accuracy_per_round.png").exists()
