"""Shared wording of a fitted FairnessReport: findings and probe sentences per audience,
number formats and the per-group confusion cells, used by the JSON, Markdown and HTML renderers.

Every string that comes from the data (data set, attribute, group, feature and model names,
category values) is escaped for the place it goes by the renderer that places it: ``html.escape``
in markup, ``\\u003c``-style escapes in the JSON the page embeds, HTML entities in plotly labels
(plotly renders a subset of HTML in text), and a backslash before Markdown's special characters.
"""

from __future__ import annotations

import math
from typing import Any

from ._catalog import METRICS, VERDICT_WORDS, natural_frequency

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
