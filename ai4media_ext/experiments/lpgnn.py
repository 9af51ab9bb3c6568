"""LPGNN test accuracy under feature and label local DP (seed Fig. 15)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ._core import Experiment, RunContext, save_figure

EPS_X = (0.01, 0.1, 1.0, 2.0, 3.0, math.inf)
EPS_Y = (1.0, 2.0, 3.0, math.inf)
MODELS = ("gcn", "sage", "gat")


def _tag(eps: float) -> str:
    return "inf" if math.isinf(eps) else f"{eps:g}"


def key(dataset: str, model: str, eps_x: float, eps_y: float) -> str:
    """The results.json key, e.g. ``cora_sage_ex1_ey1`` or ``facebook_gcn_exinf_ey2``."""
    return f"{dataset}_{model}_ex{_tag(eps_x)}_ey{_tag(eps_y)}"


def bootstrap_ci(values: np.ndarray, seed: int, n_boot: int = 1000) -> float:
    """Half-width of the 95% bootstrap confidence interval of the mean (as in LPGNN)."""
    if len(values) < 2:
        return 0.0
    rng = np.random.default_rng(seed)
    means = rng.choice(values, size=(n_boot, len(values)), replace=True).mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float((hi - lo) / 2)


def load_graph(name: str, data_root: Any) -> Any:
    from .. import data as loaders

    if name == "cora":
        return loaders.load_cora(data_root)
    if name == "facebook":
        return loaders.load_facebook(data_root)
    if name == "karateclub":
        return loaders.load_karate_club()
    raise ValueError(f"unknown data set {name!r}")


def run_lpgnn(
    graph: Any,
    dataset: str,
    model: str,
    eps_x: float,
    eps_y: float,
    *,
    seed: int,
    epochs: int,
    device: str = "cpu",
    plain_ce: bool = False,
) -> float:
    """One LPGNN run (random 50/25/25 split, perturbation, training); test accuracy in [0, 1]."""
    import torch
    import torch_geometric.transforms as T

    from ..privacy.lpgnn import LPGNN, FeaturePerturbation, LabelPerturbation, LPGNNTrainer
    from ..privacy.lpgnn.hparams import hyperparameters

    torch.manual_seed(seed)
    hp = hyperparameters(dataset, eps_x, eps_y)
    if plain_ce:
        hp["y_steps"] = 0
    data = T.RandomNodeSplit(split="train_rest", num_val=0.25, num_test=0.25)(graph)
    data = FeaturePerturbation(eps_x, random_state=seed)(data)
    data = LabelPerturbation(eps_y, num_classes=int(graph.y.max()) + 1, random_state=seed + 1)(data)
    net = LPGNN(
        data.num_features,
        int(graph.y.max()) + 1,
        backbone=model,
        dropout=hp["dropout"],
        x_steps=hp["x_steps"],
        y_steps=hp["y_steps"],
        forward_correction=not plain_ce,
    )
    trainer = LPGNNTrainer(
        epochs=epochs, lr=hp["lr"], weight_decay=hp["weight_decay"], device=device
    )
    trainer.fit(net, data)
    return trainer.evaluate(net, data)


class LPGNNExperiment(Experiment):
    """GCN / GraphSAGE / GAT LPGNN on Cora and Facebook over the (eps_x, eps_y) grid.

    Every argument overrides the grid that ``--quick`` / the full setting would choose.
    """

    name = "lpgnn"
    title = "LPGNN: test accuracy vs feature and label privacy budgets"
    reference = "AI4Media D4.1 Fig. 15; Sajadmanesh & Gatica-Perez, CCS 2021"

    def __init__(
        self,
        *,
        datasets: Sequence[str] | None = None,
        models: Sequence[str] | None = None,
        settings: Sequence[tuple[float, float]] | None = None,
        repeats: int | None = None,
        epochs: int | None = None,
    ) -> None:
        self.datasets = datasets
        self.models = models
        self.settings = settings
        self.repeats = repeats
        self.epochs = epochs

    def _plan(self, ctx: RunContext) -> tuple[list[str], list[tuple[str, float, float]], int, int]:
        if ctx.data_root is None:
            datasets = ["karateclub"]  # shipped inside torch-geometric: runs offline anywhere
        else:
            datasets = ["cora"] if ctx.quick else ["cora", "facebook"]
        models = list(self.models or (("sage",) if ctx.quick else MODELS))
        if self.settings is not None:
            grid = list(self.settings)
        elif ctx.quick:
            grid = [(1.0, 1.0), (0.1, 1.0), (1.0, math.inf), (math.inf, 1.0), (math.inf, math.inf)]
        else:
            grid = [(ex, ey) for ex in EPS_X for ey in EPS_Y]
        runs = [(m, ex, ey) for m in models for ex, ey in grid]
        if ctx.quick and self.models is None and self.settings is None:
            runs += [("gcn", 1.0, 1.0), ("gat", 1.0, 1.0)]
        repeats = self.repeats or (2 if ctx.quick else 10)
        epochs = self.epochs or (250 if ctx.quick else 500)
        return list(self.datasets or datasets), runs, repeats, epochs

    def run(self, ctx: RunContext) -> dict[str, float]:
        datasets, runs, repeats, epochs = self._plan(ctx)
        results: dict[str, Any] = {
            "n_repeats": repeats,
            "epochs": epochs,
            "accuracy_unit": "percent",
            "split": "random 50/25/25",
        }
        jobs = [(d, *r, False) for d in datasets for r in runs]
        jobs += [(d, "sage", 1.0, 1.0, True) for d in datasets]  # plain cross-entropy ablation
        graphs = {}
        with tqdm(total=len(jobs) * repeats, desc=self.name, unit="run") as bar:
            for dataset, model, ex, ey, ce in jobs:
                if dataset not in graphs:
                    graphs[dataset] = load_graph(dataset, ctx.data_root)
                accs = []
                for r in range(repeats):
                    accs.append(
                        100.0
                        * run_lpgnn(
                            graphs[dataset],
                            dataset,
                            model,
                            ex,
                            ey,
                            seed=ctx.seed * 1000 + r,
                            epochs=epochs,
                            device=ctx.device,
                            plain_ce=ce,
                        )  # fmt: skip
                    )
                    bar.update()
                k = key(dataset, model, ex, ey) + ("_ce" if ce else "")
                results[k] = float(np.mean(accs))
                results[k + "_ci95"] = bootstrap_ci(np.asarray(accs), seed=ctx.seed)
        self._plot(ctx, datasets, runs, results)
        return results

    @staticmethod
    def _plot(ctx: RunContext, datasets, runs, results) -> None:
        import matplotlib.pyplot as plt

        models = sorted({m for m, _, _ in runs}, key=MODELS.index)
        fig, axes = plt.subplots(
            len(datasets), len(models), figsize=(4.2 * len(models), 3.4 * len(datasets)),
            squeeze=False,
        )  # fmt: skip
        for i, dataset in enumerate(datasets):
            for j, model in enumerate(models):
                ax = axes[i][j]
                for ey in sorted({e for m, _, e in runs if m == model}):
                    xs = sorted({x for m, x, e in runs if m == model and e == ey})
                    pos = [EPS_X.index(x) if x in EPS_X else x for x in xs]
                    ys = [results[key(dataset, model, x, ey)] for x in xs]
                    err = [results[key(dataset, model, x, ey) + "_ci95"] for x in xs]
                    ax.errorbar(pos, ys, yerr=err, marker="o", capsize=3,
                                label=f"eps_y={_tag(ey)}")  # fmt: skip
                ce = key(dataset, model, 1.0, 1.0) + "_ce"
                if ce in results:
                    ax.plot([EPS_X.index(1.0)], [results[ce]], "kx", ms=9,
                            label="cross-entropy, eps_y=1")  # fmt: skip
                ax.set_xticks(range(len(EPS_X)))
                ax.set_xticklabels([_tag(e) for e in EPS_X])
                ax.set_xlabel("eps_x")
                ax.set_ylabel("test accuracy (%)")
                ax.set_title(f"{dataset} — {model.upper()}")
                ax.grid(alpha=0.3)
                ax.legend(fontsize=7)
        save_figure(fig, ctx.out_dir / "lpgnn_accuracy.png")
