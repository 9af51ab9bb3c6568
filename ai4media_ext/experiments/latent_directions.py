"""Disentangled GAN controls on a DCGAN of real MNIST digits (seed §4.6, Fig. 13 analogue).

A DCGAN trained on the 10,000 real MNIST test digits (scikit-learn's 8x8 digits without a data root)
generates ``n_codes`` images; each is measured with the Morpho-MNIST morphometrics (thickness, area,
width, slant) and a LeNet-5 digit classifier. The four measures are binarised at their median
(the attribute score of a code is its measure's empirical quantile, so the confidence filter drops
codes near the median), and four directions per attribute are compared:

- ``interfacegan``: linear SVM normal on the confident, unbalanced codes (InterFaceGAN);
- ``interfacegan_conditional``: the same with the other attributes' SVM directions projected out;
- ``balanced_centroid``: centroid difference on a multi-attribute balanced sample (the seed's method);
- ``balanced_svm``: linear SVM on the same balanced sample.

Each direction edits 1,000 fresh codes (200 in ``--quick``) from alpha = -3 to +3; the change of
the target measure (control) and the mean absolute change of the other three (entanglement) are
given in units of each measure's standard deviation over the generated distribution.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ._core import Experiment, RunContext, save_figure

ATTRIBUTES = ("thickness", "area", "width", "slant")
METHODS = ("interfacegan", "interfacegan_conditional", "balanced_centroid", "balanced_svm")


def _setting(ctx: RunContext) -> dict[str, Any]:
    if ctx.data_root is None:  # in-wheel 8x8 digits
        return {"config": "digits", "epochs": 60 if not ctx.quick else 30, "n_codes": 6000,
                "n_eval": 200, "threshold": 0.6, "clf_epochs": 30}  # fmt: skip
    if ctx.quick:
        return {"config": "mnist-lite", "epochs": 6, "n_codes": 6000, "n_eval": 200,
                "threshold": 0.55, "clf_epochs": 3}  # fmt: skip
    return {"config": "mnist", "epochs": 12, "n_codes": 30000, "n_eval": 1000,
            "threshold": 0.55, "clf_epochs": 5}  # fmt: skip


def _generate(generator: Any, z: np.ndarray, batch: int = 500) -> np.ndarray:
    """Images in [0, 1], shape (n, H, W), float64."""
    import torch

    out = []
    with torch.no_grad():
        for chunk in np.array_split(z, max(1, int(np.ceil(len(z) / batch)))):
            x = generator(torch.as_tensor(chunk, dtype=torch.float32))
            out.append(((x[:, 0] + 1.0) / 2.0).clamp(0, 1).double().numpy())
    return np.concatenate(out)


class _Measurer:
    """Morpho-MNIST measures of the four attributes and the classifier's digit of generated codes."""

    def __init__(self, generator: Any, classifier: Any):
        self.generator, self.classifier = generator, classifier

    def __call__(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch

        from ..explainability.latent import MEASURES, morpho_measures

        images = _generate(self.generator, z)
        cols = [MEASURES.index(a) for a in ATTRIBUTES]
        measures = morpho_measures(images)[:, cols]
        with torch.no_grad():
            logits = self.classifier(torch.as_tensor(images[:, None], dtype=torch.float32))
        return measures, logits.argmax(1).numpy()


def _train_classifier(split: Any, epochs: int, seed: int) -> tuple[Any, float]:
    import torch

    from ..zoo import LeNet5, train_epochs

    torch.manual_seed(seed)
    side = split.x_train.shape[-1]
    model = LeNet5(1, side=max(side, 12))
    pad = (max(side, 12) - side) // 2

    def prep(x: np.ndarray) -> torch.Tensor:
        t = torch.as_tensor(x, dtype=torch.float32)
        return torch.nn.functional.pad(t, (pad, pad, pad, pad)) if pad else t

    opt = torch.optim.Adam(model.parameters(), 1e-3)
    train_epochs(model, prep(split.x_train), torch.as_tensor(split.y_train), opt,
                 epochs=epochs, batch_size=64, generator=torch.Generator().manual_seed(seed))  # fmt: skip
    model.eval()
    with torch.no_grad():
        acc = (model(prep(split.x_test)).argmax(1).numpy() == split.y_test).mean()
    if pad:
        inner = model
        model = torch.nn.Sequential(torch.nn.ZeroPad2d(pad), inner).eval()
    return model, float(acc)


class LatentDirectionsExperiment(Experiment):
    """Control vs entanglement of InterFaceGAN, its conditional variant and balanced directions."""

    name = "latent-directions"
    title = "Disentangled GAN controls: multi-attribute balanced sampling and centroid directions"
    reference = (
        "AI4Media D4.1 §4.6, Fig. 13; Doubinsky et al., Pattern Recognition Letters 162 (2022); "
        "Shen et al., InterFaceGAN (CVPR 2020); Castro et al., Morpho-MNIST (JMLR 2019)"
    )

    def run(self, ctx: RunContext) -> dict[str, float]:
        from ..data import splits
        from ..zoo.dcgan import load_or_train_dcgan, to_tanh_range

        cfg = _setting(ctx)
        if ctx.data_root is None:
            split, name = splits.digits_split(ctx.seed), "digits"
        else:
            split, name = splits.mnist_split(ctx.data_root, ctx.seed), "mnist-test"
        gan_images = to_tanh_range(np.concatenate([split.x_train, split.x_test]), 1.0)
        generator, _, gan_seconds = load_or_train_dcgan(
            gan_images, cfg["config"], name, epochs=cfg["epochs"], seed=ctx.seed
        )
        classifier, clf_acc = _train_classifier(split, cfg["clf_epochs"], ctx.seed)
        measure = _Measurer(generator, classifier)
        rng = np.random.default_rng(ctx.seed)
        z = rng.standard_normal((cfg["n_codes"], generator.latent_dim))
        m, _ = measure(z)
        results: dict[str, float] = {
            "gan_train_seconds": gan_seconds,
            "classifier_acc": clf_acc,
            "n_codes": float(len(z)),
        }
        corr = np.corrcoef(m.T)
        for i, a in enumerate(ATTRIBUTES):
            for j, b in enumerate(ATTRIBUTES):
                if i < j:
                    results[f"corr_{a}_{b}"] = float(corr[i, j])
        directions, seconds, fitted = self._directions(z, m, cfg, ctx.seed, results)
        z_eval = rng.standard_normal((cfg["n_eval"], generator.latent_dim))
        scale = m.std(axis=0)
        for t, attr in enumerate(ATTRIBUTES):
            for method in METHODS:
                n = directions[method][t]
                lo, digit_lo = measure(z_eval - 3.0 * n)
                hi, digit_hi = measure(z_eval + 3.0 * n)
                change = (hi - lo) / scale
                others = [j for j in range(len(ATTRIBUTES)) if j != t]
                key = f"{attr}_{method}"
                results[f"{key}_target_change"] = float(change[:, t].mean())
                results[f"{key}_entanglement"] = float(np.abs(change[:, others]).mean())
                # entanglement per unit of control: directions move the target by different amounts
                results[f"{key}_entanglement_per_target"] = results[f"{key}_entanglement"] / max(
                    abs(results[f"{key}_target_change"]), 1e-12
                )
                results[f"{key}_digit_change"] = float((digit_lo != digit_hi).mean())
                results[f"{key}_seconds"] = float(seconds[method][t])
        results.update({f"n_codes_fit_{k}": float(v.n_samples_fit_) for k, v in fitted.items()})
        self._figures(ctx, generator, directions, corr, results, rng)
        return results

    @staticmethod
    def _directions(z, m, cfg, seed, results):
        from ..explainability.latent import LatentDirections, project_out

        # attribute score = empirical quantile of the measure (median split at 0.5)
        scores = (np.argsort(np.argsort(m, axis=0), axis=0) + 0.5) / len(m)
        common = {"threshold": cfg["threshold"], "attribute_names": list(ATTRIBUTES),
                  "random_state": seed}  # fmt: skip
        fitted = {
            "unbalanced": LatentDirections(method="svm", balanced=False, **common).fit(z, scores),
            "balanced_centroid": LatentDirections(method="centroid", **common).fit(z, scores),
            "balanced_svm": LatentDirections(method="svm", **common).fit(z, scores),
        }
        ifg = fitted["unbalanced"]
        conditional, cond_seconds = [], []
        for t in range(len(ATTRIBUTES)):
            start = time.perf_counter()
            others = [j for j in range(len(ATTRIBUTES)) if j != t]
            conditional.append(project_out(ifg.directions_[t], ifg.directions_[others]))
            # the conditional direction needs every attribute's SVM: its cost includes them all
            cond_seconds.append(time.perf_counter() - start + ifg.fit_seconds_.sum())
        directions = {
            "interfacegan": ifg.directions_,
            "interfacegan_conditional": np.stack(conditional),
            "balanced_centroid": fitted["balanced_centroid"].directions_,
            "balanced_svm": fitted["balanced_svm"].directions_,
        }
        # each direction's cost includes the filtering / balanced sampling it needs
        seconds = {
            "interfacegan": ifg.fit_seconds_ + ifg.sampling_seconds_,
            "interfacegan_conditional": np.array(cond_seconds) + ifg.sampling_seconds_,
            **{
                k: fitted[k].fit_seconds_ + fitted[k].sampling_seconds_
                for k in ("balanced_centroid", "balanced_svm")
            },
        }
        counts = fitted["balanced_centroid"].combination_counts_
        results["balanced_per_combination"] = float(counts.max())
        return directions, seconds, fitted

    @staticmethod
    def _figures(ctx, generator, directions, corr, results, rng) -> None:
        import matplotlib.pyplot as plt

        alphas = np.linspace(-3, 3, 7)
        codes = rng.standard_normal((2, generator.latent_dim))
        fig, axes = plt.subplots(len(METHODS) * 2, len(alphas), figsize=(1.2 * len(alphas), 10))
        for r, method in enumerate(METHODS):
            n = directions[method][0]  # thickness, as the seed's Fig. 13 shows one attribute
            imgs = _generate(generator, (codes[:, None, :] + alphas[None, :, None] * n).reshape(
                -1, generator.latent_dim)).reshape(2, len(alphas), *generator.image_shape[1:])  # fmt: skip
            for c in range(2):
                for k in range(len(alphas)):
                    ax = axes[2 * r + c, k]
                    ax.imshow(imgs[c, k], cmap="gray", vmin=0, vmax=1)
                    ax.set_xticks([])
                    ax.set_yticks([])
                    if 2 * r + c == len(METHODS) * 2 - 1:
                        ax.set_xlabel(f"α={alphas[k]:+.0f}")
                axes[2 * r, 0].set_ylabel(method.replace("_", "\n"), fontsize=7)
        fig.suptitle("Editing thickness: z + α n")
        save_figure(fig, ctx.out_dir / "edit_paths_thickness.png")
        plt.close(fig)

        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
        im = ax1.imshow(corr, vmin=-1, vmax=1, cmap="coolwarm")
        ax1.set_xticks(range(len(ATTRIBUTES)), ATTRIBUTES, rotation=30)
        ax1.set_yticks(range(len(ATTRIBUTES)), ATTRIBUTES)
        for i in range(len(ATTRIBUTES)):
            for j in range(len(ATTRIBUTES)):
                ax1.text(j, i, f"{corr[i, j]:.2f}", ha="center", va="center", fontsize=8)
        fig.colorbar(im, ax=ax1)
        ax1.set_title("Correlation of the measures of generated digits")
        width = 0.2
        x = np.arange(len(ATTRIBUTES))
        for k, method in enumerate(METHODS):
            ent = [results[f"{a}_{method}_entanglement"] for a in ATTRIBUTES]
            ax2.bar(x + (k - 1.5) * width, ent, width, label=method)
        ax2.set_xticks(x, ATTRIBUTES)
        ax2.set_ylabel("entanglement (mean |Δ| of other measures, SD units)")
        ax2.legend(fontsize=7)
        save_figure(fig, ctx.out_dir / "entanglement.png")
        plt.close(fig)
