"""Structured decision-system explanations vs whole-system KernelSHAP, equal background.

Explanations per second of DecisionSystemExplainer (Alvarez policy geometry x per-model
TreeExplainer; also with exact policy Shapley values, ``chainshap``) and of shap's KernelExplainer on the whole German credit system (default-risk
classifier + credit-amount regressor + credit policy), same rows and background, same process;
deletion-curve AUC of both (lower is more faithful).

Goal (issue #20): >= 10x more explanations per second, with a deletion AUC no worse.
Run: python benchmarks/bench_decision_system.py --data-root ../shared/data
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import shap

from ai4media_ext.experiments.decision_system import german_case
from ai4media_ext.explainability.decision_system import DecisionSystemExplainer, deletion_auc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-root")
    parser.add_argument("--background", type=int, default=50)
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--nsamples", default="auto", help="KernelSHAP nsamples (auto: 2F+2048)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    case = german_case(args.data_root, 0)
    rng = np.random.default_rng(0)
    bg = case.train[rng.choice(len(case.train), args.background, replace=False)]
    X = case.test[: args.rows]
    system = case.system
    c = system.classes_.tolist().index(case.target)
    nsamples = args.nsamples if args.nsamples == "auto" else int(args.nsamples)

    start = time.perf_counter()
    structured = DecisionSystemExplainer(system, bg, target=case.target)(X).values
    structured_s = time.perf_counter() - start

    start = time.perf_counter()
    chain = DecisionSystemExplainer(system, bg, target=case.target, policy_importance="shapley")
    chain = chain(X).values
    chain_s = time.perf_counter() - start

    kernel_ex = shap.KernelExplainer(lambda A: system.predict_proba(A)[:, c], bg, seed=0)
    start = time.perf_counter()
    kernel = np.asarray(kernel_ex.shap_values(X, nsamples=nsamples, silent=True))
    kernel_s = time.perf_counter() - start

    out = {
        "rows": len(X),
        "background": len(bg),
        "kernel_nsamples": nsamples,
        "structured_explanations_per_s": len(X) / structured_s,
        "chainshap_explanations_per_s": len(X) / chain_s,
        "kernelshap_explanations_per_s": len(X) / kernel_s,
        "speedup_vs_kernelshap": kernel_s / structured_s,
        "structured_deletion_auc": deletion_auc(system.predict, X, structured, bg),
        "chainshap_deletion_auc": deletion_auc(system.predict, X, chain, bg),
        "kernelshap_deletion_auc": deletion_auc(system.predict, X, kernel, bg),
    }
    out["goal_met"] = bool(
        out["speedup_vs_kernelshap"] >= 10
        and out["structured_deletion_auc"] <= out["kernelshap_deletion_auc"]
    )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
