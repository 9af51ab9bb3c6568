"""Floating-point attacks on DP samplers and tools: Laplace and Gaussian mechanisms (diffprivlib,
numpy, Snapping, the secure ones) and diffprivlib's ``tools.mean`` with and without the switch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ._core import Experiment, RunContext, save_figure

EPSILONS = (0.1, 1.0, 10.0)
MECHANISMS = ("textbook", "diffprivlib_laplace", "snapping", "secure_laplace")
ATTACKS = ("precision", "reachability")
# Gaussian samplers (delta = 1e-5) and whole diffprivlib tools: the precision attack. diffprivlib's
# classic ``Gaussian`` only accepts epsilon <= 1.
GAUSSIAN_DELTA = 1e-5
GAUSSIANS = (
    "numpy_normal",
    "diffprivlib_gaussian",
    "diffprivlib_gaussian_analytic",
    "secure_gaussian",
)
TOOLS = ("tools_mean_original", "tools_mean_secure")
# tools.mean on n records in [-n, n] (sensitivity 2): all zeros (mean 0) vs one record n (mean 1).
TOOL_RECORDS = 1000


def _sampler(name: str, eps: float, seed: int) -> Callable[[float, int], np.ndarray]:
    """``draw(value, n)`` for one mechanism, sensitivity 1."""
    if name == "textbook":
        from ..privacy.audit import textbook_laplace

        rng = np.random.default_rng(seed)
        return lambda value, n: textbook_laplace(value, 1.0 / eps, n, rng)
    if name == "secure_laplace":
        from diffprivlib.accountant import BudgetAccountant

        from ..privacy.mechanisms import SecureLaplace

        mech = SecureLaplace(
            epsilon=eps, sensitivity=1.0, random_state=seed, accountant=BudgetAccountant()
        )
        return lambda value, n: mech.randomise(np.full(n, value))
    from diffprivlib.mechanisms import Laplace, Snapping

    if name == "diffprivlib_laplace":
        scalar = Laplace(epsilon=eps, sensitivity=1.0, random_state=seed)
    else:
        scalar = Snapping(
            epsilon=eps, sensitivity=1.0, lower=-1000.0, upper=1000.0, random_state=seed
        )
    # diffprivlib mechanisms are scalar-only: this loop is the baseline being attacked.
    return lambda value, n: np.fromiter((scalar.randomise(value) for _ in range(n)), float, n)


def _gaussian_sampler(name: str, eps: float, seed: int) -> Callable[[float, int], np.ndarray]:
    """``draw(value, n)`` for one Gaussian mechanism, sensitivity 1, delta 1e-5."""
    from diffprivlib.mechanisms import Gaussian, GaussianAnalytic

    if name == "secure_gaussian":
        from diffprivlib.accountant import BudgetAccountant

        from ..privacy.mechanisms import SecureGaussian

        mech = SecureGaussian(
            epsilon=eps,
            delta=GAUSSIAN_DELTA,
            sensitivity=1.0,
            random_state=seed,
            accountant=BudgetAccountant(),
        )
        return lambda value, n: mech.randomise(np.full(n, value))
    if name == "numpy_normal":
        rng = np.random.default_rng(seed)
        sigma = GaussianAnalytic(epsilon=eps, delta=GAUSSIAN_DELTA, sensitivity=1.0)._scale
        return lambda value, n: value + rng.normal(0.0, sigma, n)
    cls = Gaussian if name == "diffprivlib_gaussian" else GaussianAnalytic
    scalar = cls(epsilon=eps, delta=GAUSSIAN_DELTA, sensitivity=1.0, random_state=seed)
    return lambda value, n: np.fromiter((scalar.randomise(value) for _ in range(n)), float, n)


def _tool_sampler(name: str, eps: float, seed: int) -> Callable[[float, int], np.ndarray]:
    """``draw(value, n)``: ``n`` releases of ``tools.mean`` on the dataset whose mean is value."""
    import contextlib

    from diffprivlib import tools
    from diffprivlib.accountant import BudgetAccountant

    from ..privacy import secure_mechanisms

    rng = np.random.RandomState(seed)
    switch = secure_mechanisms if name.endswith("_secure") else contextlib.nullcontext
    bounds = (-float(TOOL_RECORDS), float(TOOL_RECORDS))

    def draw(value: float, n: int) -> np.ndarray:
        data = np.zeros(TOOL_RECORDS)
        data[0] = value * TOOL_RECORDS
        acc = BudgetAccountant()
        with switch():
            it = (
                tools.mean(data, epsilon=eps, bounds=bounds, accountant=acc, random_state=rng)
                for _ in range(n)
            )
            return np.fromiter(it, float, n)

    return draw


class DPFloatAttack(Experiment):
    """Precision-based and Mironov reachability attacks against three Laplace mechanisms."""

    name = "dp-float-attack"
    title = "Floating-point attacks on Laplace mechanisms (inputs 0 vs 1, sensitivity 1)"
    reference = (
        "AI4Media D4.1 §5.3; Mironov (CCS 2012); Haney et al. arXiv:2207.13793; diffprivlib #94"
    )

    def run(self, ctx: RunContext) -> dict[str, float]:
        from ..privacy.audit import precision_flags, score_attack, unreachable_from_zero_flags

        n = 20_000 if ctx.quick else 200_000
        results: dict[str, float] = {"n_draws_per_input": n}
        jobs = [(m, e) for e in EPSILONS for m in MECHANISMS]
        for mech, eps in tqdm(jobs, desc=self.name, unit="mechanism"):
            draw = _sampler(mech, eps, ctx.seed)
            y0, y1 = draw(0.0, n), draw(1.0, n)
            flags = {
                "precision": (precision_flags(y0), precision_flags(y1)),
                "reachability": (
                    unreachable_from_zero_flags(y0, 1.0 / eps),
                    unreachable_from_zero_flags(y1, 1.0 / eps),
                ),
            }
            for attack, (f0, f1) in flags.items():
                score = score_attack(f0, f1)
                tag = f"{mech}_{attack}_eps_{eps:g}"
                results[f"advantage_{tag}"] = score.advantage
                results[f"flag_rate_input0_{tag}"] = score.rate_0
                results[f"flag_rate_input1_{tag}"] = score.rate_1
                results[f"epsilon_lower_bound_{tag}"] = score.epsilon_lower_bound

        n_tool = 2_000 if ctx.quick else 20_000
        results["n_draws_per_input_tools"] = n_tool
        sizes = dict.fromkeys(GAUSSIANS, n) | dict.fromkeys(TOOLS, n_tool)
        jobs2 = [
            (m, e, size)
            for e in EPSILONS
            for m, size in sizes.items()
            if not (m == "diffprivlib_gaussian" and e > 1)
        ]
        for mech, eps, size in tqdm(jobs2, desc=f"{self.name} gaussian/tools", unit="sampler"):
            sampler = _tool_sampler if mech.startswith("tools_") else _gaussian_sampler
            draw = sampler(mech, eps, ctx.seed)
            score = score_attack(precision_flags(draw(0.0, size)), precision_flags(draw(1.0, size)))
            tag = f"{mech}_precision_eps_{eps:g}"
            results[f"advantage_{tag}"] = score.advantage
            results[f"flag_rate_input0_{tag}"] = score.rate_0
            results[f"flag_rate_input1_{tag}"] = score.rate_1
            results[f"epsilon_lower_bound_{tag}"] = score.epsilon_lower_bound
        self._figure(results, n, ctx.out_dir)
        self._figure_gaussian_tools(results, ctx.out_dir)
        return results

    def _figure_gaussian_tools(self, results: dict[str, float], out_dir: Path) -> None:
        import matplotlib.pyplot as plt

        names = GAUSSIANS + TOOLS
        fig, ax = plt.subplots(figsize=(11, 4.2))
        width = 0.8 / len(names)
        x = np.arange(len(EPSILONS))
        for j, mech in enumerate(names):
            vals = [
                results.get(f"epsilon_lower_bound_{mech}_precision_eps_{e:g}", np.nan)
                for e in EPSILONS
            ]
            ax.bar(x + j * width, vals, width, label=mech)
        ax.plot(x + 0.4 - width / 2, EPSILONS, "k_", ms=30, mew=2, label="declared epsilon")
        ax.set_xticks(x + 0.4 - width / 2)
        ax.set_xticklabels([f"eps={e:g}" for e in EPSILONS])
        ax.set_yscale("symlog", linthresh=0.1)
        ax.set_ylabel("privacy loss proven (95% lower bound)")
        ax.set_title(
            "Precision attack on Gaussian samplers (delta=1e-5) and diffprivlib tools.mean "
            "(original vs secure switch)"
        )
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.tight_layout()
        save_figure(fig, out_dir / "float_attacks_gaussian_tools.png")

    def _figure(self, results: dict[str, float], n: int, out_dir: Path) -> None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
        width = 0.8 / len(MECHANISMS)
        for ax, attack in zip(axes, ATTACKS, strict=True):
            for j, mech in enumerate(MECHANISMS):
                vals = [results[f"epsilon_lower_bound_{mech}_{attack}_eps_{e:g}"] for e in EPSILONS]
                ax.bar(np.arange(len(EPSILONS)) + j * width, vals, width, label=mech)
            ax.plot(
                np.arange(len(EPSILONS)) + 0.4 - width / 2,
                EPSILONS,
                "k_",
                ms=30,
                mew=2,
                label="declared epsilon",
            )
            ax.set_xticks(np.arange(len(EPSILONS)) + 0.4 - width / 2)
            ax.set_xticklabels([f"eps={e:g}" for e in EPSILONS])
            ax.set_yscale("symlog", linthresh=0.1)
            ax.set_title(f"{attack} attack")
        axes[0].set_ylabel("privacy loss proven (95% lower bound)")
        axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.suptitle(f"Empirical epsilon vs declared epsilon, {n:,} draws per input")
        save_figure(fig, out_dir / "float_attacks.png")
