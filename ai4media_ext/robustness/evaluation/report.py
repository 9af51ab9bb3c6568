"""Text and figure output of :class:`RobustnessEvaluation`."""

from __future__ import annotations

import io
from typing import Any

from ..._io import write_bytes_atomic

__all__ = ["plot_curves", "summary_table"]


def summary_table(ev: Any) -> str:
    """Markdown: clean and per-attack accuracy per budget, the worst case, then one line per
    check (FLAG / ok / not evaluated) with its evidence."""
    budgets = sorted({e for curve in ev.table_.values() for e in curve})
    head = "| attack | " + " | ".join(f"eps={e:g}" for e in budgets) + " |"
    lines = [head, "|---" * (len(budgets) + 1) + "|"]
    lines.append("| clean | " + " | ".join(f"{ev.clean_accuracy_:.3f}" for _ in budgets) + " |")
    for attack, curve in [*ev.table_.items(), ("worst case", ev.worst_case_curve_)]:
        cells = [f"{curve[e]:.3f}" if e in curve else "" for e in budgets]
        lines.append(f"| {attack} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Worst-case robust accuracy at eps={ev.eps:g}: {ev.worst_case_:.3f}")
    lines.append("")
    for name, verdict in ev.checks_.items():
        state = "FLAG" if verdict["flag"] else ("ok" if verdict["evaluated"] else "n/a")
        lines.append(f"- {name}: {state} ({verdict['evidence']})")
    lines.append("")
    lines.append(
        "Verdict: " + ("possible gradient masking" if ev.masked_ else "no masking flagged")
    )
    return "\n".join(lines)


def plot_curves(ev: Any, path: Any = None, ax: Any = None) -> Any:
    """Accuracy vs budget (log x) for each attack run at several budgets and the worst case;
    single-budget attacks as points. Saved as PNG to ``path`` through an atomic write."""
    import matplotlib

    if ax is None:
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5.5, 3.8))
    else:
        fig = ax.figure
    for attack, curve in ev.table_.items():
        es = sorted(curve)
        style = "-o" if len(es) > 1 else "s"
        ax.plot(es, [curve[e] for e in es], style, label=attack, ms=4)
    es = sorted(ev.worst_case_curve_)
    ax.plot(es, [ev.worst_case_curve_[e] for e in es], "k--", lw=2, label="worst case")
    ax.set_xscale("log")
    ax.set_xlabel(f"budget eps (L{'-inf' if ev._norm != 2 else '2'})")
    ax.set_ylabel("accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.axvline(ev.eps, color="grey", lw=0.8, ls=":")
    ax.legend(fontsize=7, ncol=2)
    if path is not None:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
        write_bytes_atomic(path, buf.getvalue())
    return fig
