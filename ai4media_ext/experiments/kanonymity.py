"""K-anonymity-inspired attack vs DeepFool and Carlini-Wagner: rank PMFs (seed Fig. 19)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ._core import Experiment, RunContext, save_figure

METHODS = ("deepfool", "cw", "ka1", "ka5", "ka9")


_MOVED = {
    "lenet5": ("cnn", "LeNet5"),
    "small_cnn": ("cnn", "SmallCNN"),
    "art_classifier": ("art", "art_classifier"),
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:  # moved to ai4media_ext.zoo; re-exported for this release
        import importlib

        module, attr = _MOVED[name]
        return getattr(importlib.import_module(f"..zoo.{module}", __package__), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class KAnonymityExperiment(Experiment):
    """Rank PMFs of the true label after DeepFool, C&W L2 and K-A3 with K = 1, 5, 9."""

    name = "kanonymity"
    title = "K-anonymity-inspired adversarial attack: where does the true label rank?"
    reference = "AI4Media D4.1 §5.5, Fig. 19; Mygdalis & Pitas (Neural Networks 2020, MLSP 2021)"

    def _datasets(self, ctx: RunContext) -> list[tuple[str, Any, Any, Any, Any]]:
        from .. import data as loaders
        from ..data.splits import digits_split, mnist_split, scale_pixels

        if ctx.data_root is None:
            return [digits_split(ctx.seed)]
        sets = [mnist_split(ctx.data_root, ctx.seed)]
        rng = np.random.default_rng(ctx.seed)
        rng.permutation(10_000)  # the MNIST split's draw: keeps the published CIFAR-10 order
        if not ctx.quick:
            x_tr, y_tr = loaders.load_cifar10("train", ctx.data_root)
            x_te, y_te = loaders.load_cifar10("test", ctx.data_root)
            x_tr, x_te = scale_pixels(x_tr), scale_pixels(x_te)
            order = rng.permutation(len(y_te))
            sets.append(("cifar10", x_tr, y_tr, x_te[order], y_te[order]))
        return sets

    def run(self, ctx: RunContext) -> dict[str, float]:
        import torch
        from art.attacks.evasion import CarliniL2Method, DeepFool
        from skimage.metrics import structural_similarity

        from ..robustness.kanonymity import KAnonymityAttack
        from ..robustness.metrics import rank_pmf
        from ..zoo.art import art_classifier
        from ..zoo.cnn import LeNet5, SmallCNN

        n = 50 if ctx.quick else 300
        results: dict[str, Any] = {"n_samples": n}
        pmfs: dict[tuple[str, str], np.ndarray] = {}
        for name, x_tr, y_tr, x_te, y_te in self._datasets(ctx):
            torch.manual_seed(ctx.seed)
            side = x_tr.shape[-1]
            model = LeNet5(1, side) if name == "mnist" else SmallCNN(x_tr.shape[1], side)
            clf = art_classifier(model, x_tr.shape[1:], ctx.device)
            epochs = 5 if name != "cifar10" else 15
            clf.fit(x_tr, y_tr, nb_epochs=epochs, batch_size=64, verbose=False)
            hit = clf.predict(x_te).argmax(1) == y_te
            results[f"{name}_clean_accuracy"] = float(hit.mean())
            correct = np.flatnonzero(hit)[:n]
            xs, ys = x_te[correct], y_te[correct]
            attacks = {
                "deepfool": DeepFool(clf, verbose=False),
                "cw": CarliniL2Method(clf, verbose=False),
            }
            for k in (1, 5, 9):
                attacks[f"ka{k}"] = KAnonymityAttack(
                    clf, k=k, max_iter=200 if ctx.quick else 500, learning_rate=0.01,
                    random_state=ctx.seed, verbose=False,
                )  # fmt: skip
            for method, attack in tqdm(attacks.items(), desc=f"{self.name}: {name}", unit="attack"):
                start = time.perf_counter()
                x_adv = attack.generate(xs, ys) if method.startswith("ka") else attack.generate(xs)
                seconds = time.perf_counter() - start
                pmf = rank_pmf(clf, x_adv, ys)
                pmfs[(name, method)] = pmf
                l2 = np.linalg.norm((x_adv - xs).reshape(len(xs), -1), axis=1)
                ssim = [
                    structural_similarity(a, b, data_range=1.0, channel_axis=0, win_size=7)
                    for a, b in zip(xs, x_adv, strict=True)
                ]
                key = f"{name}_{method}"
                results[f"{key}_pmf_max_tail"] = float(pmf[1:].max())
                results[f"{key}_success"] = float(1.0 - pmf[0])
                results[f"{key}_l2"] = float(l2.mean())
                results[f"{key}_ssim"] = float(np.mean(ssim))
                results[f"{key}_seconds_per_sample"] = seconds / len(xs)
                for i, p in enumerate(pmf[:10], start=1):
                    results[f"{key}_pmf_{i}"] = float(p)
        self._plot(ctx, pmfs)
        return results

    @staticmethod
    def _plot(ctx: RunContext, pmfs: dict) -> None:
        import matplotlib.pyplot as plt

        datasets = sorted({d for d, _ in pmfs})
        fig, axes = plt.subplots(len(datasets), len(METHODS), figsize=(3 * len(METHODS), 2.6 * len(datasets)),
                                 squeeze=False, sharey=True, constrained_layout=True)  # fmt: skip
        for i, dataset in enumerate(datasets):
            for j, method in enumerate(METHODS):
                ax = axes[i][j]
                pmf = pmfs[(dataset, method)]
                ax.bar(np.arange(1, len(pmf) + 1), pmf, color="tab:red" if j > 1 else "tab:gray")
                if method.startswith("ka"):
                    k = int(method[2:])
                    ax.axhline(1 / k, color="k", ls="--", lw=0.8)
                ax.set_title(f"{dataset}: {method}", fontsize=9)
                ax.set_xticks(range(1, len(pmf) + 1))
                if i == len(datasets) - 1:
                    ax.set_xlabel("rank position i")
            axes[i][0].set_ylabel("P(r(i) = true label)")
        save_figure(fig, ctx.out_dir / "rank_pmf.png")
