"""Inversion-attack trade-off in federated learning (issue 21 item 4): Geiping et al.'s gradient
inversion run by each party that sees an update, under each protection, next to the accuracy a
short FedAvg training keeps under that protection (seed §5.4's planned privacy-utility study)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ._core import Experiment, RunContext, save_figure
from ._fl_views import VIEWS, he_roundtrip, local_update, protect

QUICK = {
    "n_clients": 5, "n_train": 2000, "rounds": 5, "local_epochs": 3, "batch_size": 32,
    "local_lr": 0.05, "momentum": 0.9, "clip": 1.0, "delta": 1e-5, "epsilons": (10.0, 1000.0),
    "attack_images": 1, "attack_steps": 2, "max_iter": 300, "restarts": 2, "tv_weight": 1e-4,
}  # fmt: skip
FULL = {
    **QUICK, "n_clients": 10, "n_train": 8000, "rounds": 10,
    "epsilons": (1.0, 10.0, 100.0, 1000.0), "max_iter": 2000, "restarts": 4,
}  # fmt: skip


def protections(epsilons: tuple[float, ...]) -> list[tuple[str, str, float | None]]:
    """``(key, protection, epsilon)`` in the order of the figures."""
    out: list[tuple[str, str, float | None]] = [("none", "none", None)]
    out += [(f"local_dp_eps{e:g}", "local_dp", e) for e in epsilons]
    out += [(f"ddp_eps{e:g}", "ddp", e) for e in epsilons]
    out += [
        ("secaggplus", "secaggplus", None),
        ("he_colluding_client", "he_colluding_client", None),
    ]
    return out


def _attack_targets(split: Any, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` (<= 10) training images with distinct labels, client by client (the favourable case
    for label inference, so the attack is not handicapped by repeated labels)."""
    if n > 10:
        raise ValueError(f"n_clients x attack_images = {n} > 10 distinct digit labels")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(10)[:n]
    idx = [int(rng.choice(np.flatnonzero(split.y_train == c))) for c in labels]
    return split.x_train[idx], split.y_train[idx]


class FLInversionExperiment(Experiment):
    """Reconstruction PSNR / SSIM and FedAvg accuracy per protection (``<key>_psnr``,
    ``<key>_ssim``, ``<key>_acc``).

    Protections (keys): ``none`` (the server sees each client's update), ``local_dp_eps<e>``
    (each client clips its update to L2 norm C and adds Gaussian noise through ``DPMod`` at
    (e, delta) per round; the server attacks one update), ``ddp_eps<e>`` (distributed DP: each
    client clips to C and adds a share of std sigma / sqrt(n), the server sees the sum, which
    carries the central noise sigma of (e, delta) per round; it attacks the sum),
    ``secaggplus`` (the server sees the exact sum of the n updates: SecAgg+'s guarantee,
    modelled, not run), ``he_colluding_client`` (single-key CKKS: a client holding the key
    decrypts the target's ciphertext, real TenSEAL round trip; the attack sees the individual
    update). Epsilons are per round (basic composition over ``rounds`` rounds).

    The attacked round is the first, from the initial model: each of the n clients holds
    ``attack_images`` images with distinct labels and sends the weight difference after
    ``attack_steps`` full-batch SGD steps; the attacker knows n, the image count and the local
    steps (Geiping et al.'s threat model) and infers the labels. ``_acc`` is the test accuracy
    after ``rounds`` rounds of FedAvg over IID partitions of ``n_train`` images; for
    ``secaggplus`` and ``he_colluding_client`` the aggregate is exact (CKKS error ~1e-8,
    measured in ``secure-fl``), so their accuracy is plaintext FedAvg's. Also reported:
    ``<key>_label_acc`` (inferred labels), ``random_psnr`` / ``random_ssim`` (uniform noise
    images against the same originals, the floor) and ``<key>_attack_s``.
    """

    name = "fl-inversion"
    title = "Gradient inversion vs protection in federated learning: the privacy-utility curve"
    reference = (
        "AI4Media D4.1 §5.4 (planned trade-off study); Geiping et al., NeurIPS 2020, "
        "'Inverting Gradients', eq. 4; issue 21 item 4"
    )

    def run(self, ctx: RunContext) -> dict[str, float]:
        import torch

        from ..data.splits import digits_split, mnist_split
        from ..zoo import SmallCNN

        cfg = QUICK if ctx.quick else FULL
        if ctx.data_root is None:
            split = digits_split(ctx.seed)
        else:
            split = mnist_split(ctx.data_root, ctx.seed, n_train=cfg["n_train"])
        side = split.x_train.shape[-1]
        torch.manual_seed(ctx.seed)
        model = SmallCNN(1, side)
        start = torch.nn.utils.parameters_to_vector(model.parameters()).detach().numpy()
        start = start.astype(np.float64)
        results: dict[str, float] = {}
        images = self._attacks(ctx, cfg, split, model, start, results)
        self._utility(ctx, cfg, split, model, start, results)
        self._figures(ctx, cfg, images, results, split.name)
        return results

    def _attacks(
        self, ctx: RunContext, cfg: dict, split: Any, model: Any, start: np.ndarray, results: dict
    ) -> dict[str, np.ndarray]:
        import torch

        from ..privacy.attacks import GradientInversionAttack, match_reconstructions
        from ..privacy.federated import make_context
        from ..zoo import art_classifier

        n, b = cfg["n_clients"], cfg["attack_images"]
        x_t, y_t = _attack_targets(split, n * b, ctx.seed)
        updates = [
            local_update(model, start, x_t[c * b : (c + 1) * b], y_t[c * b : (c + 1) * b], cfg,
                         ctx.seed + c, full_batch_steps=cfg["attack_steps"])
            for c in range(n)
        ]  # fmt: skip
        torch.nn.utils.vector_to_parameters(
            torch.tensor(start, dtype=torch.float32), model.parameters()
        )
        clf = art_classifier(model, tuple(x_t.shape[1:]))
        rng = np.random.default_rng(ctx.seed)
        he_ctx = make_context()
        floor = match_reconstructions(x_t, rng.random(x_t.shape))
        results["random_psnr"], results["random_ssim"] = (
            float(floor.psnr.mean()),
            float(floor.ssim.mean()),
        )
        images: dict[str, np.ndarray] = {"originals": x_t}
        for key, prot, eps in protections(cfg["epsilons"]):
            if prot in ("ddp", "secaggplus"):
                view, k, target = (
                    np.sum(protect(prot, eps, updates, model, start, cfg, rng), 0),
                    n,
                    slice(None),
                )
            elif prot == "he_colluding_client":
                view, k, target = he_roundtrip(updates[0], he_ctx), 1, slice(0, b)
            else:
                view, k, target = (
                    protect(prot, eps, updates[:1], model, start, cfg, rng)[0],
                    1,
                    slice(0, b),
                )
            attack = GradientInversionAttack(
                clf, num_images=b, num_updates=k, update_kind="weight_difference",
                local_steps=cfg["attack_steps"], local_lr=cfg["local_lr"], max_iter=cfg["max_iter"],
                tv_weight=cfg["tv_weight"], num_restarts=cfg["restarts"], random_state=ctx.seed,
                verbose=False,
            )  # fmt: skip
            t0 = time.perf_counter()
            x_rec, y_rec = attack.reconstruct(view.astype(np.float32))
            results[f"{key}_attack_s"] = time.perf_counter() - t0
            m = match_reconstructions(x_t[target], x_rec)
            results[f"{key}_psnr"], results[f"{key}_ssim"] = (
                float(m.psnr.mean()),
                float(m.ssim.mean()),
            )
            results[f"{key}_label_acc"] = float(np.mean(y_rec[m.order] == y_t[target]))
            images[key] = x_rec[m.order]
        return images

    def _utility(
        self, ctx: RunContext, cfg: dict, split: Any, model: Any, start: np.ndarray, results: dict
    ) -> None:
        import torch

        n = cfg["n_clients"]
        parts = np.array_split(np.arange(len(split.y_train)), n)
        x_te, y_te = torch.from_numpy(split.x_test), torch.from_numpy(split.y_test)
        runs: dict[str, float] = {}
        for key, prot, eps in protections(cfg["epsilons"]):
            if prot in ("secaggplus", "he_colluding_client"):
                results[f"{key}_acc"] = runs["none"]  # exact aggregation: plaintext FedAvg
                continue
            rng = np.random.default_rng(ctx.seed + 1)
            weights = start.copy()
            for r in range(cfg["rounds"]):
                ups = [
                    local_update(model, weights, split.x_train[p], split.y_train[p], cfg,
                                 ctx.seed + 1000 * r + c)
                    for c, p in enumerate(parts)
                ]  # fmt: skip
                weights = weights + np.mean(
                    protect(prot, eps, ups, model, weights, cfg, rng), axis=0
                )
            torch.nn.utils.vector_to_parameters(
                torch.tensor(weights, dtype=torch.float32), model.parameters()
            )
            with torch.no_grad():
                model.eval()
                acc = float((model(x_te).argmax(1) == y_te).float().mean())
            runs[key] = results[f"{key}_acc"] = acc

    def _figures(
        self, ctx: RunContext, cfg: dict, images: dict, results: dict, dataset: str
    ) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rows = list(images)
        n_cols = len(images["originals"])
        fig, axes = plt.subplots(
            len(rows), n_cols, figsize=(1.1 * n_cols + 1.5, 1.1 * len(rows)), squeeze=False
        )
        for i, key in enumerate(rows):
            for j in range(n_cols):
                ax = axes[i, j]
                ax.set_xticks([]), ax.set_yticks([])
                if j < len(images[key]):
                    ax.imshow(images[key][j, 0], cmap="gray", vmin=0, vmax=1)
                else:
                    ax.axis("off")
            label = key if key == "originals" else f"{key}\n{results[key + '_psnr']:.1f} dB"
            axes[i, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=7)
        fig.suptitle(f"{dataset}: originals vs reconstructions (PSNR) per protection", fontsize=9)
        views = "\n".join(f"{k}: {who} sees {what}" for k, (who, what) in VIEWS.items())
        fig.text(0.01, -0.02, views, fontsize=6, va="top")
        save_figure(fig, ctx.out_dir / "reconstructions.png")

        eps = np.array(cfg["epsilons"])
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
        for prot, style in (("local_dp", "o-"), ("ddp", "s-")):
            ax1.semilogx(eps, [results[f"{prot}_eps{e:g}_psnr"] for e in eps], style, label=prot)
            ax2.semilogx(eps, [results[f"{prot}_eps{e:g}_acc"] for e in eps], style, label=prot)
        for key, ls in (("none", "--"), ("secaggplus", ":")):
            ax1.axhline(results[f"{key}_psnr"], ls=ls, c="k", label=key)
            ax2.axhline(results[f"{key}_acc"], ls=ls, c="k", label=f"{key} (= plaintext FedAvg)")
        ax1.axhline(results["random_psnr"], ls="-.", c="grey", label="random images")
        ax1.set(xlabel="epsilon per round", ylabel="reconstruction PSNR (dB)", ylim=(0, None))
        ax2.set(xlabel="epsilon per round", ylabel="test accuracy", ylim=(0, 1))
        ax1.legend(fontsize=7), ax2.legend(fontsize=7)
        fig.suptitle(
            f"{dataset}: inversion PSNR and FedAvg accuracy vs epsilon per round "
            f"(delta = {cfg['delta']:g}, clipping norm {cfg['clip']:g})",
            fontsize=9,
        )
        save_figure(fig, ctx.out_dir / "psnr_vs_epsilon.png")
