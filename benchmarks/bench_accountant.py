"""Budget charging cost per scalar call with a *limited* accountant (issue 15, item 15).

10,000 scalar ``SecureLaplace.randomise`` calls charged to ``BudgetAccountant(epsilon=1e6)``,
against, in the same process: diffprivlib's own ``Laplace.randomise`` (which never touches an
accountant; the issue's baseline) and diffprivlib's tool pattern, ``Laplace.randomise`` plus
``accountant.check`` / ``accountant.spend`` per call (O(n) per call, O(n^2) in all, so it is
timed over ``--n-tool`` calls only: 10,000 take about 10 minutes). The goal
is a constant cost per call: the per-call time of the last 1,000 calls over that of the first
1,000 (``growth``) stays near 1.

Run: python benchmarks/bench_accountant.py [--n 10000]
"""

from __future__ import annotations

import argparse
import json
import time

from diffprivlib.accountant import BudgetAccountant
from diffprivlib.mechanisms import Laplace

from ai4media_ext.privacy.mechanisms import SecureLaplace


def timed_calls(call, n: int, block: int) -> tuple[float, float, float]:
    """Total seconds, and per-call seconds of the first and the last ``block`` calls."""
    stamps = [time.perf_counter()]
    for i in range(n):
        call()
        if (i + 1) % block == 0:
            stamps.append(time.perf_counter())
    return (
        stamps[-1] - stamps[0],
        (stamps[1] - stamps[0]) / block,
        (stamps[-1] - stamps[-2]) / block,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--n-tool", type=int, default=2_000)
    args = parser.parse_args()
    n, block = args.n, max(1, args.n // 10)

    acc = BudgetAccountant(epsilon=1e6)
    secure = SecureLaplace(epsilon=1.0, sensitivity=1.0, accountant=acc, random_state=0)
    t_secure, first_s, last_s = timed_calls(lambda: secure.randomise(0.0), n, block)

    dpl = Laplace(epsilon=1.0, sensitivity=1.0, random_state=0)
    t_dpl, first_d, last_d = timed_calls(lambda: dpl.randomise(0.0), n, block)

    tool_acc = BudgetAccountant(epsilon=1e6)

    def tool_call() -> None:
        tool_acc.check(1.0, 0.0)
        dpl.randomise(0.0)
        tool_acc.spend(1.0, 0.0)

    n_tool = args.n_tool
    t_tool, first_t, last_t = timed_calls(tool_call, n_tool, max(1, n_tool // 10))

    report = {
        "n_calls": n,
        "accountant_epsilon": 1e6,
        "secure_laplace_limited_accountant_us_per_call": 1e6 * t_secure / n,
        "secure_laplace_growth_last_over_first": last_s / first_s,
        "diffprivlib_laplace_no_accountant_us_per_call": 1e6 * t_dpl / n,
        "n_calls_tool_pattern": n_tool,
        "diffprivlib_laplace_plus_check_spend_us_per_call": 1e6 * t_tool / n_tool,
        "diffprivlib_tool_pattern_growth_last_over_first": last_t / first_t,
        "ratio_secure_over_diffprivlib_laplace": t_secure / t_dpl,
        "ratio_secure_over_diffprivlib_tool_pattern_per_call": (t_secure / n) / (t_tool / n_tool),
        "spent_epsilon": acc.total()[0],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
