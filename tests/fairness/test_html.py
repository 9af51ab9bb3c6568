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
