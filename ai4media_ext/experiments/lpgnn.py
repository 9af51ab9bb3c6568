"""LPGNN test accuracy under feature and label local DP (seed Fig. 15)."""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ._core import Experiment, RunContext, save_figure

EPS_X = (0.01, 0.1, 1.0, 2.0, 3.0, math.inf)
EPS_Y = (1.0, 2.0, 3.0, math.inf)
MODELS = ("gcn", "sage", "gat")
GAT_CPU_STACK = 3  # largest GAT stack on CPU (see LPGNNExperiment._stacks)


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


def torch_strided() -> Any:
    import torch

    return torch.strided


def load_graph(name: str, data_root: Any) -> Any:
    from .. import data as loaders

    if name == "cora":
        return loaders.load_cora(data_root)
    if name == "facebook":
        return loaders.load_facebook(data_root)
    if name == "karateclub":
        return loaders.load_karate_club()
    raise ValueError(f"unknown data set {name!r}")


def prepare(graph: Any, eps_x: float, eps_y: float, seed: int) -> Any:
    """Random 50/25/25 split (torch seed ``seed``), sparse multi-bit features (seed ``seed``),
    k-RR labels (seed ``seed + 1``): one repeat's private data."""
    import torch
    import torch_geometric.transforms as T

    from ..privacy.lpgnn import FeaturePerturbation, LabelPerturbation

    torch.manual_seed(seed)
    data = T.RandomNodeSplit(split="train_rest", num_val=0.25, num_test=0.25)(graph)
    data = FeaturePerturbation(eps_x, random_state=seed, sparse=True)(data)
    return LabelPerturbation(eps_y, num_classes=int(graph.y.max()) + 1, random_state=seed + 1)(data)


def _settings(dataset: str, eps_x: float, eps_y: float, plain_ce: bool) -> dict[str, Any]:
    from ..privacy.lpgnn.hparams import hyperparameters

    hp = hyperparameters(dataset, eps_x, eps_y)
    if plain_ce:
        hp["y_steps"] = 0
    return hp


def run_stack(
    graph: Any,
    dataset: str,
    model: str,
    jobs: Sequence[tuple[float, float, int, bool]],
    *,
    epochs: int,
    device: str = "cpu",
    cache: dict | None = None,
) -> list[float]:
    """Train one LPGNN per ``(eps_x, eps_y, seed, plain_ce)`` job in one stacked run (the jobs
    must share their tuned K_x, K_y, lr and weight decay); test accuracies in [0, 1]. Each
    result equals :func:`run_lpgnn` with the same arguments."""
    from ..privacy.lpgnn import LPGNN, LPGNNTrainer

    cache = {} if cache is None else cache
    datas, models, hps = [], [], []
    for ex, ey, seed, ce in jobs:
        if (ex, ey, seed) not in cache:
            cache[(ex, ey, seed)] = prepare(graph, ex, ey, seed)
        data = cache[(ex, ey, seed)]
        hp = _settings(dataset, ex, ey, ce)
        datas.append(data)
        hps.append(hp)
        models.append(
            LPGNN(
                data.num_features,
                int(graph.y.max()) + 1,
                backbone=model,
                dropout=hp["dropout"],
                x_steps=hp["x_steps"],
                y_steps=hp["y_steps"],
                forward_correction=not ce,
                random_state=seed,
            )
        )
    shared = {(h["x_steps"], h["y_steps"], h["lr"], h["weight_decay"]) for h in hps}
    if len(shared) != 1:
        raise ValueError(f"stacked jobs need the same K_x, K_y, lr, weight decay, got {shared}")
    trainer = LPGNNTrainer(
        epochs=epochs, lr=hps[0]["lr"], weight_decay=hps[0]["weight_decay"], device=device
    )
    trainer.fit_many(models, datas)
    return [trainer.evaluate(m, d) for m, d in zip(models, datas, strict=True)]


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
    return run_stack(
        graph, dataset, model, [(eps_x, eps_y, seed, plain_ce)], epochs=epochs, device=device
    )[0]


def _env_list(name: str) -> list[str] | None:
    value = os.environ.get(name)
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


class LPGNNExperiment(Experiment):
    """GCN / GraphSAGE / GAT LPGNN on Cora and Facebook over the (eps_x, eps_y) grid.

    Every argument overrides the grid that ``--quick`` / the full setting would choose; the
    environment variables ``AI4MEDIA_EXT_LPGNN_REPEATS``, ``..._EPOCHS``, ``..._DATASETS``,
    ``..._MODELS``, ``..._SETTINGS`` (comma-separated; settings as ``eps_x:eps_y``) and
    ``..._MAX_STACK`` do the same from the command line; ``plain_ce=False`` (or
    ``AI4MEDIA_EXT_LPGNN_PLAIN_CE=0``) skips the plain cross-entropy ablation (GraphSAGE,
    eps_x = eps_y = 1, no forward correction), e.g. when a grid is run in several parts
    (``ai4media-ext reproduce`` builds experiments without arguments). Repeats (and budget
    pairs with the same tuned K_x, K_y, lr and weight decay) are trained as one stack of at
    most ``max_stack`` models (:meth:`LPGNNTrainer.fit_many`, identical to separate runs).
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
        max_stack: int | None = None,
        plain_ce: bool | None = None,
    ) -> None:
        env = os.environ.get
        self.datasets = datasets or _env_list("AI4MEDIA_EXT_LPGNN_DATASETS")
        self.models = models or _env_list("AI4MEDIA_EXT_LPGNN_MODELS")
        pairs = _env_list("AI4MEDIA_EXT_LPGNN_SETTINGS")  # e.g. "0.01:1,inf:inf"
        self.settings = settings or (
            [tuple(float(v) for v in p.split(":")) for p in pairs] if pairs else None
        )
        self.repeats = repeats or (int(env("AI4MEDIA_EXT_LPGNN_REPEATS", 0)) or None)
        self.epochs = epochs or (int(env("AI4MEDIA_EXT_LPGNN_EPOCHS", 0)) or None)
        self.max_stack = max_stack or int(env("AI4MEDIA_EXT_LPGNN_MAX_STACK", 0)) or 12
        if plain_ce is None:
            flag = env("AI4MEDIA_EXT_LPGNN_PLAIN_CE", "1").strip().lower()
            if flag not in ("0", "1", "false", "true"):
                raise ValueError(f"AI4MEDIA_EXT_LPGNN_PLAIN_CE must be 0 or 1, got {flag!r}")
            plain_ce = flag in ("1", "true")
        self.plain_ce = plain_ce

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
        self._seed = ctx.seed * 1000
        datasets, runs, repeats, epochs = self._plan(ctx)
        results: dict[str, Any] = {
            "n_repeats": repeats,
            "epochs": epochs,
            "accuracy_unit": "percent",
            "split": "random 50/25/25",
        }
        jobs = [(d, *r, False) for d in datasets for r in runs]
        if self.plain_ce:  # plain cross-entropy ablation
            jobs += [(d, "sage", 1.0, 1.0, True) for d in datasets]
        accs: dict[tuple, list[float]] = {job: [] for job in jobs}
        start = time.perf_counter()
        with tqdm(total=len(jobs) * repeats, desc=self.name, unit="run") as bar:
            for dataset in datasets:
                graph = load_graph(dataset, ctx.data_root)
                if graph.x.layout == torch_strided():
                    graph.x = graph.x.to_sparse_csr()  # read sparsely by FeaturePerturbation
                cache: dict = {}
                mine = [j for j in jobs if j[0] == dataset]
                for stack in self._stacks(dataset, mine, repeats, ctx.device):
                    model = stack[0][0][1]
                    out = run_stack(graph, dataset, model, [s[1] for s in stack], epochs=epochs,
                                    device=ctx.device, cache=cache)  # fmt: skip
                    for (job, _), acc in zip(stack, out, strict=True):
                        accs[job].append(100.0 * acc)
                    bar.update(len(stack))
        for dataset, model, ex, ey, ce in jobs:
            k = key(dataset, model, ex, ey) + ("_ce" if ce else "")
            values = np.asarray(accs[(dataset, model, ex, ey, ce)])
            results[k] = float(values.mean())
            results[k + "_ci95"] = bootstrap_ci(values, seed=ctx.seed)
        results["train_seconds"] = time.perf_counter() - start
        self._plot(ctx, datasets, runs, results)
        return results

    def _stacks(
        self, dataset: str, jobs: list[tuple], repeats: int, device: str = "cpu"
    ) -> list[list[tuple]]:
        """Group (job, (eps_x, eps_y, seed, ce)) by backbone and shared hyper-parameters, at
        most ``max_stack`` per stack; on CPU at most :data:`GAT_CPU_STACK` GAT models (wider
        stacked matrices fall out of the cache in the sparse products: on Facebook a GAT
        model-epoch took 0.52 s alone, 0.41 s in a stack of 3 and 1.0 s in a stack of 9)."""
        groups: dict[tuple, list[tuple]] = {}
        for job in jobs:
            _, model, ex, ey, ce = job
            hp = _settings(dataset, ex, ey, ce)
            gkey = (model, hp["x_steps"], hp["y_steps"], hp["lr"], hp["weight_decay"], ce)
            for r in range(repeats):
                seed = self._seed + r
                groups.setdefault(gkey, []).append((job, (ex, ey, seed, ce)))
        out = []
        for gkey, g in groups.items():
            size = self.max_stack
            if gkey[0] == "gat" and device == "cpu":
                size = min(size, GAT_CPU_STACK)
            out += [g[i : i + size] for i in range(0, len(g), size)]
        return out

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
                    xs = [x for x in xs if key(dataset, model, x, ey) in results]
                    if not xs:  # a merged grid may hold a pair for one data set only
                        continue
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
                if ax.get_legend_handles_labels()[0]:
                    ax.legend(fontsize=7)
        fig.tight_layout()
        save_figure(fig, ctx.out_dir / "lpgnn_accuracy.png")


_GRID_KEY = re.compile(
    r"^(?P<d>[a-z]+)_(?P<m>gcn|sage|gat)_ex(?P<x>[0-9.e+-]+|inf)_ey(?P<y>[0-9.e+-]+|inf)$"
)


def merge_grid(paths: Sequence[str | os.PathLike[str]], out_dir: str | os.PathLike[str]) -> dict:
    """Merge the ``results.json`` of runs of parts of the grid into one, with its figure.

    A grid too long for one sitting is run in parts (``AI4MEDIA_EXT_LPGNN_MODELS`` /
    ``..._SETTINGS`` / ``..._DATASETS``); this writes ``out_dir/results.json`` (every part's
    accuracy keys, ``sources``, the summed ``train_seconds``) and ``out_dir/lpgnn_accuracy.png``
    (one row per data set, one panel per backbone: the seed's Fig. 15 layout).

    Raises:
        ValueError: the parts differ in ``epochs``, ``n_repeats`` or ``split``, or two parts
            report different values for the same key.
    """
    from pathlib import Path

    from ._core import write_json_atomic

    merged: dict[str, Any] = {}
    shared = ("epochs", "n_repeats", "split", "accuracy_unit")
    seconds = 0.0
    for path in paths:
        part = json.loads(Path(path).read_text())
        for name in shared:
            if name in merged and merged[name] != part.get(name):
                raise ValueError(f"{path}: {name}={part.get(name)!r}, other parts {merged[name]!r}")
            merged[name] = part.get(name)
        seconds += float(part.get("train_seconds", 0.0))
        for k, v in part.items():
            base = k.removesuffix("_ci95").removesuffix("_ce")
            if not _GRID_KEY.match(base):
                continue
            if k in merged and merged[k] != v:
                raise ValueError(f"{path}: {k}={v} but another part has {merged[k]}")
            merged[k] = v
    merged["train_seconds"] = seconds
    merged["sources"] = [str(p) for p in paths]
    found = [_GRID_KEY.match(k) for k in merged]
    found = [f for f in found if f]
    datasets = sorted({f["d"] for f in found}, key=lambda d: (d != "cora", d))
    runs = sorted({(f["m"], float(f["x"]), float(f["y"])) for f in found})
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "results.json", merged)
    LPGNNExperiment._plot(RunContext(out_dir=out), datasets, runs, merged)
    return merged
