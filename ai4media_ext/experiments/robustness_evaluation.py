"""Seed Table 2 under an evaluation that catches gradient masking (issue 23): SM, CL, PCL, PGD
adversarial training, HCP (default) and HCP as printed (from scratch and fine-tuned from softmax)
through :class:`~ai4media_ext.robustness.evaluation.RobustnessEvaluation`."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ._core import Experiment, RunContext, numpy_global_seed, save_figure
from .hcp import EPS, train

#: hcp = our default HCP; hcp_fs / hcp_sm = HCP as printed, from scratch / fine-tuned from SM
METHODS = ("sm", "cl", "pcl", "at", "hcp", "hcp_fs", "hcp_sm")
OPTIONS = {"model": ("cnn", "resnet18"), "epochs": None, "n_attack": None, "methods": METHODS}
#: constrained layers per model (HCP, PCL; CL the last one)
LAYERS = {"cnn": ("conv3", "fc1"), "resnet18": ("layer3", "layer4")}


def _options(ctx: RunContext) -> dict[str, Any]:
    unknown = sorted(set(ctx.options) - set(OPTIONS))
    if unknown:
        raise ValueError(
            f"unknown option(s) {unknown}; robustness-evaluation takes {list(OPTIONS)}"
        )
    model = ctx.options.get("model", "cnn")
    if model not in OPTIONS["model"]:
        raise ValueError(f"option model must be one of {OPTIONS['model']}, got {model!r}")
    out: dict[str, Any] = {"model": model}
    methods = tuple(ctx.options.get("methods", ",".join(METHODS)).split(","))
    if not methods or set(methods) - set(METHODS) or len(set(methods)) != len(methods):
        raise ValueError(f"option methods must be distinct names among {METHODS}, got {methods}")
    if "hcp_sm" in methods and "sm" not in methods[: methods.index("hcp_sm")]:
        raise ValueError("option methods: hcp_sm is fine-tuned from sm, so sm must come first")
    out["methods"] = methods
    for key in ("epochs", "n_attack"):
        if key in ctx.options:
            value = int(ctx.options[key])
            if value < 1:
                raise ValueError(f"option {key} must be a positive integer, got {value}")
            out[key] = value
    return out


def _build(model: str, x: np.ndarray, device: str) -> Any:
    from ..zoo.art import art_classifier
    from ..zoo.cnn import SmallCNN
    from ..zoo.resnet import ResNet18CIFAR

    net = ResNet18CIFAR() if model == "resnet18" else SmallCNN(x.shape[1], x.shape[-1])
    return art_classifier(net, x.shape[1:], device)


def train_method(method: str, clf: Any, x, y, epochs: int, eps: float, layers, sm=None) -> float:
    """Train ``clf`` in place; ``hcp_sm`` starts from the weights of the trained ``sm``
    classifier. Returns seconds per epoch."""
    from ..robustness.hcp import HCPLiteralTrainer

    if method not in ("hcp_fs", "hcp_sm"):
        return train(method, clf, x, y, epochs, eps, layers=layers)
    if method == "hcp_sm":
        clf.model.load_state_dict(sm.model.state_dict())
    start = time.perf_counter()
    HCPLiteralTrainer(clf, list(layers), verbose=False).fit(x, y, nb_epochs=epochs, batch_size=128)
    return (time.perf_counter() - start) / epochs


class RobustnessEvaluationExperiment(Experiment):
    """Every Table 2 method through the masking-aware evaluation, accuracy vs budget."""

    name = "robustness-evaluation"
    title = "Robustness evaluation with gradient-masking checks: HCP variants vs SM, CL, PCL, AT"
    reference = (
        "AI4Media D4.1 §3.2 Table 2; Carlini et al., On Evaluating Adversarial Robustness, 2019; "
        "Athalye, Carlini & Wagner, ICML 2018"
    )

    def _dataset(self, ctx: RunContext, model: str):
        from ..data.splits import cifar10_split, digits_split, mnist_split

        if model == "resnet18":
            if ctx.data_root is None:
                raise ValueError("model=resnet18 is the CIFAR-10 setting: pass --data-root")
            return cifar10_split(ctx.data_root, ctx.seed)
        if ctx.data_root is None:
            return digits_split(ctx.seed)
        if ctx.quick:
            return mnist_split(ctx.data_root, ctx.seed)
        return cifar10_split(ctx.data_root, ctx.seed)

    def run(self, ctx: RunContext) -> dict[str, float]:
        import torch

        from ..robustness.evaluation import RobustnessEvaluation

        opts = _options(ctx)
        name, x_tr, y_tr, x_te, y_te = self._dataset(ctx, opts["model"])
        eps, layers = EPS[name], LAYERS[opts["model"]]
        epochs = opts.get("epochs", {"digits": 10, "mnist": 3, "cifar10": 20}[name])
        n_attack = opts.get("n_attack", 300 if ctx.quick or name == "digits" else 1000)
        xs, ys = x_te[:n_attack], y_te[:n_attack]
        settings = {"max_iter": 10 if ctx.quick else 20, "square_iter": 300 if ctx.quick else 1000,
                    "targets": 3, "batch_size": 256, "random_state": ctx.seed}  # fmt: skip
        results: dict[str, Any] = {f"{name}_eps": eps, f"{name}_epochs": epochs,
                                   f"{name}_n_attack": len(ys), "model": opts["model"],
                                   "methods": ",".join(opts["methods"]),
                                   **{f"evaluation_{k}": v for k, v in settings.items()}}  # fmt: skip
        with numpy_global_seed(ctx.seed + 1):  # the transfer surrogate: another SM network
            torch.manual_seed(ctx.seed + 1)
            surrogate = _build(opts["model"], x_tr, ctx.device)
            train("sm", surrogate, x_tr, y_tr, epochs, eps)
        results[f"{name}_surrogate_clean"] = _accuracy(surrogate, x_te, y_te)
        models: dict[str, Any] = {}
        evaluations: dict[str, Any] = {}
        for method in tqdm(opts["methods"], desc=f"{self.name}: {name}", unit="model"):
            torch.manual_seed(ctx.seed)
            clf = _build(opts["model"], x_tr, ctx.device)
            with numpy_global_seed(ctx.seed):
                results[f"{name}_{method}_seconds_per_epoch"] = train_method(
                    method, clf, x_tr, y_tr, epochs, eps, layers, sm=models.get("sm")
                )
            models[method] = clf
            results[f"{name}_{method}_clean_full_test"] = _accuracy(clf, x_te, y_te)
            start = time.perf_counter()
            ev = RobustnessEvaluation(clf, eps=eps, surrogate=surrogate, **settings)
            ev.evaluate(xs, ys)
            results[f"{name}_{method}_evaluation_seconds"] = time.perf_counter() - start
            results.update(ev.to_dict(prefix=f"{name}_{method}_"))
            ev.plot(ctx.out_dir / f"{name}_{method}_curves.png")
            evaluations[method] = ev
            print(f"## {name} {method}\n{ev.summary()}\n", flush=True)
        self._plot(ctx, name, eps, evaluations)
        return results

    @staticmethod
    def _plot(ctx: RunContext, name: str, eps: float, evaluations: dict[str, Any]) -> None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for method, ev in evaluations.items():
            curve = ev.worst_case_curve_
            es = sorted(curve)
            (line,) = axes[0].plot(es, [curve[e] for e in es], "-o", ms=3, label=method.upper())
            pgd = ev.table_.get("pgd", {})
            axes[1].plot(sorted(pgd), [pgd[e] for e in sorted(pgd)], "-o", ms=3,
                         color=line.get_color(), label=method.upper())  # fmt: skip
        for ax, what in zip(axes, ("worst case over the battery", "PGD (BIM) alone"), strict=True):
            ax.set_xscale("log")
            ax.axvline(eps, color="grey", lw=0.8, ls=":")
            ax.set_xlabel("L-inf budget eps")
            ax.set_ylabel("accuracy")
            ax.set_ylim(-0.02, 1.02)
            ax.set_title(f"{name}: {what}")
            ax.legend(fontsize=7)
        save_figure(fig, ctx.out_dir / f"{name}_accuracy_vs_eps.png")


def _accuracy(clf: Any, x: np.ndarray, y: np.ndarray) -> float:
    return float((clf.predict(x, batch_size=500).argmax(1) == y).mean())
