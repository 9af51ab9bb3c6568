"""Render a fitted FairnessReport: FactSheet JSON, Markdown per audience, one offline HTML page.

Every string that comes from the data (data set, attribute, group, feature and model names,
category values) is escaped for the place it goes: ``html.escape`` in markup, ``\\u003c``-style
escapes in the JSON the page embeds, HTML entities in plotly labels (plotly renders a subset of
HTML in text), and a backslash before Markdown's special characters.
"""

from __future__ import annotations

import html
import json
import math
import re
from typing import Any

from ._catalog import AUDIENCES, CAVEATS, GLOSSARY, METRICS, VERDICT_WORDS, natural_frequency
from .report import SCHEMA

KEY_METRICS = (
    "disparate_impact",
    "statistical_parity_difference",
    "equal_opportunity_difference",
    "average_odds_difference",
    "false_positive_rate_difference",
    "false_negative_rate_difference",
)
AUDIENCE_NAMES = {"expert": "Expert", "decision_maker": "Decision maker", "public": "Public"}


def _clean(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf -> None, numpy scalars -> Python."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, str):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _pct(p: float) -> str:
    return "n/a" if p is None or p != p else f"{100 * p:.1f}%"


def _num(v: float | None) -> str:
    return "n/a" if v is None or v != v else f"{v:.3f}"


# ---------------------------------------------------------------- findings in words
def findings(report: Any, model: str, attribute: str, audience: str) -> list[str]:
    """Plain sentences for one model and attribute at one audience level (unescaped text)."""
    g = report.groups_[attribute]
    gs = report.group_stats_[model][attribute]
    m = report.metrics_[model][attribute]
    u, p = g["unprivileged"], g["privileged"]
    fav = report.favourable_outcome_
    words = VERDICT_WORDS[audience]
    di = m["disparate_impact"]
    if audience == "public":

        def nf(group: str, rate: str) -> str:
            return natural_frequency(gs[group][rate]["value"])

        out = [
            f"Favourable outcome ('{fav}'): {nf('unprivileged', 'selection_rate')} people in the "
            f"{u} group vs {nf('privileged', 'selection_rate')} in the {p} group got it from "
            "the model.",
            f"Among people who really had the favourable outcome, the model gave it to "
            f"{nf('unprivileged', 'true_positive_rate')} in the {u} group vs "
            f"{nf('privileged', 'true_positive_rate')} in the {p} group.",
            f"Among people who did not, the model wrongly gave it to "
            f"{nf('unprivileged', 'false_positive_rate')} in the {u} group vs "
            f"{nf('privileged', 'false_positive_rate')} in the {p} group.",
        ]
        if di["verdict"] != "n/a":
            out.append(
                f"Four-fifths rule (the {u} group's rate should be at least 80% of the {p} "
                f"group's): {words[di['verdict']]}."
            )
        return out
    out = []
    for name in KEY_METRICS if audience == "decision_maker" else METRICS:
        info, e = METRICS[name], m[name]
        if audience == "decision_maker":
            out.append(f"{info.label}: {_num(e['value'])} ({words[e['verdict']]}). {info.meaning}")
        else:
            out.append(
                f"{info.label} = {_num(e['value'])}, {_ci(report, e)}, threshold "
                f"{_band(e['threshold'])}: {words[e['verdict']]}. [{info.definition}]"
            )
    return out


def _ci(report: Any, e: dict) -> str:
    level = round(100 * report.confidence_level)
    if e.get("ci_low") is None or e["ci_low"] != e["ci_low"]:
        return f"{level}% CI n/a"
    return f"{level}% CI [{_num(e['ci_low'])}, {_num(e['ci_high'])}]"


def _band(band: list | None) -> str:
    return "none" if band is None else f"[{band[0]:g}, {band[1]:g}]"


def probe_sentences(report: Any, model: str, attribute: str, audience: str) -> list[str]:
    probes = report.probes_.get(model, {}).get(attribute)
    if not probes:
        return []
    g = report.groups_[attribute]
    out = []
    rate = probes.get("protected_flip_rate")
    if rate is not None:
        if audience == "public":
            out.append(
                f"If only the {attribute} of each person is switched (all else equal), the "
                f"decision changes for {natural_frequency(rate)} people."
            )
        else:
            out.append(
                f"Flipping only '{attribute}' changes {_pct(rate)} of the decisions "
                f"({_pct(probes['protected_flip_to_favourable'])} to favourable, "
                f"{_pct(probes['protected_flip_to_unfavourable'])} to unfavourable)."
            )
    for r in probes["records"]:
        head = f"Record {r['instance_name']} ({g['unprivileged']}, refused"
        if r["probability"] == r["probability"]:
            head += f", p(favourable) = {r['probability']:.2f}"
        head += ")"
        parts = [head]
        if "protected_flipped_decision" in r:
            flipped = "favourable" if r["protected_flipped_decision"] else "still refused"
            parts.append(f"as {g['privileged']}: {flipped}")
        cf = r.get("counterfactual")
        if cf:
            changes = "; ".join(
                f"{c['feature']}: {_fmt(c['from'])} -> {_fmt(c['to'])}" for c in cf["changes"]
            )
            parts.append(f"smallest change found that flips it: {changes or 'none'}")
        out.append(", ".join(parts) + ".")
    return out


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


# ---------------------------------------------------------------- FactSheet JSON
def factsheet(report: Any) -> dict[str, Any]:
    models = []
    for model in report.models_:
        fairness = {}
        for a in report.protected_attributes_:
            fairness[a] = {
                "metrics": report.metrics_[model][a],
                "groups": report.group_stats_[model][a],
                "explanations": {
                    aud: findings(report, model, a, aud) + probe_sentences(report, model, a, aud)
                    for aud in AUDIENCES
                },
            }
        accuracy = report.metrics_[model][report.protected_attributes_[0]]["accuracy"]["value"]
        models.append(
            {
                "name": model,
                "performance": {"accuracy": accuracy},
                "fairness": fairness,
                "probes": report.probes_.get(model, {}),
            }
        )
    return _clean(
        {
            "schema": SCHEMA,
            "dataset": {
                "name": report.dataset_name_,
                "n_records": report.n_records_,
                "favourable_outcome": report.favourable_outcome_,
                "protected_attributes": {
                    a: {k: v for k, v in g.items() if k != "column"}
                    for a, g in report.groups_.items()
                },
            },
            "models": models,
            "methodology": {
                "metrics": {
                    k: {
                        "label": v.label,
                        "definition": v.definition,
                        "ideal": v.ideal,
                        "threshold": report.band(k),
                        "source": v.source,
                    }
                    for k, v in METRICS.items()
                },  # fmt: skip
                "bootstrap_resamples": report.n_bootstrap,
                "confidence_level": report.confidence_level,
                "verdicts": "pass/fail when the value and its whole interval are on one side of "
                "the threshold, borderline when the interval crosses it",
                "metric_implementation": "AIF360 0.6.1 definitions (instance-weighted confusion "
                "counts; Theil index unweighted), vectorised over bootstrap resamples",
            },
            "considerations": {"caveats": list(CAVEATS), "glossary": GLOSSARY},
        }
    )


# ---------------------------------------------------------------- Markdown
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#])")


def md_escape(text: Any) -> str:
    """Literal text in Markdown: HTML characters as entities (no raw HTML can pass through a
    Markdown renderer), Markdown's own specials backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(str(text), quote=False))


def markdown(report: Any, audience: str) -> str:
    lines = [
        f"# Fairness report: {md_escape(report.dataset_name_)}",
        "",
        f"*Audience: {AUDIENCE_NAMES[audience]}* · {report.n_records_} records · favourable "
        f"outcome: {md_escape(report.favourable_outcome_)}",
        "",
    ]
    for a in report.protected_attributes_:
        g = report.groups_[a]
        lines += [
            f"## {md_escape(a)}: {md_escape(g['unprivileged'])} "
            f"({g['n_unprivileged']}) vs {md_escape(g['privileged'])} ({g['n_privileged']})",
            "",
        ]
        for model in report.models_:
            lines += [f"### Model: {md_escape(model)}", ""]
            lines += [f"- {md_escape(s)}" for s in findings(report, model, a, audience)]
            lines += [f"- {md_escape(s)}" for s in probe_sentences(report, model, a, audience)]
            lines.append("")
            if audience == "expert":
                lines += ["| group | n | TP | FP | TN | FN | selection rate | TPR | FPR |",
                          "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
                for cells in _confusion_cells(report, model, a, md_escape):
                    lines.append("| " + " | ".join(cells) + " |")
                lines.append("")
    if audience != "expert":
        lines += ["## What these numbers do and do not mean", ""]
        lines += [f"- {md_escape(c)}" for c in CAVEATS]
        lines += ["", "## Glossary", ""]
        lines += [f"- **{md_escape(k)}**: {md_escape(v)}" for k, v in GLOSSARY.items()]
    else:
        lines += ["## Method", "",
                  f"Percentile bootstrap ({report.n_bootstrap} resamples, "
                  f"{round(100 * report.confidence_level)}% intervals); metric definitions "
                  "as AIF360 0.6.1.", ""]  # fmt: skip
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- HTML
def _script_json(obj: Any) -> str:
    """JSON that cannot end the <script> element it sits in, nor open a comment."""
    text = json.dumps(_clean(obj), allow_nan=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                    ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(ch, esc)
    return text


def _plotly_text(s: Any) -> str:
    # plotly renders a subset of HTML in labels; entities show the characters literally
    return html.escape(str(s), quote=True)


def _error_bars(entries: list[dict]) -> tuple[list[float], list[float]]:
    """Plotly's asymmetric error bars (below, above) from value / ci_low / ci_high entries; a
    missing interval (NaN) draws no bar."""
    lo = [e["value"] - e["ci_low"] if e["ci_low"] == e["ci_low"] else 0.0 for e in entries]
    hi = [e["ci_high"] - e["value"] if e["ci_high"] == e["ci_high"] else 0.0 for e in entries]
    return lo, hi


def _figures(report: Any, a: str) -> dict[str, Any]:
    rates = (("selection_rate", "given the favourable outcome"),
             ("true_positive_rate", "deserving cases recognised"),
             ("false_positive_rate", "wrongly favoured"))  # fmt: skip
    g = report.groups_[a]
    traces = []
    for model in report.models_:
        for key in ("unprivileged", "privileged"):
            s = report.group_stats_[model][a][key]
            vals = [s[r]["value"] for r, _ in rates]
            lo, hi = _error_bars([s[r] for r, _ in rates])
            traces.append({
                "type": "bar", "name": _plotly_text(f"{model}: {g[key]}"),
                "x": [lbl for _, lbl in rates], "y": vals,
                "error_y": {"type": "data", "symmetric": False, "array": hi, "arrayminus": lo},
                "hovertemplate": "%{x}: %{y:.1%}<extra>" + _plotly_text(f"{model}: {g[key]}") + "</extra>",
            })  # fmt: skip
    rates_fig = {
        "data": traces,
        "layout": {"barmode": "group", "yaxis": {"tickformat": ".0%", "range": [0, 1]},
                   "title": {"text": _plotly_text(f"Outcomes by {a}")},
                   "margin": {"t": 40, "b": 40}, "height": 360},
    }  # fmt: skip
    metric_traces = []
    for model in report.models_:
        m = report.metrics_[model][a]
        names = list(KEY_METRICS)
        vals = [m[k]["value"] for k in names]
        lo, hi = _error_bars([m[k] for k in names])
        metric_traces.append({
            "type": "scatter", "mode": "markers", "name": _plotly_text(model),
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
        "layout": {"title": {"text": _plotly_text(f"Fairness metrics for {a} (green: threshold band)")},
                   "shapes": shapes, "margin": {"l": 230, "t": 40}, "height": 360},
    }  # fmt: skip
    return {"rates": rates_fig, "metrics": metrics_fig}


_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:auto;padding:1em;color:#222}
header{border-bottom:2px solid #ccc;margin-bottom:1em}
fieldset{border:1px solid #aaa;display:inline-block}
.lvl{display:none}
body[data-audience=expert] .lvl-expert,body[data-audience=decision_maker] .lvl-decision_maker,
body[data-audience=public] .lvl-public{display:block}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em}
.verdict-pass{color:#060}.verdict-fail{color:#a00;font-weight:bold}.verdict-borderline{color:#a60}
.plot{width:100%;min-height:360px}
body:not([data-audience=expert]) .col-def{display:none}
"""

_JS = """
(function(){
  var figs = JSON.parse(document.getElementById('figures').textContent);
  var cfg = {responsive: true, displaylogo: false};
  Object.keys(figs).forEach(function(id){
    var el = document.getElementById(id);
    if (el) { Plotly.newPlot(el, figs[id].data, figs[id].layout, cfg); }
  });
  function setAudience(a){
    document.body.setAttribute('data-audience', a);
    document.querySelectorAll('.plot').forEach(function(el){
      if (el.offsetParent !== null && el.data) { Plotly.Plots.resize(el); }
    });
  }
  document.querySelectorAll('input[name=audience]').forEach(function(r){
    r.addEventListener('change', function(){ if (r.checked) { setAudience(r.value); } });
  });
})();
"""


def _levels(*levels: str) -> str:
    return "lvl " + " ".join(f"lvl-{x}" for x in levels)


def _ul(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in items) + "</ul>"


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
            f'<section class="attribute" id="attribute-{i}"><h2>{e(a)}: {e(g["unprivileged"])} '
            f"({g['n_unprivileged']}) vs {e(g['privileged'])} ({g['n_privileged']})</h2>",
            f'<div class="plot" id="plot-{i}-rates"></div>',
        ]
        for model in report.models_:
            part.append(f"<h3>Model: {e(model)}</h3>")
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
    glossary = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in GLOSSARY.items())
    method = (
        f"Percentile bootstrap with {report.n_bootstrap} resamples, "
        f"{round(100 * report.confidence_level)}% intervals; metric definitions as AIF360 0.6.1."
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fairness report: {e(report.dataset_name_)}</title>
<style>{_CSS}</style>
<script>{get_plotlyjs()}</script>
</head>
<body data-audience="{audience}">
<header><h1>Fairness report: {e(report.dataset_name_)}</h1>
<p>{report.n_records_} records; favourable outcome: {e(report.favourable_outcome_)};
models: {e(", ".join(report.models_))}.</p>
<fieldset id="audience-switch"><legend>Show the report for</legend>{radios}</fieldset>
</header>
<main>
{"".join(body)}
<section class="{_levels("public", "decision_maker")}" id="caveats">
<h2>What these numbers do and do not mean</h2>{_ul(list(CAVEATS))}
<h2>Glossary</h2><dl>{glossary}</dl></section>
<section class="{_levels("expert")}" id="method"><h2>Method</h2><p>{e(method)}</p></section>
</main>
<script type="application/json" id="figures">{_script_json(figures)}</script>
<script>{_JS}</script>
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


def _confusion_cells(report: Any, model: str, a: str, escape: Any) -> list[list[str]]:
    """Per group: name, n, TP, FP, TN, FN, selection rate, TPR, FPR (as display strings)."""
    rows = []
    for key in ("unprivileged", "privileged"):
        s = report.group_stats_[model][a][key]
        c = s["confusion"]
        rows.append(
            [escape(report.groups_[a][key]), f"{s['num_instances']:g}"]
            + [f"{c[k]:g}" for k in ("tp", "fp", "tn", "fn")]
            + [
                _pct(s[r]["value"])
                for r in ("selection_rate", "true_positive_rate", "false_positive_rate")
            ]
        )
    return rows


def _confusion_table(report: Any, model: str, a: str) -> str:
    rows = "".join(
        "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
        for cells in _confusion_cells(report, model, a, html.escape)
    )
    return (
        "<table><thead><tr><th>group</th><th>n (weighted)</th><th>TP</th><th>FP</th><th>TN</th>"
        "<th>FN</th><th>selection rate</th><th>TPR</th><th>FPR</th></tr></thead><tbody>"
        + rows
        + "</tbody></table>"
    )
