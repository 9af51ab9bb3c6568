"""SecureGaussian per value vs numpy, diffprivlib and OpenDP; diffprivlib model fits with/without
the secure switch. Everything in one process, one run.

Goals (issue 24): SecureGaussian <= 3x numpy's ``Generator.normal`` and >= 100x faster than
diffprivlib's ``Gaussian`` per value; fitting each diffprivlib model under
``secure_mechanisms()`` <= 1.2x its plain fit time.
Run: python benchmarks/bench_secure_gaussian.py [--n 1000000] [--skip-models]
OpenDP is optional (``pip install ai4media-ext[bench]``); without it its row is reported absent.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
from diffprivlib.accountant import BudgetAccountant
from diffprivlib.mechanisms import Gaussian, GaussianAnalytic, GaussianDiscrete

from ai4media_ext.privacy import secure_mechanisms
from ai4media_ext.privacy.mechanisms import SecureGaussian

EPS, DELTA = 1.0, 1e-5


def best_of(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def per_value_scalar(mech, value, n: int) -> float:
    return best_of(lambda: [mech.randomise(value) for _ in range(n)], repeats=2) / n


def opendp_per_value(n: int) -> float | None:
    try:
        import opendp.prelude as dp
    except ImportError:
        return None
    dp.enable_features("contrib")
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l2_distance(T=float)
    sigma = GaussianAnalytic(epsilon=EPS, delta=DELTA, sensitivity=1.0)._scale
    meas = space >> dp.m.then_gaussian(scale=sigma)
    x = [0.0] * n
    return best_of(lambda: meas(x), repeats=2) / n


def samplers(args) -> dict:
    n = args.n
    x = np.zeros(n)
    secure = SecureGaussian(
        epsilon=EPS, delta=DELTA, sensitivity=1.0, accountant=BudgetAccountant()
    )
    seeded = SecureGaussian(
        epsilon=EPS, delta=DELTA, sensitivity=1.0, random_state=0, accountant=BudgetAccountant()
    )
    rng = np.random.default_rng(0)
    sigma = secure.scale
    t_secure = best_of(lambda: secure.randomise(x)) / n
    t_seeded = best_of(lambda: seeded.randomise(x)) / n
    t_numpy = best_of(lambda: x + rng.normal(0.0, sigma, n)) / n
    m = args.n_scalar
    t_gauss = per_value_scalar(Gaussian(epsilon=EPS, delta=DELTA, sensitivity=1.0), 0.0, m)
    t_analytic = per_value_scalar(
        GaussianAnalytic(epsilon=EPS, delta=DELTA, sensitivity=1.0), 0.0, m
    )
    t_discrete = per_value_scalar(GaussianDiscrete(epsilon=EPS, delta=DELTA, sensitivity=1), 0, m)
    t_opendp = opendp_per_value(args.n_opendp)
    report = {
        "n": n,
        "secure_gaussian_csprng_ns": t_secure * 1e9,
        "secure_gaussian_seeded_ns": t_seeded * 1e9,
        "numpy_generator_normal_ns": t_numpy * 1e9,
        "diffprivlib_gaussian_ns": t_gauss * 1e9,
        "diffprivlib_gaussian_analytic_ns": t_analytic * 1e9,
        "diffprivlib_gaussian_discrete_ns": t_discrete * 1e9,
        "opendp_gaussian_ns": None if t_opendp is None else t_opendp * 1e9,
        "slowdown_vs_numpy": t_secure / t_numpy,
        "speedup_vs_diffprivlib_gaussian": t_gauss / t_secure,
        "speedup_vs_diffprivlib_gaussian_discrete": t_discrete / t_secure,
        "speedup_vs_opendp": None if t_opendp is None else t_opendp / t_secure,
        "goal_max_slowdown_vs_numpy": 3,
        "goal_min_speedup_vs_diffprivlib": 100,
    }
    if t_opendp is None:
        report["opendp_note"] = "opendp not installed (pip install ai4media-ext[bench])"
    return report


def _fits() -> dict:
    from diffprivlib import models, tools
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=5000, n_features=8, n_informative=5, random_state=0)
    x = np.clip(x, -3, 3)
    b = (np.full(8, -3.0), np.full(8, 3.0))
    yr = x @ np.linspace(-1, 1, 8) / 8
    yr = np.clip(yr, -1, 1)

    def acc():
        return BudgetAccountant()

    return {
        "GaussianNB": lambda: models.GaussianNB(epsilon=1, bounds=b, accountant=acc()).fit(x, y),
        "LinearRegression": lambda: models.LinearRegression(
            epsilon=1, bounds_X=b, bounds_y=(-1, 1), accountant=acc()
        ).fit(x, yr),
        "KMeans": lambda: models.KMeans(3, epsilon=1, bounds=b, accountant=acc()).fit(x),
        "PCA": lambda: models.PCA(
            3, epsilon=1, bounds=b, data_norm=3 * np.sqrt(8), accountant=acc()
        ).fit(x),
        "StandardScaler": lambda: models.StandardScaler(epsilon=1, bounds=b, accountant=acc()).fit(
            x
        ),
        "LogisticRegression": lambda: models.LogisticRegression(
            epsilon=1, data_norm=3 * np.sqrt(8), accountant=acc()
        ).fit(x, y),
        "tools.mean": lambda: tools.mean(x, epsilon=1, bounds=b, axis=0, accountant=acc()),
        "tools.var": lambda: tools.var(x, epsilon=1, bounds=b, axis=0, accountant=acc()),
    }


def models_fit(repeats: int) -> dict:
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fit in _fits().items():
            fit()  # warm-up
            plain = best_of(fit, repeats)
            with secure_mechanisms():
                secure = best_of(fit, repeats)
            out[name] = {"original_s": plain, "secure_s": secure, "ratio": secure / plain}
    return {"fits": out, "goal_max_fit_ratio": 1.2}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--n-scalar", type=int, default=20_000)
    parser.add_argument("--n-opendp", type=int, default=20_000)
    parser.add_argument("--fit-repeats", type=int, default=5)
    parser.add_argument("--skip-models", action="store_true")
    args = parser.parse_args()
    report = samplers(args)
    if not args.skip_models:
        report.update(models_fit(args.fit_repeats))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
