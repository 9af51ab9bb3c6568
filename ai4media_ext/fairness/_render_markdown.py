"""Markdown of a fitted FairnessReport for one audience (expert, decision maker, public).

Data strings are placed by :mod:`._strings` (``md_data`` / ``to_markdown``): no data string can
create Markdown structure (a line break, list item, heading, table cell, link, emphasis or raw
HTML), and long names are shortened, listed in full under "Names in full".
"""

from __future__ import annotations

from typing import Any

from . import _wording as w
from ._catalog import CAVEATS
from ._render_text import (
    AUDIENCE_NAMES,
    _confusion_cells,
    data_strings,
    findings,
    glossary,
    probe_sentences,
)
from ._strings import long_names, md_data, md_template, to_markdown

md_escape = md_data  # the Markdown escape of one data string (kept public)


def markdown(report: Any, audience: str) -> str:
    lines = [
        f"# Fairness report: {md_data(report.dataset_name_)}",
        "",
        f"*Audience: {AUDIENCE_NAMES[audience]}* · {w.people(report.n_records_)} · favourable "
        f"outcome: {md_data(report.favourable_outcome_)}",
        "",
    ]
    for a in report.protected_attributes_:
        g = report.groups_[a]
        name = md_data(a) if audience == "expert" else md_data(w.describe_feature(report, a))
        lines += [
            f"## {name}: {md_data(g['unprivileged'])} "
            f"({w.people(g['n_unprivileged'])}) vs {md_data(g['privileged'])} ({w.people(g['n_privileged'])})",
            "",
        ]
        for model in report.models_:
            lines += [f"### Model: {md_data(model)}", ""]
            sentences = findings(report, model, a, audience)
            sentences += probe_sentences(report, model, a, audience)
            lines += [f"- {to_markdown(s)}" for s in sentences]
            lines.append("")
            if audience == "expert":
                lines += ["| group | n | TP | FP | TN | FN | selection rate | TPR | FPR |",
                          "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
                for cells in _confusion_cells(report, model, a, md_data):
                    lines.append("| " + " | ".join(cells) + " |")
                lines.append("")
    if audience != "expert":
        lines += ["## What these numbers do and do not mean", ""]
        lines += [f"- {md_template(c)}" for c in CAVEATS]
        lines += ["", "## Glossary", ""]
        lines += [f"- **{md_template(k)}**: {to_markdown(v)}" for k, v in glossary(report).items()]
    else:
        lines += ["## Method", "",
                  f"Percentile bootstrap ({report.n_bootstrap} resamples, "
                  f"{round(100 * report.confidence_level)}% intervals); metric definitions "
                  "as AIF360 0.6.1.", ""]  # fmt: skip
    full = long_names(data_strings(report, audience))
    if full:
        lines += ["", "## Names in full", ""]
        lines += [f"{k}. {md_data(n, limit=len(n))}" for k, n in enumerate(full, 1)]
    return "\n".join(lines) + "\n"
