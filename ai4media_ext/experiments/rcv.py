"""Regression Concept Vectors on a CNN trained on real images (seed Figs. 9-10 analogues)."""

from __future__ import annotations

from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ._core import Experiment, RunContext, save_figure

# Scale-free ridge penalty of the concept regressions: 128-wide layers, a few hundred examples.
RIDGE = 0.01


def train_cnn(model: Any, x: Any, y: Any, epochs: int, seed: int, device: str = "cpu") -> Any:
    """Adam (step 1e-3), batch 64, random horizontal flips for RGB: the RCV network's training,
    through the one loop :func:`ai4media_ext.zoo.train_epochs`."""
    import functools

    import torch

    from ..zoo.training import train_epochs

    torch.manual_seed(seed)
    model = model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = x.to(device), y.to(device)
    progress = functools.partial(tqdm, desc="rcv: training CNN", unit="epoch", leave=False)
    train_epochs(
        model, x, y, opt, epochs=epochs, batch_size=64, hflip=x.shape[1] == 3, progress=progress
    )
    return model.eval()


def __getattr__(name: str) -> Any:
    if name == "small_cnn":  # moved to ai4media_ext.zoo.SmallCNN; re-exported for this release
        from ..zoo.cnn import SmallCNN

        return SmallCNN
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class RCVExperiment(Experiment):
    """R^2 per layer, Br and TCAV-style scores per class, with random and shuffled controls."""

    name = "rcv"
    title = "Regression Concept Vectors: concept R^2 per layer and per-class relevance"
    reference = "AI4Media D4.1 §4.2, Figs. 9-10; Graziani et al., iMIMIC 2018"

    def _data(self, ctx: RunContext):
        from .. import data as loaders

        if ctx.data_root is None:  # 8x8 digits shipped with scikit-learn
            x, y = loaders.load_digits()
            images = np.clip(x * 16, 0, 255).astype(np.uint8)  # 0..16 -> 0..255 grey
            order = np.random.default_rng(ctx.seed).permutation(len(y))
            tr, te = order[:1200], order[1200:]
            names = [str(d) for d in range(10)]
            return "digits", images[tr], y[tr], images[te], y[te], names
        x_tr, y_tr = loaders.load_cifar10("train", ctx.data_root)
        x_te, y_te = loaders.load_cifar10("test", ctx.data_root)
        # the zips are ordered by class: shuffle so that every split holds every class
        order = np.random.default_rng(ctx.seed).permutation(len(y_te))
        return "cifar10", x_tr, y_tr, x_te[order], y_te[order], list(loaders.CIFAR10_CLASSES)

    @staticmethod
    def _concepts(dataset: str, images: np.ndarray) -> dict[str, np.ndarray]:
        from ..explainability.rcv import measures

        masks = measures.otsu_masks(images)
        out = {"contrast": measures.texture(images, ("contrast",))["contrast"]}
        out["area"] = measures.region(masks)["area"]
        if dataset == "cifar10":
            out["hue_orange"] = measures.hue_share(images, "orange")
        else:
            out["eccentricity"] = measures.region(masks)["eccentricity"]
        return out

    def run(self, ctx: RunContext) -> dict[str, float]:
        import torch
        from torch.utils.data import DataLoader

        from ..data.splits import scale_pixels
        from ..explainability.rcv import RCV
        from ..zoo.cnn import SmallCNN

        dataset, x_tr, y_tr, x_te, y_te, class_names = self._data(ctx)

        def to_tensor(imgs: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(scale_pixels(imgs))

        epochs = (3 if ctx.quick else 15) if dataset == "cifar10" else 15
        torch.manual_seed(ctx.seed)  # the initial weights too: torch's default seed is random
        model = SmallCNN(3 if x_tr.ndim == 4 else 1, x_tr.shape[1])
        model = train_cnn(model, to_tensor(x_tr), torch.from_numpy(y_tr), epochs, ctx.seed).cpu()
        with torch.no_grad():
            test_acc = (model(to_tensor(x_te)).argmax(1).numpy() == y_te).mean()

        # Concept examples and per-class inputs are disjoint halves of the test set.
        n_concept = min(len(x_te) // 2, 600 if ctx.quick else 3000)
        per_class = 60 if ctx.quick else 200
        cx = x_te[:n_concept]
        values = self._concepts(dataset, cx)
        layers = ["conv1", "conv2", "conv3", "fc1"]
        analysis = "conv3"
        repeats = 3 if ctx.quick else 10
        loader = DataLoader(to_tensor(cx), batch_size=256)
        rng = np.random.default_rng(ctx.seed)

        results: dict[str, Any] = {
            "dataset": dataset,
            "cnn_epochs": epochs,
            "cnn_test_accuracy": float(test_acc),
            "n_concept_examples": n_concept,
            "n_inputs_per_class": per_class,
            "n_repeats": repeats,
            "analysis_layer": analysis,
        }
        rcv = RCV(model, layers, n_splits=3, random_state=ctx.seed, ridge=RIDGE)
        acts = {layer: rcv.activations(loader, layer) for layer in layers}
        held_out = (x_te[n_concept:], y_te[n_concept:])
        grads = _class_gradients(rcv, held_out, to_tensor, per_class, analysis, class_names)

        kinds = ("concept", "shuffled", "random")
        r2_curves: dict[tuple[str, str], list[float]] = {}
        for name, measure in tqdm(values.items(), desc="rcv: concepts", unit="concept"):
            y = torch.from_numpy(measure).double()
            per_rep = {kind: {"tcav": [], "br": []} for kind in kinds}
            for kind in kinds:
                for rep in range(repeats):
                    target = (
                        y if kind != "shuffled" else y[torch.from_numpy(rng.permutation(len(y)))]
                    )
                    sub = torch.from_numpy(rng.permutation(len(y))[: int(0.8 * len(y))])
                    fits = {}
                    for layer in layers if rep == 0 else [analysis]:
                        a = acts[layer]
                        if kind == "random":
                            v = torch.from_numpy(rng.standard_normal(a.shape[1]))
                            v = v / v.norm()
                            fit = rcv.fit_direction((a @ v)[:, None], target, ctx.seed + rep)
                            fit["direction"] = v
                        else:
                            fit = rcv.fit_direction(a[sub], target[sub], ctx.seed + rep)
                        fits[layer] = fit
                        if rep == 0:
                            prefix = "" if kind == "concept" else f"{kind}_"
                            results[f"{prefix}{name}_{layer}_r2"] = float(fit["r2"])
                            r2_curves[(kind, name)] = [*r2_curves.get((kind, name), []),
                                                       float(fit["r2"])]  # fmt: skip
                    fit = fits[analysis]
                    for k in range(10):
                        s = rcv.scores(grads[k] @ fit["direction"], fit["r2"])
                        per_rep[kind]["tcav"].append((k, float(s["tcav"])))
                        per_rep[kind]["br"].append((k, float(s["br_score"])))
            results.update(_class_summary(name, per_rep, class_names))

        self._plot(ctx, values, layers, class_names, r2_curves, results)
        return results

    @staticmethod
    def _plot(ctx, values, layers, class_names, r2_curves, results) -> None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for (kind, name), curve in r2_curves.items():
            style = {"concept": "-o", "shuffled": ":x", "random": "--^"}[kind]
            label = name if kind == "concept" else f"{name} ({kind} control)"
            ax.plot(layers, curve, style, label=label, alpha=1.0 if kind == "concept" else 0.5)
        ax.axhline(0, color="k", lw=0.8)
        ax.set_ylabel("held-out R^2 (3-fold)")
        ax.set_title("Concept regression R^2 per layer (Fig. 10 style)")
        ax.legend(fontsize=6, ncol=2)
        save_figure(fig, ctx.out_dir / "r2_per_layer.png")

        names = list(values)
        fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.8), squeeze=False)
        pos = np.arange(len(class_names))
        for ax, name in zip(axes[0], names, strict=True):
            br = [results[f"{name}_{c}_br"] for c in class_names]
            ctrl = [results[f"random_{name}_{c}_br"] for c in class_names]
            ax.bar(pos - 0.2, br, 0.4, label="Br (RCV)")
            ax.bar(pos + 0.2, ctrl, 0.4, label="Br (random direction)", alpha=0.6)
            ax.set_xticks(pos)
            ax.set_xticklabels(class_names, rotation=60, fontsize=7)
            ax.set_title(f"{name}: bidirectional relevance per class")
            ax.axhline(0, color="k", lw=0.8)
        axes[0][0].legend(fontsize=7)
        save_figure(fig, ctx.out_dir / "br_per_class.png")


def _class_gradients(rcv, held_out, to_tensor, per_class, layer, class_names) -> dict[int, Any]:
    """Gradients of each class's logit at ``layer`` for up to ``per_class`` held-out images."""
    rest_x, rest_y = held_out
    grads = {}
    for k in range(len(class_names)):
        inputs = to_tensor(rest_x[rest_y == k][:per_class])
        if len(inputs) == 0:
            raise ValueError(f"no held-out test images of class {class_names[k]!r}")
        grads[k] = rcv.layer_gradients(inputs, layer, target=k)
    return grads


def _class_summary(name: str, per_rep: dict, class_names: list[str]) -> dict[str, float]:
    """Mean TCAV / Br per class over the repeats, with one-sample t-test p-values (TCAV against
    0.5, Br against 0), for the concept and each control."""
    from scipy.stats import ttest_1samp

    out = {}
    for kind, scores in per_rep.items():
        prefix = "" if kind == "concept" else f"{kind}_"
        for k, cls in enumerate(class_names):
            tcav = np.array([v for c, v in scores["tcav"] if c == k])
            br = np.array([v for c, v in scores["br"] if c == k])
            out[f"{prefix}{name}_{cls}_tcav"] = float(tcav.mean())
            out[f"{prefix}{name}_{cls}_br"] = float(br.mean())
            out[f"{prefix}{name}_{cls}_tcav_p"] = _pvalue(ttest_1samp, tcav, 0.5)
            out[f"{prefix}{name}_{cls}_br_p"] = _pvalue(ttest_1samp, br, 0.0)
    return out


def _pvalue(test: Any, values: np.ndarray, popmean: float) -> float:
    if len(values) < 2 or np.allclose(values, values[0]):
        return 0.0 if not np.isclose(values[0], popmean) else 1.0
    return float(test(values, popmean).pvalue)
