"""Accuracy of diffprivlib models with and without the secure-mechanism switch on real data."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ._core import Experiment, RunContext, save_figure

EPSILONS = (0.05, 0.1, 0.5, 1.0, 5.0, 10.0)
QUICK_EPSILONS = (0.1, 1.0, 10.0)
DATASETS = ("iris", "german", "adult")
MODELS = ("gaussian_nb", "scaler_logreg")
VARIANTS = ("original", "secure")


def _load(name: str, root: Any) -> tuple[np.ndarray, np.ndarray]:
    """Features and integer labels; Adult and German through the project's AIF360 loader."""
    if name == "iris":
        from sklearn.datasets import load_iris

        return load_iris(return_X_y=True)
    from ..data import load_aif360

    ds = load_aif360(name, root)
    return ds.features.astype(np.float64), ds.labels.ravel().astype(int)


def _model(name: str, eps: float, bounds: tuple[np.ndarray, np.ndarray], seed: int) -> Any:
    """A fresh diffprivlib model; the pipeline splits epsilon evenly between its two stages."""
    from diffprivlib.accountant import BudgetAccountant

    acc = BudgetAccountant()
    if name == "gaussian_nb":
        from diffprivlib.models import GaussianNB

        return GaussianNB(epsilon=eps, bounds=bounds, random_state=seed, accountant=acc)
    from diffprivlib.models import LogisticRegression, StandardScaler
    from sklearn.pipeline import make_pipeline

    # Rows of the standardised data are clipped to norm sqrt(d) (each feature about unit
    # scale): a public choice, so no data-dependent norm leaks.
    norm = float(np.sqrt(len(bounds[0])))
    return make_pipeline(
        StandardScaler(epsilon=eps / 2, bounds=bounds, random_state=seed, accountant=acc),
        LogisticRegression(epsilon=eps / 2, data_norm=norm, random_state=seed, accountant=acc),
    )


class DPSecureSwitch(Experiment):
    """diffprivlib ``GaussianNB`` and ``StandardScaler`` + ``LogisticRegression``, original vs
    ``secure_mechanisms()``, on Iris, German credit and Adult, accuracy vs epsilon."""

    name = "dp-secure-switch"
    title = "diffprivlib models with and without the floating-point-safe switch: accuracy"
    reference = "AI4Media D4.1 §5.3.3; issue 24; Canonne, Kamath & Steinke 2020"

    def run(self, ctx: RunContext) -> dict[str, float]:
        import warnings

        from diffprivlib.utils import PrivacyLeakWarning
        from sklearn.model_selection import train_test_split

        from ..privacy import secure_mechanisms

        epsilons = QUICK_EPSILONS if ctx.quick else EPSILONS
        repeats = 3 if ctx.quick else 10
        results: dict[str, float] = {"repeats": repeats}
        acc = {}
        total = len(DATASETS) * len(MODELS) * len(epsilons) * repeats * len(VARIANTS)
        bar = tqdm(total=total, desc=self.name, unit="fit")
        for dataset in DATASETS:
            x, y = _load(dataset, ctx.data_root)
            bounds = (x.min(axis=0), x.max(axis=0))  # the feature domain, treated as public
            for r in range(repeats):
                x_tr, x_te, y_tr, y_te = train_test_split(
                    x, y, test_size=0.25, random_state=ctx.seed + r, stratify=y
                )
                for model in MODELS:
                    for i, eps in enumerate(epsilons):
                        for variant in VARIANTS:
                            switch = (
                                secure_mechanisms if variant == "secure" else contextlib.nullcontext
                            )
                            seed = ctx.seed * 100_003 + r * 1000 + i
                            clf = _model(model, eps, bounds, seed)
                            with switch(), warnings.catch_warnings():
                                warnings.simplefilter("ignore", PrivacyLeakWarning)
                                clf.fit(x_tr, y_tr)
                            score = float((clf.predict(x_te) == y_te).mean())
                            acc.setdefault((model, dataset, variant, eps), []).append(score)
                            bar.update()
        bar.close()
        for (model, dataset, variant, eps), scores in acc.items():
            key = f"{model}_{dataset}_acc_{variant}_eps_{eps:g}"
            results[key] = float(np.mean(scores))
            results[f"{key}_std"] = float(np.std(scores))
        self._figure(results, epsilons, ctx.out_dir)
        return results

    @staticmethod
    def _figure(results: dict[str, float], epsilons: tuple, out_dir: Path) -> None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(len(MODELS), len(DATASETS), figsize=(13, 7), sharex=True)
        for row, model in enumerate(MODELS):
            for col, dataset in enumerate(DATASETS):
                ax = axes[row, col]
                for variant, style in zip(VARIANTS, ("o-", "s--"), strict=True):
                    keys = [f"{model}_{dataset}_acc_{variant}_eps_{e:g}" for e in epsilons]
                    mean = [results[k] for k in keys]
                    std = [results[f"{k}_std"] for k in keys]
                    ax.errorbar(epsilons, mean, yerr=std, fmt=style, capsize=3, label=variant)
                ax.set_xscale("log")
                ax.set_title(f"{model} on {dataset}", fontsize=10)
                ax.set_ylim(0, 1)
                if col == 0:
                    ax.set_ylabel("test accuracy (mean ± std)")
                if row == len(MODELS) - 1:
                    ax.set_xlabel("epsilon")
        axes[0, 0].legend()
        fig.suptitle("diffprivlib models: original mechanisms vs secure_mechanisms()")
        fig.tight_layout()
        save_figure(fig, out_dir / "accuracy_original_vs_secure.png")
