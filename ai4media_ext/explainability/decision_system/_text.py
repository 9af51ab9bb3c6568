"""Plain-language explanations of one decision: reasons for the person concerned and the
operator's view (rule fired, distance of each policy variable to a change of decision)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..._validation import InvalidParameterError

if TYPE_CHECKING:  # pragma: no cover
    from .explainer import DecisionSystemExplainer

__all__ = ["explain_text"]


def _fmt(v: float) -> str:
    return f"{v:.3g}" if np.isfinite(v) else "inf"


def _subject(ex: DecisionSystemExplainer, x: np.ndarray, decision: Any, k: int) -> list[str]:
    paths = ex.path_attributions(x[None])
    sign = 1.0 if decision == ex.target else -1.0  # > 0 below: supports the decision taken
    support = {name: sign * v[0] for name, v in paths.items()}
    total = sum(support.values())
    order = [i for i in np.argsort(-total) if total[i] > 0][:k]
    lines = [f"Decision: {decision}."]
    if not order:
        return lines + ["No single characteristic stands out: the decision is the usual one."]
    lines.append("Main reasons:")
    for rank, i in enumerate(order, 1):
        name = ex.model.feature_names_in_[i]
        via = [p for p, v in support.items() if v[i] > 0.1 * total[i]]
        how = " and ".join(
            "the policy's own rule on it" if p == name else f"the estimated {p}" for p in via
        )
        lines.append(f"  {rank}. your {name} ({_fmt(x[i])}) weighed towards '{decision}'"
                     + (f" through {how}" if how else "") + ".")  # fmt: skip
    return lines


def _tightest(rules: list[tuple[str, str, float]], order: list[str]) -> list[str]:
    """The path's tests merged per variable: ``lo < v <= hi`` with the tightest bounds."""
    lo: dict[str, float] = {}
    hi: dict[str, float] = {}
    for v, op, t in rules:
        if op == "<=":
            hi[v] = min(hi.get(v, np.inf), t)
        else:
            lo[v] = max(lo.get(v, -np.inf), t)
    out = []
    for v in order:
        if v in lo and v in hi:
            out.append(f"{_fmt(lo[v])} < {v} <= {_fmt(hi[v])}")
        elif v in lo:
            out.append(f"{v} > {_fmt(lo[v])}")
        elif v in hi:
            out.append(f"{v} <= {_fmt(hi[v])}")
    return out


def _operator(ex: DecisionSystemExplainer, x: np.ndarray, decision: Any) -> list[str]:
    system = ex.model
    geo = ex.geometry(x[None])
    z = system.policy_values(x[None])[0]
    rule = " AND ".join(_tightest(system.rules(x), system.policy_inputs_))
    lines = [f"Rule fired: {rule or '(root)'} -> {decision}."]
    if not geo.target[0].any():
        return lines + ["No region of the policy gives another decision."]
    l = int(geo.nearest[0])
    other = system.classes_[system.tree_.leaf_class[system.tree_.leaves[l]]]
    lines.append(f"Nearest region with decision '{other}': distance {_fmt(geo.distance[0, l])} "
                 f"({ex.metric} metric), reached by:")  # fmt: skip
    moves = np.flatnonzero(geo.displacement[0, l] != 0)
    for j in moves[np.argsort(geo.gap[0, l, moves])]:
        new = z[j] + geo.displacement[0, l, j]
        op = ">" if geo.displacement[0, l, j] > 0 else "<="
        lines.append(f"  - {system.policy_inputs_[j]}: {_fmt(z[j])} -> {op} {_fmt(new)} "
                     f"(gap {_fmt(geo.gap[0, l, j])})")  # fmt: skip
    lines.append("Distance to a change of decision moving one policy variable alone:")
    for j, name in enumerate(system.policy_inputs_):
        d = geo.axis_distance[0, j]
        note = _fmt(d) if np.isfinite(d) else "cannot change it alone"
        lines.append(f"  - {name} = {_fmt(z[j])}: {note} "
                     f"(importance {geo.importance[0, j]:.2f})")  # fmt: skip
    return lines


def explain_text(ex: DecisionSystemExplainer, x: Any, *, audience: str, max_reasons: int) -> str:
    if audience not in ("subject", "operator", "both"):
        raise InvalidParameterError(
            f"audience must be 'subject', 'operator' or 'both', got {audience!r}"
        )
    if isinstance(max_reasons, bool) or not isinstance(max_reasons, int) or max_reasons < 1:
        raise InvalidParameterError(f"max_reasons must be an int >= 1, got {max_reasons!r}")
    X = ex.model._check_X(np.asarray(x, dtype=np.float64).reshape(1, -1))
    decision = ex.model.predict(X)[0]
    parts = []
    if audience in ("subject", "both"):
        parts += _subject(ex, X[0], decision, max_reasons)
    if audience in ("operator", "both"):
        parts += (["", "Operator view:"] if parts else []) + _operator(ex, X[0], decision)
    return "\n".join(parts)
