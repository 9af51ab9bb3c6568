import json

import numpy as np
import pytest

from ai4media_ext.fairness import METRICS, FairnessReport, natural_frequency
from ai4media_ext.fairness._catalog import verdict
from ai4media_ext.fairness._wording import common_denominator

from .conftest import toy_dataset


def _aif360_metric(test, pred_labels, attribute):
    from aif360.metrics import ClassificationMetric

    pred = test.copy(deepcopy=True)
    pred.labels = pred_labels.reshape(-1, 1)
    return ClassificationMetric(
        test, pred, unprivileged_groups=[{attribute: 0.0}], privileged_groups=[{attribute: 1.0}]
    )


def test_numbers_equal_aif360_on_german(german, german_report):
    _, test, clf = german
    for a in ("sex", "age"):
        cm = _aif360_metric(test, clf.predict(test.features), a)
        for name in METRICS:
            if name.startswith("base_rate"):
                expected = cm.base_rate(privileged=False) - cm.base_rate(privileged=True)
            else:
                expected = getattr(cm, name)()
            assert german_report.metrics_["lr"][a][name]["value"] == pytest.approx(
                expected, abs=1e-12
            )
        assert german_report.metrics_["lr"][a]["accuracy"]["value"] == pytest.approx(cm.accuracy())
        for key, priv in (("privileged", True), ("unprivileged", False)):
            s = german_report.group_stats_["lr"][a][key]
            assert s["confusion"] == pytest.approx(
                {k.lower(): v for k, v in cm.binary_confusion_matrix(privileged=priv).items()}
            )
            assert s["true_positive_rate"]["value"] == pytest.approx(cm.true_positive_rate(priv))


def test_numbers_equal_aif360_with_instance_weights(german):
    """Reweighing's instance weights enter the group counts exactly as in AIF360."""
    from aif360.algorithms.preprocessing import Reweighing

    train, _, clf = german
    weighted = Reweighing([{"sex": 0.0}], [{"sex": 1.0}]).fit_transform(train)
    assert np.unique(weighted.instance_weights).size > 1
    labels = clf.predict(weighted.features)
    report = FairnessReport(n_bootstrap=0).audit(weighted, labels, protected_attributes=["sex"])
    cm = _aif360_metric(weighted, labels, "sex")
    for name in ("statistical_parity_difference", "disparate_impact", "average_odds_difference",
                 "equal_opportunity_difference", "error_rate_difference", "theil_index"):  # fmt: skip
        assert report.metrics_["model"]["sex"][name]["value"] == pytest.approx(getattr(cm, name)())


def test_hand_computed_toy_case():
    # unprivileged (s=0): y=[1,1,0,0], pred=[1,0,0,0]; privileged (s=1): y=[1,1,0,0], pred=[1,1,1,0]
    ds = toy_dataset(y=[1, 1, 0, 0, 1, 1, 0, 0], s=[0, 0, 0, 0, 1, 1, 1, 1])
    report = FairnessReport(n_bootstrap=0).audit(ds, np.array([1, 0, 0, 0, 1, 1, 1, 0]))
    m = report.metrics_["model"]["s"]
    assert m["statistical_parity_difference"]["value"] == pytest.approx(0.25 - 0.75)
    assert m["disparate_impact"]["value"] == pytest.approx(1 / 3)
    assert m["equal_opportunity_difference"]["value"] == pytest.approx(0.5 - 1.0)
    assert m["false_positive_rate_difference"]["value"] == pytest.approx(0.0 - 0.5)
    assert m["average_odds_difference"]["value"] == pytest.approx(-0.5)
    assert m["disparate_impact"]["verdict"] == "fail" and m["theil_index"]["verdict"] == "n/a"
    # b = [1,0,1,1, 1,1,2,1], mu = 1: Theil = (2 ln 2) / 8
    assert m["theil_index"]["value"] == pytest.approx(2 * np.log(2) / 8)
    cm = report.group_stats_["model"]["s"]["unprivileged"]["confusion"]
    assert cm == {"tp": 1.0, "fp": 0.0, "tn": 2.0, "fn": 1.0}


@pytest.mark.parametrize(
    "p, text",
    [(0.25, "1 in 4"), (0.31, "about 1 in 3"), (0.7, "7 in 10"), (0.97, "97 in 100"),
     (0.0, "none"), (1.0, "all"), (0.0004, "1 in 2500"), (0.45, "about 4 in 10")],
)  # fmt: skip
def test_natural_frequency(p, text):
    assert natural_frequency(p) == text


def test_verdicts_use_the_interval():
    band = (0.8, 1.25)
    assert verdict(0.9, (0.85, 0.95), band) == "pass"
    assert verdict(0.7, (0.6, 0.75), band) == "fail"
    assert verdict(0.82, (0.7, 0.9), band) == "borderline"
    assert verdict(0.5, (0.4, 0.6), None) == "n/a"


def test_bootstrap_interval_covers_value_and_is_reproducible(german):
    _, test, clf = german
    a = FairnessReport(n_bootstrap=200, random_state=3).audit(test, clf)
    b = FairnessReport(n_bootstrap=200, random_state=3).audit(test, clf)
    for name in METRICS:
        e = a.metrics_["model"]["sex"][name]
        assert e == b.metrics_["model"]["sex"][name]
        assert e["ci_low"] <= e["value"] <= e["ci_high"]


def test_audience_changes_wording_never_numbers(german_report):
    doc = german_report.to_dict()
    fair = doc["models"][0]["fairness"]["sex"]
    texts = fair["explanations"]
    assert texts["expert"] != texts["public"] != texts["decision_maker"]
    sel = fair["groups"]["unprivileged"]["selection_rate"]["value"]
    priv = fair["groups"]["privileged"]["selection_rate"]["value"]
    d, (a, b) = common_denominator([sel, priv])
    assert (
        f"Out of every {d:,} people: {a} in the Female group vs {b} in the Male group"
        in (texts["public"][0])
    )
    di = fair["metrics"]["disparate_impact"]["value"]
    assert f"{di:.3f}" in " ".join(texts["expert"]) and f"{di:.3f}" in " ".join(
        texts["decision_maker"]
    )
    # every rendering reads the same fitted numbers
    md = {a: german_report.to_markdown(a) for a in ("expert", "decision_maker")}
    assert f"{di:.3f}" in md["expert"] and f"{di:.3f}" in md["decision_maker"]
    assert "Glossary" in german_report.to_markdown("public")
    json.dumps(doc, allow_nan=False)  # strict JSON


def test_probes_flip_the_decision_without_touching_protected_columns(german, german_report):
    _, test, clf = german
    names = list(test.feature_names)
    probes = german_report.probes_["lr"]["sex"]
    assert 0 <= probes["protected_flip_rate"] <= 1 and probes["records"]
    for r in probes["records"]:
        assert r["decision"] is False
        cf = r["counterfactual"]
        assert cf["decision"] is True and cf["changes"]
        assert not {"sex", "age"} & {c["feature"] for c in cf["changes"]}
        assert all(
            c["feature"].split("=")[0] in {n.split("=")[0] for n in names} for c in cf["changes"]
        )


def test_write_is_atomic_and_complete(german_report, tmp_path, monkeypatch):
    paths = german_report.write(tmp_path, stem="g")
    assert sorted(p.name for p in paths.values()) == sorted(
        ["g.html", "g.json", "g.expert.md", "g.decision_maker.md", "g.public.md"]
    )
    assert json.loads((tmp_path / "g.json").read_text())["schema"].startswith("ai4media-ext/")
    out = tmp_path / "broken"

    def boom(*args, **kwargs):
        raise RuntimeError("render failed")

    monkeypatch.setattr(FairnessReport, "to_markdown", boom)
    with pytest.raises(RuntimeError):
        german_report.write(out, stem="g")
    assert not out.exists() or not any(out.iterdir())  # nothing half-written


def test_bad_inputs(german):
    _, test, clf = german
    with pytest.raises(ValueError, match="predictions for 'model' have 10 entries"):
        FairnessReport().audit(test, np.ones(10))
    with pytest.raises(TypeError, match="BinaryLabelDataset"):
        FairnessReport().audit(test.convert_to_dataframe()[0], clf)
    with pytest.raises(ValueError, match="not in the data set"):
        FairnessReport().audit(test, clf, protected_attributes=["colour"])
    single = toy_dataset(y=[1, 0, 1, 0], s=[1, 1, 1, 1])
    with pytest.raises(ValueError, match="'s' has a single group"):
        FairnessReport().audit(single, np.array([1, 0, 1, 0]))
    missing = toy_dataset(y=[1, 0, 1, 0], s=[1, 0, 1, 0])
    missing.protected_attributes[1, 0] = np.nan
    with pytest.raises(ValueError, match="'s' has 1 missing values"):
        FairnessReport().audit(missing, np.array([1, 0, 1, 0]))
    with pytest.raises(ValueError, match="confidence_level"):
        FairnessReport(confidence_level=1.5)
    with pytest.raises(ValueError, match="n_bootstrap"):
        FairnessReport(n_bootstrap=-1)
    with pytest.raises(ValueError, match="unknown metric"):
        FairnessReport(thresholds={"nope": (0, 1)})
    with pytest.raises(RuntimeError, match="audit"):
        FairnessReport().to_html()
    ok = toy_dataset(y=[1, 0, 1, 0], s=[1, 0, 1, 0])
    report = FairnessReport(n_bootstrap=0).audit(ok, np.array([1, 0, 1, 0]))
    with pytest.raises(ValueError, match="audience"):
        report.to_markdown("children")


def test_caller_data_not_mutated(german):
    _, test, clf = german
    before = (test.features.copy(), test.labels.copy(), test.protected_attributes.copy())
    FairnessReport(n_bootstrap=10, random_state=0).audit(test, clf)
    assert np.array_equal(before[0], test.features)
    assert np.array_equal(before[1], test.labels)
    assert np.array_equal(before[2], test.protected_attributes)


def test_registry_builds_report_and_explainer():
    from ai4media_ext import registry

    report = registry.build("ai4media_ext.aif360.reports", "fairness_report", {"n_bootstrap": 5})
    assert isinstance(report, FairnessReport) and report.n_bootstrap == 5
    from aif360.explainers import Explainer

    assert issubclass(registry.load("ai4media_ext.aif360.explainers", "audience_metric"), Explainer)
