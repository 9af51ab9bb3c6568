"""Markdown of a fitted FairnessReport for one audience (expert, decision maker, public)."""

from __future__ import annotations

import html
import re
from typing import Any

from ._catalog import CAVEATS, GLOSSARY
from ._render_text import AUDIENCE_NAMES, _confusion_cells, findings, probe_sentences

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
