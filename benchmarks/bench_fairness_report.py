"""Fairness report on Adult (45k rows): seconds for all three audience levels, and the bootstrap
cost per resample vs the AIF360 way (one ClassificationMetric per resample), same run.

Goal (issue #8): all three levels in under 10 s on 2 cores.
Run: python benchmarks/bench_fairness_report.py --data-root ../shared/data
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np
from aif360.metrics import ClassificationMetric

from ai4media_ext.data import load_aif360
from ai4media_ext.experiments.fairness_report import logistic_regression
from ai4media_ext.fairness import FairnessReport

METRICS = ("statistical_parity_difference", "disparate_impact", "equal_opportunity_difference",
           "average_odds_difference", "false_positive_rate_difference",
           "false_negative_rate_difference", "error_rate_difference", "theil_index")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-root")
    parser.add_argument("--n-bootstrap", type=int, default=200)
    parser.add_argument("--n-aif360", type=int, default=10, help="resamples timed the AIF360 way")
    args = parser.parse_args()
    ds = load_aif360("adult", args.data_root)
    clf = logistic_regression(0).fit(ds.features, ds.labels.ravel())

    start = time.perf_counter()
    report = FairnessReport(n_bootstrap=args.n_bootstrap, random_state=0).audit(ds, clf)
    audit_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        report.write(tmp)
        render_s = time.perf_counter() - start

    # AIF360 baseline: a ClassificationMetric per bootstrap resample (both attributes)
    pred = ds.copy(deepcopy=True)
    pred.labels = clf.predict(ds.features).reshape(-1, 1)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(args.n_aif360):
        idx = rng.integers(0, len(ds.labels), len(ds.labels))
        a, b = ds.subset(idx), pred.subset(idx)
        for attr in ("sex", "race"):
            cm = ClassificationMetric(a, b, [{attr: 0.0}], [{attr: 1.0}])
            [getattr(cm, m)() for m in METRICS]
    aif_per_resample = (time.perf_counter() - start) / args.n_aif360
    start = time.perf_counter()
    FairnessReport(n_bootstrap=args.n_bootstrap, n_probes=0, random_state=0).audit(ds, pred)
    ours_per_resample = (time.perf_counter() - start) / args.n_bootstrap
    print(json.dumps({
        "rows": len(ds.labels), "n_bootstrap": args.n_bootstrap,
        "audit_seconds_incl_probes": audit_s, "render_all_levels_seconds": render_s,
        "total_seconds": audit_s + render_s, "goal_total_seconds": 10,
        "bootstrap_seconds_per_resample": ours_per_resample,
        "aif360_seconds_per_resample": aif_per_resample,
        "bootstrap_speedup_vs_aif360": aif_per_resample / ours_per_resample,
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
