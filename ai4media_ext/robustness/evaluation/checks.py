"""The gradient-masking checks of Carlini et al., "On Evaluating Adversarial Robustness"
(arXiv:1902.06705, 2019, §5 checklist) and Athalye, Carlini & Wagner (ICML 2018, §3.1), as pure
functions of an accuracy table: each returns ``{"flag": bool, "evaluated": bool, "evidence":
str}``. ``table`` maps an attack name to ``{budget: accuracy}``; accuracies are fractions of all
evaluated samples (clean errors count as non-robust)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = [
    "CHECKS",
    "blackbox_stronger",
    "gradients",
    "iterative_weaker",
    "noise_stronger",
    "non_monotone",
    "unbounded_budget",
]

#: every check, in report order
CHECKS = (
    "iterative_weaker",
    "blackbox_stronger",
    "noise_stronger",
    "unbounded_budget",
    "non_monotone",
    "gradients",
)
WHITE_BOX = ("fgsm", "pgd", "mim", "apgd_ce", "apgd_dlr")
ITERATIVE = ("pgd", "mim", "apgd_ce", "apgd_dlr")
Table = Mapping[str, Mapping[float, float]]


def _verdict(flag: bool, evidence: str, evaluated: bool = True) -> dict:
    return {"flag": bool(flag), "evaluated": bool(evaluated), "evidence": evidence}


def _not_run(why: str) -> dict:
    return _verdict(False, f"not evaluated: {why}", evaluated=False)


def iterative_weaker(table: Table, tol: float) -> dict:
    """Flag when an iterative attack leaves more than ``tol`` more accuracy than single-step
    FGSM at the same budget (an iterative attack does FGSM's step and more)."""
    if "fgsm" not in table:
        return _not_run("FGSM was not run")
    worst = (0.0, "", 0.0)
    for name in ITERATIVE:
        for eps, acc in table.get(name, {}).items():
            if eps in table["fgsm"] and acc - table["fgsm"][eps] > worst[0]:
                worst = (acc - table["fgsm"][eps], name, eps)
    if not any(n in table for n in ITERATIVE):
        return _not_run("no iterative attack was run")
    gap, name, eps = worst
    if gap > tol:
        return _verdict(True, f"{name} leaves {gap:.3f} more accuracy than FGSM at eps={eps:g} "
                              f"({table[name][eps]:.3f} vs {table['fgsm'][eps]:.3f})")  # fmt: skip
    return _verdict(False, f"every iterative attack is within {tol:g} of FGSM or stronger "
                           f"(largest excess {gap:.3f})")  # fmt: skip


def _white_box_min(table: Table, eps: float) -> tuple[float, str]:
    found = [(table[n][eps], n) for n in WHITE_BOX if eps in table.get(n, {})]
    return min(found) if found else (np.nan, "")


def blackbox_stronger(table: Table, eps: float, tol: float) -> dict:
    """Flag when the black-box Square attack or the transfer attack leaves more than ``tol``
    less accuracy than the strongest white-box attack at the evaluation budget."""
    wb, wb_name = _white_box_min(table, eps)
    black = [(table[n][eps], n) for n in ("square", "transfer") if eps in table.get(n, {})]
    if not black or not wb_name:
        return _not_run("needs a white-box and a black-box or transfer attack")
    acc, name = min(black)
    if wb - acc > tol:
        return _verdict(True, f"{name} ({acc:.3f}) beats the strongest white-box attack "
                              f"{wb_name} ({wb:.3f}) by {wb - acc:.3f} at eps={eps:g}")  # fmt: skip
    return _verdict(False, f"best black-box/transfer {name} {acc:.3f} vs white-box {wb_name} "
                           f"{wb:.3f} at eps={eps:g}")  # fmt: skip


def noise_stronger(table: Table, eps: float, tol: float) -> dict:
    """Flag when random noise of the full budget leaves more than ``tol`` less accuracy than the
    strongest white-box attack."""
    wb, wb_name = _white_box_min(table, eps)
    if eps not in table.get("noise", {}) or not wb_name:
        return _not_run("needs random noise and a white-box attack")
    acc = table["noise"][eps]
    if wb - acc > tol:
        return _verdict(True, f"random noise ({acc:.3f}) beats {wb_name} ({wb:.3f}) at "
                              f"eps={eps:g}")  # fmt: skip
    return _verdict(False, f"random noise {acc:.3f} vs white-box {wb_name} {wb:.3f}")


def unbounded_budget(table: Table, eps_max: float, threshold: float) -> dict:
    """Flag when an iterative attack with a budget covering the whole input range (any input
    reachable) leaves more than ``threshold`` accuracy: it should reach about 0."""
    found = [(table[n][eps_max], n) for n in ("pgd", "mim") if eps_max in table.get(n, {})]
    if not found:
        return _not_run("PGD/MIM were not run at the unbounded budget")
    acc, name = min(found)
    if acc > threshold:
        return _verdict(True, f"{name} at eps={eps_max:g} (the whole input range) still leaves "
                              f"accuracy {acc:.3f} > {threshold:g}")  # fmt: skip
    return _verdict(False, f"{name} reaches accuracy {acc:.3f} at eps={eps_max:g}")


def non_monotone(table: Table, tol: float) -> dict:
    """Flag when the accuracy of an iterative attack (PGD, MIM) rises by more than ``tol``
    as the budget grows (a larger budget contains every smaller one)."""
    worst = (0.0, "", 0.0, 0.0)
    for name in ("pgd", "mim"):
        curve = sorted(table.get(name, {}).items())
        for (e0, a0), (e1, a1) in zip(curve, curve[1:], strict=False):
            if a1 - a0 > worst[0]:
                worst = (a1 - a0, name, e0, e1)
    if not any(len(table.get(n, {})) > 1 for n in ("pgd", "mim")):
        return _not_run("needs PGD or MIM at two budgets or more")
    rise, name, e0, e1 = worst
    if rise > tol:
        return _verdict(True, f"{name} accuracy rises by {rise:.3f} from eps={e0:g} to "
                              f"eps={e1:g}")  # fmt: skip
    return _verdict(False, f"PGD/MIM accuracy never rises by more than {tol:g} with the budget")


def gradients(norms: np.ndarray, finite: np.ndarray, threshold: float, max_fraction: float) -> dict:
    """Flag non-finite input gradients, or more than ``max_fraction`` of the (clean-correct)
    inputs with an L-inf gradient norm at or below ``threshold`` (vanished)."""
    if len(norms) == 0:
        return _not_run("no correctly classified input to take gradients at")
    bad = int((~finite).sum())
    vanished = float(np.mean(finite & (norms <= threshold)))
    median = float(np.nanmedian(norms)) if finite.any() else float("nan")
    evidence = (f"{vanished:.3f} of {len(norms)} inputs have |grad|_inf <= {threshold:g}, "
                f"{bad} non-finite; median |grad|_inf {median:.3g}")  # fmt: skip
    return _verdict(bad > 0 or vanished > max_fraction, evidence)
