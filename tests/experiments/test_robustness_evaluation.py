"""The robustness-evaluation experiment end to end on digits (two methods, one epoch, a few
images: the keys), and its options."""

import json

import pytest

from ai4media_ext.experiments import robustness_evaluation as exp
from ai4media_ext.experiments import run_experiments
from ai4media_ext.experiments._core import RunContext
from ai4media_ext.robustness.evaluation import ATTACKS, CHECKS


def test_keys_of_the_issue_on_digits(tmp_path):
    run_experiments([exp.RobustnessEvaluationExperiment()], tmp_path, quick=True,
                    options={"epochs": "1", "n_attack": "30", "methods": "sm,hcp_sm"})  # fmt: skip
    out = tmp_path / "robustness-evaluation"
    results = json.loads((out / "results.json").read_text())
    for method in ("sm", "hcp_sm"):
        for attack in ATTACKS:
            assert 0.0 <= results[f"digits_{method}_{attack}"] <= 1.0
        assert results[f"digits_{method}_worst_case"] <= results[f"digits_{method}_pgd"]
        for check in CHECKS:
            assert results[f"digits_{method}_masking_{check}"] in (0, 1)
        assert (out / f"digits_{method}_curves.png").exists()
    assert results["digits_n_attack"] == 30 and results["model"] == "cnn"
    assert (out / "digits_accuracy_vs_eps.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "options, match",
    [({"modle": "cnn"}, "unknown option"), ({"model": "vgg"}, "model"),
     ({"epochs": "0"}, "epochs"), ({"model": "resnet18"}, "data-root"),
     ({"methods": "sm,svm"}, "methods"), ({"methods": "hcp_sm,sm"}, "sm must come first")],
)  # fmt: skip
def test_bad_options(tmp_path, options, match):
    ctx = RunContext(out_dir=tmp_path, quick=True, options=options)
    with pytest.raises(ValueError, match=match):
        exp.RobustnessEvaluationExperiment().run(ctx)


def test_cli_passes_options(tmp_path, capsys):
    from ai4media_ext.cli import main

    code = main(["reproduce", "robustness-evaluation", "--option", "nokey", "--out", str(tmp_path)])
    assert code == 2 and "KEY=VALUE" in capsys.readouterr().err
