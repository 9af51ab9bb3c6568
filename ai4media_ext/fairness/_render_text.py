"""Shared wording of a fitted FairnessReport: findings and probe sentences per audience,
number formats, the glossary and the per-group confusion cells, used by the JSON, Markdown and
HTML renderers.

Every string from the data (data set, attribute, group, feature, category, record and model
names, the user's outcome words) enters a sentence through :func:`._strings.mark`; each renderer
then places it its own way (``_strings.to_html`` / ``to_markdown`` / ``to_text``). The public
and decision-maker levels use plain feature descriptions (:mod:`._wording`), counts over one
common denominator and no model internals (scores, record ids, raw column names); the raw names
appear only at the expert level.
"""

from __future__ import annotations

import math
from typing import Any

from . import _wording as w
from ._catalog import GLOSSARY, METRICS, VERDICT_WORDS
from ._strings import mark

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
    """Sentences for one model and attribute at one audience level (data strings marked)."""
    g = report.groups_[attribute]
    gs = report.group_stats_[model][attribute]
    m = report.metrics_[model][attribute]
    words = VERDICT_WORDS[audience]
    if audience == "expert":
        return [
            f"{info.label} = {_num(m[name]['value'])}, {_ci(report, m[name])}, threshold "
            f"{_band(m[name]['threshold'])}: {words[m[name]['verdict']]}. [{info.definition}]"
            for name, info in METRICS.items()
        ]
    t = {k: mark(v) for k, v in report.outcome_terms_.items()}
    u, p = g["unprivileged"], g["privileged"]

    def rates(rate: str) -> str:
        ur, pr = gs["unprivileged"][rate]["value"], gs["privileged"][rate]["value"]
        if audience == "public":
            return w.compare(ur, pr, u, p) + "."
        return f"{w.percent(ur)} in the {mark(u)} group vs {w.percent(pr)} in the {mark(p)} group."

    out = [
        f"How many {t['favourable_verb']}? {rates('selection_rate')}",
        f"Among people whose recorded outcome was {t['favourable']}, how many "
        f"{t['favourable_verb']}? {rates('true_positive_rate')}",
        f"Among people whose recorded outcome was {t['unfavourable']}, how many "
        f"{t['favourable_verb']} anyway? {rates('false_positive_rate')}",
    ]
    if audience == "decision_maker":
        for name in KEY_METRICS:
            e = m[name]
            out.append(f"{METRICS[name].label}: {_num(e['value'])} ({words[e['verdict']]}). "
                       f"{METRICS[name].meaning}")  # fmt: skip
        return out
    di = m["disparate_impact"]["verdict"]
    if di != "n/a":
        out.append(
            f"Four-fifths rule (each group's share who {t['favourable_verb']} should be at "
            f"least 80% of the other group's): {words[di]}."
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
    """What probing the model around records shows (data strings marked)."""
    probes = report.probes_.get(model, {}).get(attribute)
    if not probes:
        return []
    out = []
    rate = probes.get("protected_flip_rate")
    t = {k: mark(v) for k, v in report.outcome_terms_.items()}
    what = mark(w.describe_feature(report, attribute))
    if rate is not None and audience == "expert":
        out.append(
            f"Flipping only {mark(attribute)} changes {_pct(rate)} of the decisions "
            f"({_pct(probes['protected_flip_to_favourable'])} to favourable, "
            f"{_pct(probes['protected_flip_to_unfavourable'])} to unfavourable)."
        )
    elif rate is not None:
        share = w.share_of_people(rate) if audience == "public" else f"{_pct(rate)} of people"
        out.append(
            f"If only the {what} of each person were switched to the other group's, everything "
            f"else equal, the model's decision would change for {share}."
        )
    elif audience != "public":
        out.append(f"The model does not take {what} as an input, so it cannot be switched.")
    for k, r in enumerate(probes["records"], 1):
        out.append(
            _expert_record(report, attribute, r)
            if audience == "expert"
            else _plain_record(report, attribute, r, k, t)
        )
    return out


def _expert_record(report: Any, attribute: str, r: dict) -> str:
    g = report.groups_[attribute]
    head = f"Record {mark(r['instance_name'])} ({mark(g['unprivileged'])}, unfavourable"
    if r["probability"] == r["probability"]:
        head += f", p(favourable) = {r['probability']:.2f}"
    parts = [head + ")"]
    if "protected_flipped_decision" in r:
        flipped = "favourable" if r["protected_flipped_decision"] else "still unfavourable"
        parts.append(f"as {mark(g['privileged'])}: {flipped}")
    cf = r.get("counterfactual")
    if cf:
        changes = "; ".join(
            f"{mark(c['feature'])}: {_value(c['from'])} -> {_value(c['to'])}" for c in cf["changes"]
        )
        parts.append(f"smallest change found that flips it: {changes or 'none'}")
    return ", ".join(parts) + "."


def _plain_record(report: Any, attribute: str, r: dict, k: int, t: dict[str, str]) -> str:
    g = report.groups_[attribute]
    text = (
        f"Example {k}: a person in the {mark(g['unprivileged'])} group whose decision was "
        f"{t['unfavourable']}."
    )
    if "protected_flipped_decision" in r:
        text += (
            f" In the {mark(g['privileged'])} group, with everything else the same, the decision "
            + (f"would instead have been {t['favourable']}." if r["protected_flipped_decision"]
               else "would have been the same.")
        )  # fmt: skip
    cf = r.get("counterfactual")
    if not cf:
        return text + " No other record in the data suggests a change that would alter it."
    changes = []
    for c in cf["changes"]:
        feature = mark(w.describe_feature(report, c["feature"]))
        if c.get("categorical"):
            new, old = (mark(w.describe_value(report, c["feature"], c[v])) for v in ("to", "from"))
            changes.append(f"{feature} \u201c{new}\u201d instead of \u201c{old}\u201d")
        else:
            changes.append(
                f"{feature} {_plain_number(c['to'])} instead of {_plain_number(c['from'])}"
            )
    listed = ", ".join(changes[:-1]) + (" and " if len(changes) > 1 else "") + changes[-1]
    return f"{text} The smallest change found that would have changed the decision: {listed}."


def glossary(report: Any) -> dict[str, str]:
    """The glossary, with the report's own outcome words (values may hold marked strings)."""
    t = report.outcome_terms_
    return {
        "favourable outcome": "The outcome the people concerned would want; in this report: "
        f"{mark(t['favourable'])} (the other outcome: {mark(t['unfavourable'])}).",
        **{k: v for k, v in GLOSSARY.items() if k != "favourable outcome"},
    }


def _plain_number(v: float) -> str:
    """A number for the public: whole numbers with thousands separators, else 3 significant
    digits."""
    return f"{int(v):,}" if float(v).is_integer() else f"{v:,.3g}"


def _value(v: Any) -> str:
    """A changed value: numbers as ``:g``; category values are data, so marked."""
    return f"{v:g}" if isinstance(v, float) else mark(v)


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


def data_strings(report: Any, audience: str) -> list[str]:
    """Every data string the report shows at ``audience`` (for the list of names in full)."""
    out = [report.dataset_name_, report.favourable_outcome_, *report.models_]
    out += list(report.outcome_terms_.values())
    for a in report.protected_attributes_:
        g = report.groups_[a]
        out += [
            a if audience == "expert" else describe(report, a),
            g["unprivileged"],
            g["privileged"],
        ]
        for probes in report.probes_.values():
            for r in probes.get(a, {}).get("records", []):
                for c in r.get("counterfactual", {}).get("changes", []):
                    out.append(
                        c["feature"] if audience == "expert" else describe(report, c["feature"])
                    )
                    if c.get("categorical"):
                        out += (
                            [c["from"], c["to"]]
                            if audience == "expert"
                            else [
                                w.describe_value(report, c["feature"], c[k]) for k in ("from", "to")
                            ]
                        )
    return [str(s) for s in out]


def describe(report: Any, name: str) -> str:
    return w.describe_feature(report, name)
