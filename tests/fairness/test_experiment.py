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
    # the public pages speak plainly: named groups, described features, the data set's own words
    bank = (tmp_path / "fairness-report" / "bank" / "bank_fairness_report.public.md").read_text()
    assert "## age group: under 25 or 60 and over" in bank and "age=0" not in bank
    assert "How many were predicted to subscribe? Out of every " in bank
    german = tmp_path / "fairness-report" / "german" / "german_fairness_report.public.md"
    assert "A14" not in german.read_text() and "credit_history" not in german.read_text()


def test_german_credit_is_embedded_and_the_data_root_overrides_it(data_root, monkeypatch):
    """Issue 14, item 8: the package ships UCI's German credit (CC BY 4.0, with attribution);
    without a data root it is the default, byte-identical to the data root's copy."""
    import hashlib

    import numpy as np

    from ai4media_ext.data import load_aif360
    from ai4media_ext.data.tabular import EMBEDDED_ROOT

    raw = EMBEDDED_ROOT / "aif360_raw" / "german"
    assert "CC BY 4.0" in (raw / "ATTRIBUTION.md").read_text()
    digest = hashlib.sha256((raw / "german.data").read_bytes()).hexdigest()
    assert (
        digest
        == hashlib.sha256(
            (data_root / "aif360_raw" / "german" / "german.data").read_bytes()
        ).hexdigest()
    )
    monkeypatch.delenv("AI4MEDIA_EXT_DATA", raising=False)
    embedded = load_aif360("german")
    assert embedded.features.shape == (1000, 58)
    from_root = load_aif360("german", data_root)
    assert np.array_equal(embedded.features, from_root.features)
    assert np.array_equal(embedded.labels, from_root.labels)
    import pytest

    from ai4media_ext.data import DataNotFoundError

    with pytest.raises(DataNotFoundError, match="no data root"):
        load_aif360("adult")  # not embedded: a clear error, never a silent fallback
    with pytest.raises(DataNotFoundError, match="german.data"):
        load_aif360("german", data_root / "graph")  # a data root overrides the embedded copy


def test_fairness_report_experiment_without_data_root_reports_german(tmp_path, monkeypatch):
    monkeypatch.delenv("AI4MEDIA_EXT_DATA", raising=False)
    (path,) = run_experiments([FairnessReportExperiment()], tmp_path, quick=True)
    res = json.loads(path.read_text())
    assert isinstance(res["german_age_disparate_impact_before"], float)
    assert res["german_n_test"] == 300
    assert not any(k.startswith(("adult_", "bank_")) for k in res)
