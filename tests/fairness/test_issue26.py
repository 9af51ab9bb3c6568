"""One test per item of issue #26 (1-7), each asserting the right value."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ai4media_ext.fairness import FairnessReport
from ai4media_ext.fairness import _wording as w
from ai4media_ext.fairness._strings import html_data, md_data, plot_label, shorten

from .test_hostile import MD, _page_parts, hostile_report


def _list_items(md: str) -> list[str]:
    tokens = MD.parse(md)
    return [tokens[i + 2].content for i, t in enumerate(tokens) if t.type == "list_item_open"]


def test_item1_newlines_in_a_group_label_add_no_finding():
    assert md_data("F\n\n- fake finding") == "F \\- fake finding"
    bad = hostile_report("F\n\n- fake finding").to_markdown("public")
    good = hostile_report("a" * len("F - fake finding")).to_markdown("public")
    assert len(_list_items(bad)) == len(_list_items(good))
    assert "fake finding" not in _list_items(bad)
    assert any("in the UF \\- fake finding group" in item for item in _list_items(bad))


def test_item2_bidi_controls_are_isolated_and_removed():
    label = "F\u202eesrever 12"
    assert html_data(label) == "<bdi>Fesrever 12</bdi>"
    assert md_data(label) == "Fesrever 12" and plot_label(label) == "Fesrever 12"
    report = hostile_report("\u202eesrever")
    for text in (report.to_markdown("public"), report.to_html("public")[-200_000:]):
        assert "\u202e" not in text
    assert "<bdi>Uesrever</bdi> group" in report.to_html("public")


def test_item3_plot_text_shows_the_name_exactly():
    report = hostile_report('a"b %{y}')
    _, figures = _page_parts(report.to_html("public"))
    trace = figures["plot-0-rates"]["data"][0]
    assert trace["name"] == 'Ua"b %{y}'  # no &quot;: plotly.js would show it literally
    assert trace["hovertemplate"] == "%{x}: %{y:.1%}<extra>%{fullData.name}</extra>"
    assert plot_label("<b>x</b> & y") == "&lt;b&gt;x&lt;/b&gt; &amp; y"


def test_item4_a_numeric_column_with_equals_keeps_its_change():
    """``debt=ratio`` is a number: its counterfactual change (e.g. 24 -> 33) is reported."""
    from aif360.datasets import BinaryLabelDataset
    from sklearn.linear_model import LogisticRegression

    from ai4media_ext.fairness.probing import feature_groups

    groups = feature_groups(["debt=ratio", "job=a", "job=b", "s"], ["job"])
    assert [g.tolist() for g in groups] == [[0], [1, 2], [3]]
    rng = np.random.default_rng(1)
    n = 300
    s = rng.integers(0, 2, n).astype(float)
    debt = rng.integers(10, 50, n).astype(float)
    job = rng.integers(0, 2, n).astype(float)
    y = (debt < 30).astype(float)
    df = pd.DataFrame({"s": s, "debt=ratio": debt, "job=a": job, "job=b": 1 - job, "y": y})
    ds = BinaryLabelDataset(
        df=df, label_names=["y"], protected_attribute_names=["s"],
        privileged_protected_attributes=[np.array([1.0])],
        unprivileged_protected_attributes=[np.array([0.0])],
        metadata={"categorical_features": ["job"]},
    )  # fmt: skip
    clf = LogisticRegression(C=100.0, max_iter=1000).fit(ds.features, ds.labels.ravel())
    report = FairnessReport(n_bootstrap=0, n_probes=3, random_state=0).audit(ds, clf)
    records = report.probes_["model"]["s"]["records"]
    assert records
    for r in records:
        (change,) = [c for c in r["counterfactual"]["changes"] if c["feature"] == "debt=ratio"]
        assert change["from"] == debt[r["index"]] >= 30 > change["to"]
        assert "categorical" not in change
    expert = report.to_markdown("expert")
    c = records[0]["counterfactual"]["changes"][0]
    assert f"debt\\=ratio: {c['from']:g} -\\> {c['to']:g}" in expert
    public = report.to_markdown("public")
    assert f"debt\\=ratio {c['to']:g} instead of {c['from']:g}" in public


def test_item5_long_labels_are_shortened_with_the_full_name_kept():
    long = "L" * 5000
    assert shorten(long) == "L" * 59 + "\u2026"
    report = hostile_report(long)
    page = report.to_html("public")
    assert f'<bdi title="U{long}">U{"L" * 58}\u2026</bdi>' in page
    md = report.to_markdown("public")
    head, full = md.split("\n## Names in full\n")
    assert "L" * 100 not in head and max(len(line) for line in head.splitlines()) < 2000
    listed = [line.split(". ", 1)[1] for line in full.strip().splitlines()]
    assert {f"U{long}", f"P{long}", f"S{long}", f"M{long}"} <= set(listed)
    assert len(listed) == len(set(listed))  # each full name once
    _, figures = _page_parts(page)
    assert all(len(t["name"]) <= 40 for f in figures.values() for t in f["data"])


@pytest.mark.parametrize(
    "rates, expected",
    [((0.6, 0.8), "Out of every 10 people: 6 in the U group vs 8 in the P group"),
     ((0.31, 0.62), "Out of every 10 people: 3 in the U group vs 6 in the P group"),
     ((0.01, 0.5), "Out of every 100 people: 1 in the U group vs 50 in the P group"),
     ((0.0004, 0.3), "Out of every 1,000 people: fewer than 1 in the U group vs 300 in the P group"),
     ((0.0, 1.0), "Out of every 10 people: 0 in the U group vs 10 in the P group"),
     ((0.995, 0.99), "Out of every 1,000 people: 995 in the U group vs 990 in the P group")],
)  # fmt: skip
def test_item6_one_common_denominator(rates, expected):
    from ai4media_ext.fairness._strings import to_text

    assert to_text(w.compare(*rates, "U", "P")) == expected


def test_item6_counts_are_grammatical():
    assert [w.share_of_people(r) for r in (0.0, 1.0, 0.1, 0.03, 0.0001)] == [
        "no one", "everyone", "1 out of every 10 people", "3 out of every 100 people",
        "fewer than 1 out of every 1,000 people",
    ]  # fmt: skip
    assert [w.people(k) for k in (0, 1, 2)] == ["no people", "1 person", "2 people"]


def test_item6_public_level_is_for_the_public(german):
    _, test, clf = german
    terms = {"favourable": "a loan", "unfavourable": "a refusal",
             "favourable_verb": "were granted a loan", "unfavourable_verb": "were refused"}  # fmt: skip
    report = FairnessReport(
        n_bootstrap=0, random_state=0, outcome_terms=terms,
        feature_descriptions={"month": "length of the loan in months"},
    ).audit(test, {"lr": clf})  # fmt: skip
    for audience in ("public", "decision_maker"):
        text = " ".join(report.to_dict()["models"][0]["fairness"]["sex"]["explanations"][audience])
        for internal in ("p(favourable)", "Record ", "->", "credit_history", "_", " in 3 vs"):
            assert internal not in text, (audience, internal)
        assert "How many were granted a loan? " in text
        assert "a person in the Female group whose decision was a refusal." in text
    public = " ".join(report.to_dict()["models"][0]["fairness"]["sex"]["explanations"]["public"])
    assert "How many were granted a loan? Out of every 10 people: " in public
    expert = report.to_markdown("expert")
    assert "Record " in expert and "p(favourable)" in expert
    default = FairnessReport(n_bootstrap=0, random_state=0).audit(test, {"lr": clf})
    text = default.to_markdown("public") + default.to_html("public")[-100_000:]
    for lending in ("loan", "refused", "deserving", "Refused"):
        assert lending not in text
    assert "How many got the favourable outcome?" in text
    # the German metadata describes the coded features; the user's mapping comes first
    assert report.feature_descriptions_["month"] == "length of the loan in months"
    assert w.describe_value(report, "status", "A14") == "no checking account"
    with pytest.raises(ValueError, match="outcome_terms: unknown key 'good'"):
        FairnessReport(outcome_terms={"good": "x"})


def test_item6_flip_sentence_for_no_one(german):
    _, test, clf = german
    report = FairnessReport(n_bootstrap=0, random_state=0).audit(test, {"lr": clf})
    report.probes_["lr"]["sex"]["protected_flip_rate"] = 0.0
    public = report.to_dict()["models"][0]["fairness"]["sex"]["explanations"]["public"]
    assert any(s.endswith("the model's decision would change for no one.") for s in public)


def _compas_csv(path, n=40):
    """A file in the layout of ProPublica's compas-scores-two-years.csv (the columns AIF360's
    CompasDataset reads); every 4th row fails ProPublica's screening filter."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "id": np.arange(1, n + 1), "sex": rng.choice(["Male", "Female"], n),
        "age": rng.integers(18, 70, n), "age_cat": rng.choice(["Less than 25", "25 - 45"], n),
        "race": rng.choice(["African-American", "Caucasian"], n),
        "juv_fel_count": rng.integers(0, 2, n), "juv_misd_count": rng.integers(0, 2, n),
        "juv_other_count": rng.integers(0, 2, n), "priors_count": rng.integers(0, 9, n),
        "c_charge_degree": rng.choice(["F", "M"], n),
        "c_charge_desc": rng.choice(["Battery", "Grand Theft"], n),
        "two_year_recid": rng.integers(0, 2, n), "is_recid": rng.integers(0, 2, n),
        "days_b_screening_arrest": np.where(np.arange(n) % 4 == 0, 99, 0),
        "score_text": "Low",
    })  # fmt: skip
    path.parent.mkdir(parents=True)
    df.to_csv(path, index=False)


def test_item7_every_aif360_loader_through_the_offline_redirect(tmp_path):
    import aif360.datasets

    from ai4media_ext.data import load_aif360
    from ai4media_ext.data._paths import DataNotFoundError
    from ai4media_ext.data.tabular import AIF360_DATASETS

    shipped = {c for c in dir(aif360.datasets) if c.endswith("Dataset") and c[0].isupper()}
    generic = {"Dataset", "StructuredDataset", "BinaryLabelDataset", "StandardDataset", "RegressionDataset",
               "MulticlassLabelDataset"}  # fmt: skip
    shipped |= {c for c in dir(aif360.datasets) if c.startswith("MEPSDataset")}
    assert shipped - generic == {cls for cls, _, _ in AIF360_DATASETS.values()}
    _compas_csv(tmp_path / "aif360_raw" / "compas" / "compas-scores-two-years.csv")
    ds = load_aif360("compas", tmp_path)
    assert ds.features.shape[0] == 30 and ds.protected_attribute_names == ["sex", "race"]
    assert ds.metadata["categorical_features"] == ["age_cat", "c_charge_degree", "c_charge_desc"]
    assert ds.metadata["feature_descriptions"]["priors_count"] == "number of prior offences"
    with pytest.raises(DataNotFoundError, match=r"aif360_raw/meps/h181\.csv.*Data Use Agreement"):
        load_aif360("meps19", tmp_path)
    with pytest.raises(DataNotFoundError, match=r"aif360_raw/meps/h192\.csv.*licence"):
        load_aif360("meps21", tmp_path)
    with pytest.raises(DataNotFoundError, match=r"aif360_raw/law_school/lsac\.sas7bdat"):
        load_aif360("law_school", tmp_path)


def test_item7_law_school_reads_the_local_file_not_the_url(tmp_path, monkeypatch):
    import pandas
    from aif360.sklearn.datasets.lawschool_dataset import LSAC_URL

    from ai4media_ext.data.tabular import _aif360_raw_redirect

    seen = []
    monkeypatch.setattr(pandas, "read_sas", lambda path, *a, **k: seen.append(path))
    with _aif360_raw_redirect(tmp_path):
        pandas.read_sas(LSAC_URL, encoding="utf-8")
    assert seen == [tmp_path / "law_school" / "lsac.sas7bdat"]
    assert json.dumps(str(seen[0]))  # a local path, never the URL


_MEPS_RENAMED = ["FTSTU53X", "ACTDTY53", "HONRDC53", "RTHLTH53", "MNHLTH53", "CHBRON53",
                 "JTPAIN53", "PREGNT53", "WLKLIM53", "ACTLIM53", "SOCLIM53", "COGLIM53",
                 "EMPST53", "REGION53", "MARRY53X", "AGE53X"]  # fmt: skip
_MEPS_KEPT = ["SEX", "HIBPDX", "CHDDX", "ANGIDX", "EDUCYR", "HIDEG", "MIDX", "OHRTDX", "STRKDX",
              "EMPHDX", "CHOLDX", "CANCERDX", "DIABDX", "ARTHDX", "ARTHTYPE", "ASTHDX",
              "ADHDADDX", "DFHEAR42", "DFSEE42", "ADSMOK42", "PHQ242", "PCS42", "MCS42",
              "K6SUM42"]  # fmt: skip


def _meps_csv(path, year: str, n=60):
    """A file in the layout of AHRQ's consolidated file as AIF360's MEPS classes read it
    (``h181.csv`` for 2015, ``h192.csv`` for 2016), panels 19-21 in turn."""
    rng = np.random.default_rng(0)
    cols = {c: rng.integers(1, 3, n) for c in _MEPS_RENAMED + _MEPS_KEPT}
    cols.update(
        {
            f"POVCAT{year}": rng.integers(1, 6, n),
            f"INSCOV{year}": rng.integers(1, 4, n),
            "PANEL": np.resize([19, 20, 21], n),
            "HISPANX": rng.integers(1, 3, n),
            "RACEV2X": rng.integers(1, 3, n),
            f"PERWT{year}F": rng.uniform(500, 9000, n),
        }
    )
    for visits in ("OBTOTV", "OPTOTV", "ERTOT", "IPNGTD", "HHTOTD"):
        cols[f"{visits}{year}"] = rng.integers(0, 6, n)  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(cols).to_csv(path, index=False)


def test_item7_meps_loads_offline_once_the_licensed_file_is_there(tmp_path):
    from ai4media_ext.data import load_aif360

    _meps_csv(tmp_path / "aif360_raw" / "meps" / "h181.csv", "15")
    _meps_csv(tmp_path / "aif360_raw" / "meps" / "h192.csv", "16")
    for name in ("meps19", "meps20", "meps21"):
        ds = load_aif360(name, tmp_path)
        assert ds.features.shape[0] == 20 and ds.protected_attribute_names == ["RACE"]
        assert np.unique(ds.instance_weights).size > 1  # PERWT1xF, the survey weights
        assert "REGION" in ds.metadata["categorical_features"]


def test_item2_explainer_group_names_are_neutralised(german):
    from aif360.metrics import ClassificationMetric

    from ai4media_ext.fairness import AudienceMetricExplainer

    _, test, clf = german
    pred = test.copy(deepcopy=True)
    pred.labels = clf.predict(test.features).reshape(-1, 1)
    metric = ClassificationMetric(test, pred, [{"sex": 0.0}], [{"sex": 1.0}])
    text = AudienceMetricExplainer(metric, "public", ("F\u202e\n- x", "M")).disparate_impact()
    assert "in the F - x group vs" in text and "\u202e" not in text and "\n" not in text
