"""The lpgnn experiment's grid options on Karate Club (no data root needed)."""

from __future__ import annotations

import json

import pytest

from ai4media_ext.experiments._core import run_experiments
from ai4media_ext.experiments.lpgnn import LPGNNExperiment


@pytest.mark.parametrize("plain_ce", [True, False])
def test_the_plain_cross_entropy_ablation_can_be_skipped(tmp_path, plain_ce):
    exp = LPGNNExperiment(models=["sage"], settings=[(1.0, 1.0)], repeats=1, epochs=3,
                          plain_ce=plain_ce)  # fmt: skip
    (path,) = run_experiments([exp], tmp_path, quick=True)
    res = json.loads(path.read_text())
    assert 0.0 <= res["karateclub_sage_ex1_ey1"] <= 100.0
    assert ("karateclub_sage_ex1_ey1_ce" in res) is plain_ce


def test_the_environment_flag_is_validated(monkeypatch):
    monkeypatch.setenv("AI4MEDIA_EXT_LPGNN_PLAIN_CE", "0")
    assert LPGNNExperiment().plain_ce is False
    monkeypatch.setenv("AI4MEDIA_EXT_LPGNN_PLAIN_CE", "maybe")
    with pytest.raises(ValueError, match="AI4MEDIA_EXT_LPGNN_PLAIN_CE must be 0 or 1"):
        LPGNNExperiment()
