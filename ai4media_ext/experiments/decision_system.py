"""Explaining decision systems built from several models (seed §4.5): the structured
explanation (policy geometry x per-model SHAP) against whole-system KernelSHAP, PermutationSHAP
and LIME, on a synthetic system with exact Shapley values and on German credit / Bank marketing."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._io import write_text_atomic
from ._core import Experiment, RunContext, save_figure

METHODS = ("structured", "chainshap", "structuredlime", "kernelshap", "permutationshap", "lime")


@dataclass
class Setting:
    n_explain: int
    background: int
    kernel_nsamples: int | str
    perm_max_evals: int
    lime_samples: int
    stability_rows: int
    reruns: int = 10


QUICK = Setting(n_explain=12, background=30, kernel_nsamples=500, perm_max_evals=500,
                lime_samples=1000, stability_rows=3)  # fmt: skip
FULL = Setting(n_explain=40, background=50, kernel_nsamples="auto", perm_max_evals=1000,
               lime_samples=5000, stability_rows=10)  # fmt: skip


@dataclass
class Case:
    system: Any
    train: np.ndarray
    test: np.ndarray
    target: Any
    relevant: tuple[int, ...] | None = None


def german_case(root: Path, seed: int) -> Case:
    """Default-risk classifier + credit-amount regressor, combined by a credit policy."""
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

    from ..data.tabular_raw import load_tabular_raw
    from ..explainability.decision_system import DecisionSystem, Leaf, Split, ThresholdTree

    t = load_tabular_raw("german", root)
    idx = np.random.default_rng(seed).permutation(len(t.y))
    tr, te = idx[:700], idx[700:]
    names = t.feature_names
    amount = names.index("credit_amount")
    others = [n for n in names if n != "credit_amount"]
    cols = [names.index(n) for n in others]
    risk = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=seed)
    risk.fit(t.X[tr], 1 - t.y[tr])  # P(bad credit) = P(default)
    amount_hat = GradientBoostingRegressor(n_estimators=100, max_depth=3, random_state=seed)
    amount_hat.fit(t.X[tr][:, cols], t.X[tr, amount])
    policy = ThresholdTree(
        Split("p_default", 0.5,
              left=Split("credit_amount", 7500,
                         left=Split("p_default", 0.3, left=Leaf("approve"),
                                    right=Split("duration", 24, left=Leaf("approve"),
                                                right=Leaf("reject"))),
                         right=Split("amount_hat", 5000, left=Leaf("reject"),
                                     right=Leaf("approve"))),
              right=Leaf("reject")),
        classes=["reject", "approve"],
    )  # fmt: skip
    system = DecisionSystem({"p_default": risk, "amount_hat": amount_hat}, policy,
                            feature_names=names, model_features={"amount_hat": others})  # fmt: skip
    return Case(system, t.X[tr], t.X[te], "approve")


def bank_case(root: Path, seed: int, n: int) -> Case:
    """Subscription classifier + call-duration regressor, combined by a fitted campaign policy
    (``DecisionTreeClassifier(max_depth=3, class_weight="balanced")``). ``duration`` is known only
    after the call, so it is the regressor's target and not a system input."""
    import pandas as pd
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
    from sklearn.tree import DecisionTreeClassifier

    from ..data.tabular_raw import load_tabular_raw
    from ..explainability.decision_system import DecisionSystem

    t = load_tabular_raw("bank", root)
    idx = np.random.default_rng(seed).permutation(len(t.y))[:n]
    d = t.feature_names.index("duration")
    keep = [i for i in range(len(t.feature_names)) if i != d]
    names = [t.feature_names[i] for i in keep]
    X, y, dur = t.X[idx][:, keep], t.y[idx], t.X[idx, d]
    a, b = int(0.5 * n), int(0.8 * n)  # models | policy | test
    sub = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=seed)
    sub.fit(X[:a], y[:a])
    dur_hat = GradientBoostingRegressor(n_estimators=100, max_depth=3, random_state=seed)
    dur_hat.fit(X[:a], dur[:a])
    inputs = ["p_subscribe", "duration_hat", "campaign", "age"]
    Zp = pd.DataFrame({"p_subscribe": sub.predict_proba(X[a:b])[:, 1],
                       "duration_hat": dur_hat.predict(X[a:b]),
                       "campaign": X[a:b, names.index("campaign")],
                       "age": X[a:b, names.index("age")]})[inputs]  # fmt: skip
    policy = DecisionTreeClassifier(max_depth=3, class_weight="balanced", random_state=seed)
    policy.fit(Zp, np.where(y[a:b] == 1, "call", "skip"))
    system = DecisionSystem({"p_subscribe": sub, "duration_hat": dur_hat}, policy,
                            feature_names=names)  # fmt: skip
    return Case(system, X[:a], X[b:], "call")


def synthetic_case(seed: int) -> Case:
    from ..explainability.decision_system.synthetic import make_synthetic_system

    s = make_synthetic_system(2000, random_state=seed)
    return Case(s.system, s.X[:1000], s.X[1000:], "approve", s.relevant)


def explainers(case: Case, bg: np.ndarray, st: Setting) -> dict[str, Callable]:
    """Method name -> ``(X, seed) -> values (n, F)`` for the indicator of ``case.target``."""
    import shap
    from lime.lime_tabular import LimeTabularExplainer

    from ..explainability.decision_system import DecisionSystemExplainer

    system = case.system
    c = system.classes_.tolist().index(case.target)
    f = lambda A: system.predict_proba(A)[:, c]  # noqa: E731

    def structured(X, seed, importance="geometric", per_model="auto"):
        ex = DecisionSystemExplainer(system, bg, target=case.target, seed=seed,
                                     policy_importance=importance, model_explainers=per_model,
                                     lime_num_samples=st.lime_samples)  # fmt: skip
        return ex(X).values

    def kernel(X, seed):
        ex = shap.KernelExplainer(f, bg, seed=seed)
        return np.asarray(ex.shap_values(X, nsamples=st.kernel_nsamples, silent=True))

    def permutation(X, seed):
        masker = shap.maskers.Independent(bg, max_samples=len(bg))
        ex = shap.PermutationExplainer(f, masker, seed=seed)
        return ex(X, max_evals=st.perm_max_evals, silent=True).values

    def lime(X, seed):
        ex = LimeTabularExplainer(case.train, mode="classification", random_state=seed)
        out = np.zeros_like(X)
        for i, row in enumerate(X):  # LIME's API explains one instance per call
            e = ex.explain_instance(row, system.predict_proba, labels=(c,),
                                    num_features=X.shape[1], num_samples=st.lime_samples)  # fmt: skip
            for j, w in e.local_exp[c]:
                out[i, j] = w
        return out

    return {"structured": structured,
            "chainshap": lambda X, s: structured(X, s, "shapley"),
            "structuredlime": lambda X, s: structured(X, s, per_model="lime"),
            "kernelshap": kernel, "permutationshap": permutation, "lime": lime}  # fmt: skip


def compare(name: str, case: Case, st: Setting, seed: int, out: Path) -> dict[str, float]:
    """All measures for one system; writes its figures and example explanations."""
    import shap

    from ..explainability.decision_system import (
        DecisionSystemExplainer,
        deletion_auc,
        rank_agreement,
        stability,
        topk_recall,
    )  # fmt: skip

    rng = np.random.default_rng(seed)
    bg = case.train[rng.choice(len(case.train), st.background, replace=False)]
    X = case.test[rng.choice(len(case.test), st.n_explain, replace=False)]
    res: dict[str, float] = {}
    exact = None
    if case.relevant is not None:
        c = case.system.classes_.tolist().index(case.target)
        masker = shap.maskers.Independent(bg, max_samples=len(bg))
        f = lambda A: case.system.predict_proba(A)[:, c]  # noqa: E731
        t0 = time.perf_counter()
        exact = shap.ExactExplainer(f, masker)(X, max_evals=2 ** X.shape[1] + 1, silent=True).values
        res[f"{name}_exact_seconds_per_explanation"] = (time.perf_counter() - t0) / len(X)
    auto = 2 * X.shape[1] + 2048  # shap's KernelExplainer default
    res[f"{name}_kernelshap_nsamples"] = (
        auto if st.kernel_nsamples == "auto" else st.kernel_nsamples
    )
    values = {}
    for method, fn in explainers(case, bg, st).items():
        t0 = time.perf_counter()
        values[method] = v = fn(X, seed)
        res[f"{name}_{method}_seconds_per_explanation"] = (time.perf_counter() - t0) / len(X)
        res[f"{name}_{method}_deletion_auc"] = deletion_auc(case.system.predict, X, v, bg)
        if exact is not None:
            res[f"{name}_{method}_spearman_exact"] = rank_agreement(v, exact)
            res[f"{name}_{method}_topk_recall"] = topk_recall(v, case.relevant)
        xs = X[: st.stability_rows]
        res[f"{name}_{method}_stability"] = stability([fn(xs, seed + r) for r in range(st.reruns)])
    if exact is not None:
        res[f"{name}_exact_deletion_auc"] = deletion_auc(case.system.predict, X, exact, bg)
    res[f"{name}_decision_rate"] = float(np.mean(case.system.predict(case.test) == case.target))
    _figures(name, case, bg, X, values, out)
    ex = DecisionSystemExplainer(case.system, bg, target=case.target)
    text = "\n\n".join(f"--- case {i} ---\n" + ex.explain_text(X[i]) for i in range(2))
    write_text_atomic(out / f"{name}_explanations.txt", text + "\n")
    return res


def _figures(name, case, bg, X, values, out: Path) -> None:
    import matplotlib.pyplot as plt
    import shap

    system = case.system
    c = system.classes_.tolist().index(case.target)
    base = float(system.predict_proba(bg)[:, c].mean())
    names = list(system.feature_names_in_)
    for method in ("structured", "kernelshap"):
        e = shap.Explanation(values[method][0], base_values=base, data=X[0], feature_names=names)
        shap.plots.waterfall(e, max_display=10, show=False)
        plt.title(f"{name}: {method}, decision {system.predict(X[:1])[0]}")
        save_figure(plt.gcf(), out / f"{name}_waterfall_{method}.png")
    exps = {m: shap.Explanation(values[m], base_values=np.full(len(X), base), data=X,
                                feature_names=names) for m in ("structured", "kernelshap")}  # fmt: skip
    shap.plots.bar(exps, max_display=10, show=False)
    plt.title(f"{name}: mean |attribution|, structured vs whole-system KernelSHAP")
    save_figure(plt.gcf(), out / f"{name}_bar.png")


def _summary_figure(res: dict[str, float], systems: list[str], out: Path) -> None:
    import matplotlib.pyplot as plt

    measures = ["deletion_auc", "stability", "seconds_per_explanation", "spearman_exact"]
    fig, axes = plt.subplots(1, len(measures), figsize=(4.2 * len(measures), 3.6))
    width = 0.8 / len(systems)
    for ax, m in zip(axes, measures, strict=True):
        for k, s in enumerate(systems):
            ys = [res.get(f"{s}_{meth}_{m}", np.nan) for meth in METHODS]
            ax.bar(np.arange(len(METHODS)) + k * width, ys, width, label=s)
        ax.set_xticks(np.arange(len(METHODS)) + width * (len(systems) - 1) / 2, METHODS,
                      rotation=40, ha="right")  # fmt: skip
        ax.set_title(m + (" (log)" if m.startswith("seconds") else ""))
        if m.startswith("seconds"):
            ax.set_yscale("log")
    axes[0].legend(fontsize=8)
    save_figure(fig, out / "summary.png")


class DecisionSystemExperiment(Experiment):
    """Structured vs whole-system explanations of multi-model decision systems."""

    name = "decision-system"
    title = "Explaining decision systems of several models: policy geometry x per-model SHAP"
    reference = "AI4Media D4.1 §4.5; Alvarez, ECAI 2004; Chen, Lundberg & Lee, Nat. Commun. 2022"

    def run(self, ctx: RunContext) -> dict[str, float]:
        import warnings

        st = QUICK if ctx.quick else FULL
        cases = {"synthetic": lambda: synthetic_case(ctx.seed)}
        if ctx.data_root is not None:
            cases["german"] = lambda: german_case(ctx.data_root, ctx.seed)
            cases["bank"] = lambda: bank_case(ctx.data_root, ctx.seed, 4000 if ctx.quick else 12000)
        res: dict[str, float] = {
            "background_size": st.background, "n_explained": st.n_explain,
            "permutationshap_max_evals": st.perm_max_evals, "lime_num_samples": st.lime_samples,
            "stability_rows": st.stability_rows, "stability_reruns": st.reruns,
        }  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn feature-name and shap progress warnings
            for name, make in cases.items():
                res.update(compare(name, make(), st, ctx.seed, ctx.out_dir))
        _summary_figure(res, list(cases), ctx.out_dir)
        return res
