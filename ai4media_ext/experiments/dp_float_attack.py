"""Floating-point attacks on Laplace samplers: diffprivlib Laplace, Snapping, SecureLaplace."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from tqdm.auto import tqdm

from ._core import Experiment, RunContext, save_figure

EPSILONS = (0.1, 1.0, 10.0)
MECHANISMS = ("textbook", "diffprivlib_laplace", "snapping", "secure_laplace")
ATTACKS = ("precision", "reachability")


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


class DPFloatAttack(Experiment):
    """Precision-based and Mironov reachability attacks against three Laplace mechanisms."""

    name = "dp-float-attack"
    title = "Floating-point attacks on Laplace mechanisms (inputs 0 vs 1, sensitivity 1)"
    reference = (
        "AI4Media D4.1 §5.3; Mironov (CCS 2012); Haney et al. arXiv:2207.13793; diffprivlib #94"
    )

    def run(self, ctx: RunContext) -> dict[str, float]:
        import matplotlib.pyplot as plt

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
        save_figure(fig, ctx.out_dir / "float_attacks.png")
        return results
