"""The lpgnn experiment's grid options on Karate Club (no data root needed)."""

from __future__ import annotations

import json
import math

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


def test_parts_of_a_grid_merge_into_one_figure(tmp_path):
    from ai4media_ext.experiments.lpgnn import merge_grid

    parts = []
    for i, (settings, model) in enumerate(
        [([(1.0, 1.0), (math.inf, 1.0)], "sage"), ([(1.0, math.inf)], "gcn")]
    ):
        exp = LPGNNExperiment(models=[model], settings=settings, repeats=2, epochs=3,
                              plain_ce=i == 0)  # fmt: skip
        (path,) = run_experiments([exp], tmp_path / f"part{i}", quick=True)
        parts.append(path)
    a, b = (json.loads(p.read_text()) for p in parts)
    merged = merge_grid(parts, tmp_path / "merged")
    for k in ("karateclub_sage_ex1_ey1", "karateclub_sage_exinf_ey1_ci95",
              "karateclub_sage_ex1_ey1_ce"):  # fmt: skip
        assert merged[k] == a[k]
    assert merged["karateclub_gcn_ex1_eyinf"] == b["karateclub_gcn_ex1_eyinf"]
    assert merged["train_seconds"] == pytest.approx(a["train_seconds"] + b["train_seconds"])
    assert json.loads((tmp_path / "merged" / "results.json").read_text()) == merged
    assert (tmp_path / "merged" / "lpgnn_accuracy.png").stat().st_size > 1000

    b["karateclub_sage_ex1_ey1"] = a["karateclub_sage_ex1_ey1"] + 1.0  # a conflicting part
    parts[1].write_text(json.dumps(b))
    with pytest.raises(ValueError, match="karateclub_sage_ex1_ey1=.*another part"):
        merge_grid(parts, tmp_path / "bad")
    b["epochs"] = 4
    parts[1].write_text(json.dumps(b))
    with pytest.raises(ValueError, match="epochs=4"):
        merge_grid(parts, tmp_path / "bad")
    assert not (tmp_path / "bad" / "results.json").exists()


def test_gat_stacks_are_capped_on_cpu_only():
    exp = LPGNNExperiment(max_stack=12)
    exp._seed = 0
    jobs = [("cora", model, 1.0, 1.0, False) for model in ("gat", "sage")]
    cpu = exp._stacks("cora", jobs, repeats=7, device="cpu")
    assert [len(s) for s in cpu if s[0][0][1] == "gat"] == [3, 3, 1]
    assert [len(s) for s in cpu if s[0][0][1] == "sage"] == [7]
    gpu = exp._stacks("cora", jobs, repeats=7, device="cuda")
    assert [len(s) for s in gpu] == [7, 7]
