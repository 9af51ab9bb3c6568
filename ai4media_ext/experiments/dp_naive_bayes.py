"""Accuracy of differentially private Gaussian naive Bayes on Iris against epsilon (seed Fig. 16)."""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from ._core import Experiment, RunContext, save_figure

EPSILONS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
QUICK_EPSILONS = (0.01, 0.1, 0.5, 1.0, 5.0, 10.0, 100.0)
# Iris feature bounds used by diffprivlib's naive Bayes notebook (domain knowledge, not data).
IRIS_BOUNDS = ([4.3, 2.0, 1.1, 0.1], [7.9, 4.4, 6.9, 2.5])


def _key(eps: float) -> str:
    return f"{eps:g}"


class DPNaiveBayes(Experiment):
    """diffprivlib ``GaussianNB`` vs :class:`SecureGaussianNB` on Iris, accuracy vs epsilon."""

    name = "dp-naive-bayes"
    title = "DP Gaussian naive Bayes on Iris: accuracy vs epsilon"
    reference = "AI4Media D4.1 Fig. 16 (diffprivlib naive Bayes accuracy vs epsilon)"

    def run(self, ctx: RunContext) -> dict[str, float]:
        import matplotlib.pyplot as plt
        from diffprivlib.accountant import BudgetAccountant
        from diffprivlib.models import GaussianNB
        from sklearn.datasets import load_iris
        from sklearn.model_selection import train_test_split
        from sklearn.naive_bayes import GaussianNB as SkGaussianNB

        from ..privacy.naive_bayes import SecureGaussianNB

        x, y = load_iris(return_X_y=True)
        epsilons = QUICK_EPSILONS if ctx.quick else EPSILONS
        repeats = 10 if ctx.quick else 50
        models = {"diffprivlib": GaussianNB, "secure": SecureGaussianNB}
        acc = {name: np.zeros((len(epsilons), repeats)) for name in models}
        nonprivate = np.zeros(repeats)
        steps = repeats * len(epsilons) * len(models)
        with tqdm(total=steps, desc=self.name, unit="fit") as bar:
            for r in range(repeats):
                x_tr, x_te, y_tr, y_te = train_test_split(
                    x, y, test_size=0.2, random_state=ctx.seed + r, stratify=y
                )
                nonprivate[r] = SkGaussianNB().fit(x_tr, y_tr).score(x_te, y_te)
                for i, eps in enumerate(epsilons):
                    for name, cls in models.items():
                        clf = cls(
                            epsilon=eps,
                            bounds=IRIS_BOUNDS,
                            random_state=ctx.seed * 100_003 + r * 1000 + i,
                            accountant=BudgetAccountant(),
                        )
                        acc[name][i, r] = clf.fit(x_tr, y_tr).score(x_te, y_te)
                        bar.update()

        results: dict[str, float] = {
            "n_repeats": repeats,
            "test_fraction": 0.2,
            "acc_nonprivate": float(nonprivate.mean()),
        }
        for name, a in acc.items():
            for i, eps in enumerate(epsilons):
                results[f"acc_{name}_eps_{_key(eps)}"] = float(a[i].mean())
                results[f"acc_{name}_eps_{_key(eps)}_std"] = float(a[i].std(ddof=1))

        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for name, a in acc.items():
            mean, std = a.mean(axis=1), a.std(axis=1, ddof=1)
            label = "diffprivlib GaussianNB" if name == "diffprivlib" else "SecureGaussianNB (ours)"
            ax.semilogx(epsilons, mean, marker="o", label=label)
            ax.fill_between(epsilons, mean - std, mean + std, alpha=0.2)
        ax.axhline(nonprivate.mean(), color="k", ls="--", lw=1, label="non-private GaussianNB")
        ax.set_xlabel("epsilon")
        ax.set_ylabel("test accuracy (Iris)")
        ax.set_title(f"Differentially private naive Bayes, mean ± std over {repeats} splits")
        ax.legend(loc="lower right")
        save_figure(fig, ctx.out_dir / "accuracy_vs_epsilon.png")
        return results
