"""SecureLaplace throughput vs diffprivlib's Laplace (per value) and numpy, in one process.

Goals (issue #3): >= 100x faster than diffprivlib per value, <= 5x numpy's Generator.laplace.
Run: python benchmarks/bench_secure_laplace.py [--n 1000000]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from diffprivlib.accountant import BudgetAccountant
from diffprivlib.mechanisms import Laplace

from ai4media_ext.privacy.mechanisms import SecureLaplace


def best_of(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--n-diffprivlib", type=int, default=50_000)
    args = parser.parse_args()
    x = np.zeros(args.n)

    secure = SecureLaplace(epsilon=1.0, sensitivity=1.0, accountant=BudgetAccountant())
    seeded = SecureLaplace(
        epsilon=1.0, sensitivity=1.0, random_state=0, accountant=BudgetAccountant()
    )
    rng = np.random.default_rng(0)
    dpl = Laplace(epsilon=1.0, sensitivity=1.0)

    t_secure = best_of(lambda: secure.randomise(x))
    t_seeded = best_of(lambda: seeded.randomise(x))
    t_numpy = best_of(lambda: x + rng.laplace(0.0, 1.0, args.n))
    per_value_dpl = (
        best_of(lambda: [dpl.randomise(0.0) for _ in range(args.n_diffprivlib)], repeats=2)
        / args.n_diffprivlib
    )
    t_dpl = per_value_dpl * args.n

    report = {
        "n": args.n,
        "secure_laplace_csprng_s": t_secure,
        "secure_laplace_seeded_s": t_seeded,
        "numpy_generator_laplace_s": t_numpy,
        "diffprivlib_laplace_s_extrapolated": t_dpl,
        "diffprivlib_per_value_us": per_value_dpl * 1e6,
        "speedup_vs_diffprivlib": t_dpl / t_secure,
        "slowdown_vs_numpy": t_secure / t_numpy,
        "goal_speedup_vs_diffprivlib": 100,
        "goal_max_slowdown_vs_numpy": 5,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
