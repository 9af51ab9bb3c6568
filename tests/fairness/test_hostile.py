"""Hostile data strings (issue #26 items 1-5) in every place a data string reaches: data set,
attribute, group, label, feature, category, record and model names and the user's outcome words,
rendered as Markdown (every audience), HTML (text and tooltips), plots and JSON."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from ai4media_ext.fairness import AUDIENCES, FairnessReport
from ai4media_ext.fairness._strings import BIDI_CONTROLS, MAX_CHARS, PLOT_CHARS, plain, shorten

HOSTILE = [
    "F\n\n- fake finding",
    "# heading\r\n## two\n===",
    "| a | b |\n|---|---|\n| c | d |",
    "[click](http://evil.example) ![img](x.png) <http://evil.example>",
    "<b>bold</b><script>alert(1)</script><img src=x onerror=alert(2)>",
    "%{y} and %{x:.1%} %{fullData.name}",
    'a"b &quot; &amp; &lt;b&gt; &#34;',
    "\u202eesrever\u202c tail 123",
    "\u2066iso\u2069\u202a\u202b\u202d\u2067\u2068\u200f\u061c",
    "L" * 5000,
    "debt=ratio",
    "1. item\n> quote\n***\n```code```\n    indented",
    "*emph* _u_ `tick` \\ ~~strike~~ <!-- c -->",
    "line\u2028sep\u2029para\x00nul\x85nel\ttab",
    "- list\n+ plus\n* star",
    "\ue000marker\ue001",
]
MD = MarkdownIt("commonmark").enable("table")
FORBIDDEN_INLINE = {"link_open", "image", "html_inline", "code_inline", "s_open"}


def hostile_report(s: str, n_bootstrap: int = 0) -> FairnessReport:
    """A report whose every data string carries ``s`` (with a one-letter tag per place)."""
    from aif360.datasets import BinaryLabelDataset
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    n = 240
    sex = rng.integers(0, 2, n).astype(float)
    debt = rng.integers(10, 40, n).astype(float)
    job = rng.integers(0, 2, n).astype(float)
    y = ((debt < 25) + 0.6 * sex + 0.3 * job + rng.normal(0, 0.3, n) > 0.7).astype(float)
    prot, num, cat = f"A{s}", f"N{s}", f"C{s}"
    df = pd.DataFrame({prot: sex, num: debt, f"{cat}=V{s}": job, f"{cat}=W": 1 - job, "y": y})
    ds = BinaryLabelDataset(
        df=df, label_names=["y"], protected_attribute_names=[prot],
        privileged_protected_attributes=[np.array([1.0])],
        unprivileged_protected_attributes=[np.array([0.0])],
        metadata={"protected_attribute_maps": [{1.0: f"P{s}", 0.0: f"U{s}"}],
                  "label_maps": [{1.0: f"Y{s}", 0.0: "no"}], "categorical_features": [cat]},
    )  # fmt: skip
    ds.instance_names = [f"R{s}{i}" for i in range(n)]
    clf = LogisticRegression().fit(ds.features, ds.labels.ravel())
    report = FairnessReport(
        n_bootstrap=n_bootstrap,
        n_probes=2,
        random_state=0,
        outcome_terms={"favourable": f"F{s}", "unfavourable": f"G{s}"},
        feature_descriptions={num: f"D{s}"},
    ).audit(ds, {f"M{s}": clf}, dataset_name=f"S{s}")
    # this model's counterfactuals change only the number; add a category change to the first
    # probed record so the renderers also place category names and values
    change = {"feature": cat, "from": f"V{s}", "to": "W", "categorical": True}
    report.probes_[f"M{s}"][prot]["records"][0]["counterfactual"]["changes"].append(change)
    return report


def benign(s: str) -> str:
    """A harmless string as long as ``s`` shows (so the same names are shortened)."""
    return "a" * len(plain(s))


def md_structure(text: str) -> list[tuple]:
    out = []
    for t in MD.parse(text):
        children = tuple(c.type for c in t.children or ())
        out.append((t.type, t.tag, t.nesting, children))
    return out


def md_shown(text: str) -> str:
    """The text a Markdown renderer shows (rendered, tags removed, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]*>", " ", MD.render(text)))


class _Bdi(HTMLParser):
    def __init__(self):
        super().__init__()
        self.inside, self.texts, self.titles, self.all_text = 0, [], [], []

    def handle_starttag(self, tag, attrs):
        if tag == "bdi":
            self.inside += 1
            self.texts.append("")
            self.titles.append(dict(attrs).get("title"))

    def handle_endtag(self, tag):
        if tag == "bdi":
            self.inside -= 1

    def handle_data(self, data):
        self.all_text.append(data)
        if self.inside:
            self.texts[-1] += data


def _page_parts(page: str) -> tuple[str, dict]:
    """The page without the embedded plotly.js, and its figure JSON."""
    body = page[page.index("<body") :]
    figures = re.search(r'<script type="application/json" id="figures">(.*?)</script>', body, re.S)
    return body, json.loads(figures.group(1))


def _plot_text(label: str) -> str:
    """What plotly.js shows for a label: it decodes exactly &lt; &gt; &amp;."""
    return label.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@pytest.fixture(scope="module")
def reports():
    return {s: (hostile_report(s), hostile_report(benign(s))) for s in HOSTILE}


@pytest.mark.parametrize("s", HOSTILE, ids=range(len(HOSTILE)))
def test_markdown_structure_is_the_datas_own(reports, s):
    """Item 1: no data string creates Markdown structure; the text shows the name itself."""
    bad, good = reports[s]
    for audience in AUDIENCES:
        text = bad.to_markdown(audience)
        assert md_structure(text) == md_structure(good.to_markdown(audience)), audience
        types = {c.type for t in MD.parse(text) for c in t.children or ()}
        assert not types & FORBIDDEN_INLINE
        assert not BIDI_CONTROLS.search(text) and "\ue000" not in text
        shown = md_shown(text)
        assert shorten(f"U{s}") in shown and shorten(f"S{s}") in shown
        items = [t.content for t in MD.parse(text) if t.type == "inline"]
        assert "fake finding" not in items


@pytest.mark.parametrize("s", HOSTILE, ids=range(len(HOSTILE)))
def test_html_isolates_and_shortens_every_data_string(reports, s):
    """Items 2 and 5: each data string sits in its own <bdi>, without bidi controls, shortened
    with the full name as the tooltip."""
    bad, _ = reports[s]
    page = bad.to_html("public")
    body, figures = _page_parts(page)
    assert not BIDI_CONTROLS.search(body) and "\ue000" not in body
    parser = _Bdi()
    parser.feed(body.split('<section id="full-names">')[0])
    expert = _Bdi()
    expert.feed(_page_parts(bad.to_html("expert"))[0].split('<section id="full-names">')[0])
    record = bad.probes_[f"M{s}"][f"A{s}"]["records"][0]["instance_name"]
    for tagged in ("U", "P", "S", "M", "F", "G", "D", "Y", "V", "C", "A", "N", "R"):
        tagged = record if tagged == "R" else f"{tagged}{s}"
        if tagged[0] == "C":  # a category without a description: shown humanised
            tagged = tagged.replace("_", " ")
        assert shorten(tagged) in parser.texts + expert.texts, tagged
        k = (parser.texts + expert.texts).index(shorten(tagged))
        title = (parser.titles + expert.titles)[k]
        assert title == (plain(tagged) if len(plain(tagged)) > MAX_CHARS else None)
    assert all(len(t) <= MAX_CHARS for t in parser.texts)


@pytest.mark.parametrize("s", HOSTILE, ids=range(len(HOSTILE)))
def test_plot_labels_show_exactly_the_name(reports, s):
    """Item 3: plot names, titles and hovers show the (shortened) name itself, no markup, no
    template field: the hover takes the name through %{fullData.name}."""
    bad, _ = reports[s]
    _, figures = _page_parts(bad.to_html("public"))
    rates = figures["plot-0-rates"]
    names = [_plot_text(t["name"]) for t in rates["data"]]
    assert names == [shorten(f"U{s}", PLOT_CHARS), shorten(f"P{s}", PLOT_CHARS)]
    title = _plot_text(rates["layout"]["title"]["text"])  # no description given: humanised
    assert title.endswith(f"by {shorten(f'A{s}'.replace('_', ' '), 30)}")
    assert f"Share who {shorten(f'got F{s}', 50)}, by" in title
    labels = [t["name"] for f in figures.values() for t in f["data"]]
    labels += [f["layout"]["title"]["text"] for f in figures.values()]
    for label in labels:
        assert not re.search(r"<|>|&(?!amp;|lt;|gt;)", label), label
        assert not BIDI_CONTROLS.search(label)
    for trace in (t for f in figures.values() for t in f["data"]):
        assert trace["hovertemplate"].endswith("<extra>%{fullData.name}</extra>")
    metrics_names = [_plot_text(t["name"]) for t in figures["plot-0-metrics"]["data"]]
    assert metrics_names == [shorten(f"M{s}", PLOT_CHARS)]


@pytest.mark.parametrize("s", HOSTILE, ids=range(len(HOSTILE)))
def test_json_keeps_names_exact_and_sentences_plain(reports, s):
    bad, _ = reports[s]
    doc = json.loads(json.dumps(bad.to_dict(), allow_nan=False))
    assert doc["dataset"]["name"] == f"S{s}"
    assert list(doc["dataset"]["protected_attributes"]) == [f"A{s}"]
    assert doc["dataset"]["protected_attributes"][f"A{s}"]["unprivileged"] == f"U{s}"
    assert doc["models"][0]["name"] == f"M{s}"
    for audience, sentences in doc["models"][0]["fairness"][f"A{s}"]["explanations"].items():
        for text in sentences:
            assert "\n" not in text and "\ue000" not in text and not BIDI_CONTROLS.search(text)
        assert shorten(f"U{s}") in " ".join(sentences), audience


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=80))
def test_generated_strings_never_change_markdown_structure(s):
    bad, good = hostile_report(s), hostile_report(benign(s))
    for audience in ("public", "expert"):
        assert md_structure(bad.to_markdown(audience)) == md_structure(good.to_markdown(audience))
    body, _ = _page_parts(bad.to_html("public"))
    assert html.escape(shorten(f"U{s}"), quote=True) in body
