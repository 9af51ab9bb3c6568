import json

from ai4media_ext.experiments import run_experiments
from ai4media_ext.experiments.fairness_report import DATASETS, FairnessReportExperiment


def test_fairness_report_experiment_on_real_data(tmp_path, data_root):
    (path,) = run_experiments(
        [FairnessReportExperiment()], tmp_path, quick=True, data_root=data_root
    )
    res = json.loads(path.read_text())
    for name, attributes in DATASETS.items():
        for a in attributes:
            for stage in ("before", "after"):
                for metric in ("disparate_impact", "statistical_parity_difference",
                               "equal_opportunity_difference", "average_odds_difference",
                               "theil_index", "accuracy"):  # fmt: skip
                    assert isinstance(res[f"{name}_{a}_{metric}_{stage}"], float)
        out = tmp_path / "fairness-report" / name
        assert {p.name for p in out.iterdir()} >= {
            f"{name}_fairness_report.html", f"{name}_fairness_report.json",
            f"{name}_fairness_report.public.md",
        }  # fmt: skip
    # Reweighing on sex moves Adult's disparate impact towards 1 at a small accuracy cost
    assert res["adult_sex_disparate_impact_after"] > res["adult_sex_disparate_impact_before"] + 0.1
    assert res["adult_sex_accuracy_after"] > res["adult_sex_accuracy_before"] - 0.03
    assert (tmp_path / "fairness-report" / "disparate_impact.png").stat().st_size > 0
