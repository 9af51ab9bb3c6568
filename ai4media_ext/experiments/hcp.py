"""HCP vs softmax, centre loss, prototype conformity loss and PGD adversarial training under
FGSM/BIM/MIM, AutoPGD and a transfer attack (seed Table 2, with the evaluation the seed does not
do)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ._core import Experiment, RunContext, numpy_global_seed, save_figure

METHODS = ("sm", "cl", "pcl", "at", "hcp")
ATTACKS = ("clean", "fgsm", "bim", "mim", "apgd_ce", "apgd_dlr", "transfer")
#: L-inf budgets: the seed's 0.03 for CIFAR-10 in [0, 1]; 0.1 for the grey-scale digits
EPS = {"cifar10": 0.03, "mnist": 0.1, "digits": 0.1}


def train(
    method: str,
    clf: Any,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int,
    eps: float,
    layers: tuple[str, ...] = ("conv3", "fc1"),
    batch_size: int = 128,
) -> float:
    """Train ``clf`` in place with ``method`` (PCL and HCP constrain ``layers``, CL the last of
    them; HCP also the logits); returns seconds per epoch."""
    from art.defences.trainer import AdversarialTrainerMadryPGD

    from ..robustness.hcp import CenterLossTrainer, HCPTrainer, PCLTrainer

    b = batch_size
    start = time.perf_counter()
    if method == "sm":
        clf.fit(x, y, nb_epochs=epochs, batch_size=b, verbose=False)
    elif method == "cl":
        CenterLossTrainer(clf, [layers[-1]], verbose=False).fit(
            x, y, nb_epochs=epochs, batch_size=b
        )
    elif method == "pcl":
        PCLTrainer(clf, list(layers), verbose=False).fit(x, y, nb_epochs=epochs, batch_size=b)
    elif method == "hcp":
        HCPTrainer(clf, list(layers), verbose=False).fit(x, y, nb_epochs=epochs, batch_size=b)
    elif method == "at":
        AdversarialTrainerMadryPGD(
            clf, nb_epochs=epochs, batch_size=b, eps=eps, eps_step=eps / 4, max_iter=7
        ).fit(x, y)
    else:
        raise ValueError(f"unknown method {method!r}")
    return (time.perf_counter() - start) / epochs


def __getattr__(name: str) -> Any:
    if name == "resnet18_cifar":  # moved to ai4media_ext.zoo.ResNet18CIFAR; re-exported
        from ..zoo.resnet import ResNet18CIFAR

        return ResNet18CIFAR
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def attacks(clf: Any, eps: float, quick: bool, batch_size: int = 32) -> dict[str, Any]:
    from art.attacks.evasion import (
        AutoProjectedGradientDescent,
        BasicIterativeMethod,
        FastGradientMethod,
        MomentumIterativeMethod,
    )

    iters, b = 10, batch_size
    apgd = {"eps": eps, "eps_step": eps / 4, "max_iter": 20 if quick else 50,
            "nb_random_init": 1, "batch_size": b, "verbose": False}  # fmt: skip
    return {
        "fgsm": FastGradientMethod(clf, eps=eps, batch_size=b),
        "bim": BasicIterativeMethod(
            clf, eps=eps, eps_step=eps / 4, max_iter=iters, batch_size=b, verbose=False
        ),
        "mim": MomentumIterativeMethod(
            clf, eps=eps, eps_step=eps / 4, max_iter=iters, batch_size=b, verbose=False
        ),
        "apgd_ce": AutoProjectedGradientDescent(clf, loss_type="cross_entropy", **apgd),
        "apgd_dlr": AutoProjectedGradientDescent(clf, loss_type="difference_logits_ratio", **apgd),
    }


class HCPExperiment(Experiment):
    """Clean and robust accuracy of SM, CL, PCL, AT and HCP (same CNN, epochs and optimiser)."""

    name = "hcp"
    title = (
        "Hyperspherical class prototypes vs softmax, centre loss, prototype conformity loss and "
        "adversarial training"
    )
    reference = "AI4Media D4.1 §3.2, Table 2; Mygdalis & Pitas, Pattern Recognition 2022"

    def _datasets(self, ctx: RunContext) -> list[tuple[str, Any, Any, Any, Any]]:
        from ..data.splits import cifar10_split, digits_split, mnist_split

        if ctx.data_root is None:
            return [digits_split(ctx.seed)]
        if ctx.quick:
            return [mnist_split(ctx.data_root, ctx.seed)]
        return [cifar10_split(ctx.data_root, ctx.seed)]

    def run(self, ctx: RunContext) -> dict[str, float]:
        import torch

        from ..zoo.art import art_classifier
        from ..zoo.cnn import SmallCNN

        results: dict[str, Any] = {}
        for name, x_tr, y_tr, x_te, y_te in self._datasets(ctx):
            eps = EPS[name]
            epochs = {"digits": 10, "mnist": 3, "cifar10": 20}[name]
            n_attack = 300 if ctx.quick else 1000
            xs, ys = x_te[:n_attack], y_te[:n_attack]
            results[f"{name}_eps"] = eps
            results[f"{name}_epochs"] = epochs
            classifiers = {}
            for method in tqdm(METHODS, desc=f"{self.name}: {name}", unit="model"):
                torch.manual_seed(ctx.seed)
                clf = art_classifier(
                    SmallCNN(x_tr.shape[1], x_tr.shape[-1]), x_tr.shape[1:], ctx.device
                )
                with numpy_global_seed(ctx.seed):  # ART's shuffles and random starts
                    results[f"{name}_{method}_seconds_per_epoch"] = train(
                        method, clf, x_tr, y_tr, epochs, eps
                    )
                    classifiers[method] = clf
                    results[f"{name}_{method}_clean"] = float(
                        (clf.predict(x_te).argmax(1) == y_te).mean()
                    )
                    for attack, atk in attacks(clf, eps, ctx.quick).items():
                        x_adv = atk.generate(xs, y=ys)
                        results[f"{name}_{method}_{attack}"] = float(
                            (clf.predict(x_adv).argmax(1) == ys).mean()
                        )
            transfer = attacks(classifiers["sm"], eps, ctx.quick)["bim"].generate(xs, y=ys)
            for method, clf in classifiers.items():
                results[f"{name}_{method}_transfer"] = float(
                    (clf.predict(transfer).argmax(1) == ys).mean()
                )
            sm, hcp = results[f"{name}_sm_fgsm"], results[f"{name}_hcp_fgsm"]
            results[f"{name}_hcp_minus_sm_fgsm_points"] = 100 * (hcp - sm)
            results[f"{name}_hcp_minus_sm_clean_points"] = 100 * (
                results[f"{name}_hcp_clean"] - results[f"{name}_sm_clean"]
            )
            self._plot(ctx, name, results)
        return results

    @staticmethod
    def _plot(ctx: RunContext, name: str, results: dict[str, Any]) -> None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(10, 3.6))
        x = np.arange(len(ATTACKS))
        for j, method in enumerate(METHODS):
            vals = [results[f"{name}_{method}_{a}"] for a in ATTACKS]
            width = 0.8 / len(METHODS)
            ax.bar(x + (j - (len(METHODS) - 1) / 2) * width, vals, width, label=method.upper())
        ax.set_xticks(x, ATTACKS)
        ax.set_ylabel("accuracy")
        ax.set_ylim(0, 1)
        ax.set_title(f"{name}: clean and robust accuracy (L-inf eps = {EPS[name]})")
        ax.legend(ncol=len(METHODS), fontsize=8)
        save_figure(fig, ctx.out_dir / f"{name}_robust_accuracy.png")
