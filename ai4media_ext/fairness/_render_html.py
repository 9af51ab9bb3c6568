"""One self-contained offline HTML page of a fitted FairnessReport: plotly embedded, an audience
switch, the page's CSS and JS read from the package data files ``assets/report.css`` and
``assets/report.js``."""

from __future__ import annotations

import functools
import html
import json
from importlib import resources
from typing import Any

from . import _wording as w
from ._catalog import AUDIENCES, CAVEATS, METRICS, VERDICT_WORDS
from ._render_text import (
    AUDIENCE_NAMES,
    KEY_METRICS,
    _band,
    _clean,
    _confusion_cells,
    _num,
    data_strings,
    findings,
    glossary,
    probe_sentences,
)
from ._strings import html_data, long_names, plot_label, shorten, to_html


@functools.cache
def _asset(name: str) -> str:
    """A package data file of the page (``report.css``, ``report.js``)."""
    return resources.files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


def _script_json(obj: Any) -> str:
    """JSON that cannot end the <script> element it sits in, nor open a comment."""
    text = json.dumps(_clean(obj), allow_nan=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(ch, esc)
    return text


def _error_bars(entries: list[dict]) -> tuple[list[float], list[float]]:
    """Plotly's asymmetric error bars (below, above) from value / ci_low / ci_high entries; a
    missing interval (NaN) draws no bar."""
    lo = [e["value"] - e["ci_low"] if e["ci_low"] == e["ci_low"] else 0.0 for e in entries]
    hi = [e["ci_high"] - e["value"] if e["ci_high"] == e["ci_high"] else 0.0 for e in entries]
    return lo, hi


def _figures(report: Any, a: str) -> dict[str, Any]:
    t = report.outcome_terms_
    rates = (
        ("selection_rate", "everyone"),
        ("true_positive_rate", f"recorded outcome: {plot_label(t['favourable'], 40)}"),
        ("false_positive_rate", f"recorded outcome: {plot_label(t['unfavourable'], 40)}"),
    )
    g = report.groups_[a]
    traces = []
    for model in report.models_:
        for key in ("unprivileged", "privileged"):
            s = report.group_stats_[model][a][key]
            vals = [s[r]["value"] for r, _ in rates]
            lo, hi = _error_bars([s[r] for r, _ in rates])
            name = (
                plot_label(g[key])
                if len(report.models_) == 1
                else (f"{plot_label(model, 20)}: {plot_label(g[key], 30)}")
            )
            # the name enters the hover through %{fullData.name}: plotly does not re-read a
            # substituted value as a template, so a name holding "%{y}" is shown as written
            traces.append(
                {
                    "type": "bar",
                    "name": name,
                    "x": [lbl for _, lbl in rates],
                    "y": vals,
                    "error_y": {"type": "data", "symmetric": False, "array": hi, "arrayminus": lo},
                    "hovertemplate": "%{x}: %{y:.1%}<extra>%{fullData.name}</extra>",
                }
            )
    title = f"Share who {plot_label(t['favourable_verb'], 50)}, by {plot_label(w.describe_feature(report, a), 30)}"
    rates_fig = {
        "data": traces,
        "layout": {"barmode": "group", "yaxis": {"tickformat": ".0%", "range": [0, 1]},
                   "title": {"text": title}, "legend": {"orientation": "h", "y": -0.15},
                   "margin": {"t": 40, "b": 40}, "height": 380},
    }  # fmt: skip
    metric_traces = []
    for model in report.models_:
        m = report.metrics_[model][a]
        names = list(KEY_METRICS)
        vals = [m[k]["value"] for k in names]
        lo, hi = _error_bars([m[k] for k in names])
        metric_traces.append({
            "type": "scatter", "mode": "markers", "name": plot_label(model),
            "hovertemplate": "%{y}: %{x:.3f}<extra>%{fullData.name}</extra>",
            "y": [METRICS[k].label for k in names], "x": vals, "marker": {"size": 10},
            "error_x": {"type": "data", "symmetric": False, "array": hi, "arrayminus": lo},
        })  # fmt: skip
    shapes = []
    for i, k in enumerate(KEY_METRICS):
        band = report.band(k)
        if band:
            shapes.append({"type": "rect", "xref": "x", "yref": "y", "x0": band[0], "x1": band[1],
                           "y0": i - 0.4, "y1": i + 0.4, "fillcolor": "rgba(0,160,0,0.12)",
                           "line": {"width": 0}, "layer": "below"})  # fmt: skip
    metrics_fig = {
        "data": metric_traces,
        "layout": {"title": {"text": f"Fairness metrics for {plot_label(a)} (green: threshold band)"},
                   "shapes": shapes, "margin": {"l": 230, "t": 40}, "height": 360},
    }  # fmt: skip
    return {"rates": rates_fig, "metrics": metrics_fig}


def _levels(*levels: str) -> str:
    return "lvl " + " ".join(f"lvl-{x}" for x in levels)


def _ul(items: list[str]) -> str:
    """Sentences (data strings marked, see ``_strings``) as a list."""
    return "<ul>" + "".join(f"<li>{to_html(s)}</li>" for s in items) + "</ul>"


def html_page(report: Any, audience: str) -> str:
    from plotly.offline import get_plotlyjs

    e = html.escape
    figures: dict[str, Any] = {}
    body = []
    for i, a in enumerate(report.protected_attributes_):
        g = report.groups_[a]
        figs = _figures(report, a)
        figures[f"plot-{i}-rates"] = figs["rates"]
        figures[f"plot-{i}-metrics"] = figs["metrics"]
        part = [
            f'<section class="attribute" id="attribute-{i}"><h2>'
            f"{html_data(w.describe_feature(report, a))}"
            f'<span class="ilvl ilvl-expert"> (column {html_data(a)})</span>: '
            f"{html_data(g['unprivileged'])} ({w.people(g['n_unprivileged'])}) vs "
            f"{html_data(g['privileged'])} ({w.people(g['n_privileged'])})</h2>",
            f'<div class="plot" id="plot-{i}-rates"></div>',
        ]
        for model in report.models_:
            part.append(f"<h3>Model: {html_data(model)}</h3>")
            for aud in AUDIENCES:
                sentences = findings(report, model, a, aud) + probe_sentences(report, model, a, aud)
                part.append(f'<div class="{_levels(aud)}">{_ul(sentences)}</div>')
            part.append(f'<div class="{_levels("expert", "decision_maker")}">'
                        f"{_metric_table(report, model, a)}</div>")  # fmt: skip
            part.append(
                f'<div class="{_levels("expert")}">{_confusion_table(report, model, a)}</div>'
            )
        part.append(f'<div class="{_levels("expert", "decision_maker")}">'
                    f'<div class="plot" id="plot-{i}-metrics"></div></div>')  # fmt: skip
        part.append("</section>")
        body.append("\n".join(part))
    radios = "".join(
        f'<label><input type="radio" name="audience" value="{a}"'
        f"{' checked' if a == audience else ''}> {AUDIENCE_NAMES[a]}</label> "
        for a in AUDIENCES
    )
    terms = "".join(f"<dt>{e(k)}</dt><dd>{to_html(v)}</dd>" for k, v in glossary(report).items())
    full = long_names(data_strings(report, "expert") + data_strings(report, "public"))
    full_names = (
        '<section id="full-names"><h2>Names in full</h2><ol>'
        + "".join(f"<li><bdi>{e(n)}</bdi></li>" for n in full)
        + "</ol></section>"
        if full
        else ""
    )
    method = (
        f"Percentile bootstrap with {report.n_bootstrap} resamples, "
        f"{round(100 * report.confidence_level)}% intervals; metric definitions as AIF360 0.6.1."
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fairness report: {e(shorten(report.dataset_name_))}</title>
<style>{_asset("report.css")}</style>
<script>{get_plotlyjs()}</script>
</head>
<body data-audience="{audience}">
<header><h1>Fairness report: {html_data(report.dataset_name_)}</h1>
<p>{w.people(report.n_records_)}; favourable outcome: {html_data(report.favourable_outcome_)};
models: {", ".join(html_data(m) for m in report.models_)}.</p>
<fieldset id="audience-switch"><legend>Show the report for</legend>{radios}</fieldset>
</header>
<main>
{"".join(body)}
<section class="{_levels("public", "decision_maker")}" id="caveats">
<h2>What these numbers do and do not mean</h2>{_ul(list(CAVEATS))}
<h2>Glossary</h2><dl>{terms}</dl></section>
<section class="{_levels("expert")}" id="method"><h2>Method</h2><p>{e(method)}</p></section>
{full_names}
</main>
<script type="application/json" id="figures">{_script_json(figures)}</script>
<script>{_asset("report.js")}</script>
</body></html>
"""


def _metric_table(report: Any, model: str, a: str) -> str:
    e = html.escape
    level = round(100 * report.confidence_level)
    rows = []
    for name, info in METRICS.items():
        m = report.metrics_[model][a][name]
        rows.append(
            f"<tr><td>{e(info.label)}</td><td>{_num(m['value'])}</td>"
            f"<td>{_num(m['ci_low'])} to {_num(m['ci_high'])}</td><td>{_band(m['threshold'])}</td>"
            f'<td class="verdict-{m["verdict"].replace("/", "")}">{e(VERDICT_WORDS["expert"][m["verdict"]])}</td>'
            f'<td class="col-def">{e(info.definition)}</td></tr>'
        )
    return (
        f"<table><thead><tr><th>metric</th><th>value</th><th>{level}% interval</th>"
        '<th>threshold</th><th>verdict</th><th class="col-def">definition</th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )


def _confusion_table(report: Any, model: str, a: str) -> str:
    rows = "".join(
        "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
        for cells in _confusion_cells(report, model, a, html_data)
    )
    return (
        "<table><thead><tr><th>group</th><th>n (weighted)</th><th>TP</th><th>FP</th><th>TN</th>"
        "<th>FN</th><th>selection rate</th><th>TPR</th><th>FPR</th></tr></thead><tbody>"
        + rows
        + "</tbody></table>"
    )
