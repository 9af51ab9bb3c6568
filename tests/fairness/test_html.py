"""The report page in a real browser (Debian's chromium, headless) and against injection."""

from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from ai4media_ext.fairness import FairnessReport
from ai4media_ext.fairness._strings import shorten

VOID = {"meta", "br", "input", "img", "hr", "link"}
EVIL = '</script><script>window.__pwned=1</script>"\'<img src=x onerror="window.__pwned=2">'


class _Checker(HTMLParser):
    """Counts script elements and checks that every element is closed in order."""

    def __init__(self):
        super().__init__()
        self.stack, self.scripts, self.errors = [], 0, []

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts += 1
        if tag == "img" or any(k.startswith("on") for k, _ in attrs):
            self.errors.append(f"unexpected <{tag} {attrs}>")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def _well_formed(page: str) -> _Checker:
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert not checker.errors, checker.errors[:5]
    assert checker.stack == []
    assert checker.scripts == 3  # plotly, the figure data, the page's own code
    return checker


def test_page_in_headless_chromium(german_report, browser_page, tmp_path):
    path = german_report.write(tmp_path, stem="german")["german.html"]
    _well_formed(path.read_text())
    page = browser_page
    page.goto(path.as_uri())
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length == 4")
    assert page.evaluate("document.body.dataset.audience") == "public"
    table = page.locator("table").first
    assert not table.is_visible()  # the metric table is for experts and decision makers
    assert page.get_by_text("Glossary").is_visible()
    public_text = page.locator("main").inner_text()
    assert "Out of every 10 people: " in public_text or "Out of every 100 people: " in public_text
    page.check("input[value=expert]")
    assert page.evaluate("document.body.dataset.audience") == "expert"
    assert table.is_visible() and page.locator("#method").is_visible()
    assert not page.get_by_text("Glossary").is_visible()
    assert page.locator("th.col-def").first.is_visible()
    page.check("input[value=decision_maker]")
    assert table.is_visible() and not page.locator("th.col-def").first.is_visible()
    shot = tmp_path / "report_decision_maker.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert page.errors == []


@pytest.fixture(scope="module")
def evil_report():
    from aif360.datasets import BinaryLabelDataset
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    n = 400
    s = rng.integers(0, 2, n).astype(float)
    a = rng.normal(size=n)
    job = rng.integers(0, 2, n).astype(float)
    y = (a + 0.8 * s + rng.normal(scale=0.5, size=n) > 0.4).astype(float)
    prot = f"sex{EVIL}"
    df = pd.DataFrame({prot: s, f"score{EVIL}": a, f"job={EVIL}": job, "job=ok": 1 - job, "y": y})
    ds = BinaryLabelDataset(
        df=df, label_names=["y"], protected_attribute_names=[prot],
        privileged_protected_attributes=[np.array([1.0])],
        unprivileged_protected_attributes=[np.array([0.0])],
        metadata={"protected_attribute_maps": [{1.0: f"M{EVIL}", 0.0: f"F{EVIL}"}],
                  "label_maps": [{1.0: f"yes{EVIL}", 0.0: "no"}]},
    )  # fmt: skip
    clf = LogisticRegression().fit(ds.features, ds.labels.ravel())
    report = FairnessReport(n_bootstrap=20, random_state=0).audit(
        ds, {f"model{EVIL}": clf}, dataset_name=f"data{EVIL}"
    )
    assert report.probes_[f"model{EVIL}"][prot]["records"]  # probes render the feature names too
    return report


def test_data_strings_are_escaped(evil_report, browser_page, tmp_path):
    html_text = evil_report.to_html("expert")
    _well_formed(html_text)
    assert "window.__pwned" in html_text  # present, but only as inert text
    assert "<script>window" not in html_text and "<img" not in html_text
    md = evil_report.to_markdown("expert")
    assert "<script>" not in md and "<img" not in md
    path = tmp_path / "evil.html"
    path.write_text(html_text)
    page = browser_page
    page.goto(path.as_uri())
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length == 2")
    page.check("input[value=public]")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    # shown literally, shortened with an ellipsis, the full name as the tooltip
    h1 = page.locator("h1 bdi")
    assert h1.inner_text() == shorten(f"data{EVIL}") and h1.inner_text().endswith("\u2026")
    assert h1.get_attribute("title") == f"data{EVIL}"
    assert page.errors == []


_CHAR_X = """([sel, which]) => {
  // left edge of each non-space character of a text node, in logical order
  const li = document.querySelector(sel);
  const bdi = [...li.querySelectorAll('bdi')].find(b => /esrever|^F$/.test(b.textContent));
  const node = which === 'inside' ? bdi.firstChild : bdi.nextSibling;
  const xs = [];
  for (let i = 0; i < node.length; i++) {
    if (node.data[i] === ' ') continue;
    const r = document.createRange(); r.setStart(node, i); r.setEnd(node, i + 1);
    xs.push(r.getBoundingClientRect().left);
  }
  return xs;
}"""


@pytest.fixture(scope="module")
def spoof_report():
    from aif360.datasets import BinaryLabelDataset
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    n = 300
    s, t, a = (
        rng.integers(0, 2, n).astype(float),
        rng.integers(0, 2, n).astype(float),
        rng.normal(size=n),
    )
    y = (a + 0.8 * s + rng.normal(scale=0.5, size=n) > 0.4).astype(float)
    ds = BinaryLabelDataset(
        df=pd.DataFrame({"s": s, "t": t, "a": a, "y": y}), label_names=["y"],
        protected_attribute_names=["s", "t"],
        privileged_protected_attributes=[np.array([1.0]), np.array([1.0])],
        unprivileged_protected_attributes=[np.array([0.0]), np.array([0.0])],
        metadata={"protected_attribute_maps": [{0.0: "F\u202eesrever 123", 1.0: "%{y}<b>P</b>"},
                                               {0.0: "L" * 5000, 1.0: "short"}]},
    )  # fmt: skip
    clf = LogisticRegression().fit(ds.features, ds.labels.ravel())
    return FairnessReport(n_bootstrap=20, random_state=0).audit(
        ds, {'a"b': clf, "m&amp;2": clf}, dataset_name="hostile"
    )


def test_hostile_labels_in_chromium(spoof_report, browser_page, tmp_path):
    """Items 2, 3 and 5 as a reader sees them: the bidi-spoofing label reads "Fesrever 123" and
    reverses nothing after it; legends and hovers show names exactly; a 5,000-character label
    neither widens the page nor squeezes the plots."""
    path = tmp_path / "spoof.html"
    path.write_text(spoof_report.to_html("public"))
    page = browser_page
    page.goto(path.as_uri())
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length == 4")
    first = "#attribute-0 .lvl-public li"
    label = page.locator(first).first.locator("bdi", has_text="esrever")
    assert label.inner_text() == "Fesrever 123"
    for which in ("inside", "after"):  # left to right, as written: nothing is reversed
        xs = page.evaluate(_CHAR_X, [first, which])
        assert len(xs) > 5 and xs == sorted(xs), which
    # the measurement does detect a reversal: the same text with the raw override is reversed
    page.evaluate("""() => { const li = document.createElement('li'); li.id = 'raw';
        li.innerHTML = 'in the <bdi>F</bdi>\\u202eesrever 123 group vs 7';
        document.querySelector('main').prepend(li); }""")
    xs = page.evaluate(_CHAR_X, ["#raw", "after"])
    assert xs[0] > xs[-1]
    legend = page.evaluate(
        "[...document.querySelectorAll('#plot-0-rates .legendtext')].map(e => e.textContent)"
    )
    assert legend == ['a"b: Fesrever 123', 'a"b: %{y}<b>P</b>',
                      "m&amp;2: Fesrever 123", "m&amp;2: %{y}<b>P</b>"]  # fmt: skip
    page.evaluate("Plotly.Fx.hover('plot-0-rates', [{curveNumber: 1, pointNumber: 0}])")
    hover = page.evaluate("document.querySelector('#plot-0-rates .hoverlayer').textContent")
    assert hover.startswith('a"b: %{y}<b>P</b>')  # the name, not the template filled in
    width, main, plot = page.evaluate(
        "[document.documentElement.scrollWidth, document.querySelector('main').clientWidth,"
        " document.querySelector('#plot-1-rates').getBoundingClientRect().width]"
    )
    assert width <= 1200 and plot >= 0.95 * main
    long = page.locator("#attribute-1 .lvl-public li").first.locator("bdi[title]")
    assert long.inner_text() == "L" * 59 + "\u2026" and long.get_attribute("title") == "L" * 5000
    assert page.errors == []
