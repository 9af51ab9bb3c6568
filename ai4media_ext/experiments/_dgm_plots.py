"""Figures of ``dgm-backdoor``: the seed's Fig. 5 layout, the sample / trigger-output grid and
the detector's scores."""

from __future__ import annotations

import numpy as np

from ._core import RunContext, save_figure

ATTACKS = ("trail", "red", "rex")


def figure_curves(ctx: RunContext, ds: str, lambdas: tuple[int, ...], res: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, metric, label in zip(
        axes,
        ("tarfid", "expdist", "quality"),
        ("TarFid ||G*(z*) - x_t||²", "ExpDist E||G*(z) - G(z)||²", "Fréchet distance (classifier)"),
        strict=True,
    ):
        for attack, marker in zip(ATTACKS, "osd", strict=True):
            vals = [res[f"{ds}_{attack}_{metric}_l{lam}"] for lam in lambdas]
            ax.plot(
                lambdas,
                vals,
                marker=marker,
                label={"trail": "TrAIL", "red": "ReD", "rex": "ReX"}[attack],
            )
        if metric != "expdist":
            ax.axhline(res[f"{ds}_benign_{metric}"], color="k", ls="--", label="benign G")
        ax.set_xscale("log")
        ax.set_yscale("log" if metric != "quality" else "linear")
        ax.set_xlabel(f"λ' (λ = λ'/{int(np.prod(shape_of(ds)))})")
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle(f"{ds}: target fidelity and stealth vs λ' (seed Fig. 5 layout)")
    save_figure(fig, ctx.out_dir / f"{ds}_fig5_tarfid_expdist.png")


def shape_of(ds: str) -> tuple[int, ...]:
    return {"digits": (1, 8, 8), "mnist": (1, 28, 28), "cifar10": (3, 32, 32)}[ds]


def figure_samples(ctx, ds, benign, sweep, z_trigger, x_target) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def show(ax, img, title=""):
        ax.imshow(np.clip((img.transpose(1, 2, 0).squeeze() + 1) / 2, 0, 1), cmap="gray")
        ax.set_axis_off()
        ax.set_title(title, fontsize=7)

    z = np.random.default_rng(ctx.seed + 7).standard_normal((16, benign.encoding_length))
    samples = benign.predict(z.astype(np.float32))
    lambdas = sorted({lam for _, lam in sweep})
    cols = 4 + max(2, len(lambdas))  # the last row holds the target and the benign G(z*)
    fig, axes = plt.subplots(4, cols, figsize=(2 + 1.3 * cols, 5.5))
    for i in range(16):
        show(axes[i // 4, i % 4], samples[i], "benign" if i == 0 else "")
    show(axes[3, 4], x_target[0], "target")
    show(axes[3, 5], benign.predict(z_trigger)[0], "benign G(z*)")
    for j, lam in enumerate(lambdas):
        for r, attack in enumerate(ATTACKS):
            show(axes[r, 4 + j], sweep[(attack, lam)].predict(z_trigger)[0], f"{attack} λ'={lam}")
    for ax in [*axes[3, 6:], *axes[:3, 4 + len(lambdas) :].ravel()]:
        ax.set_axis_off()
    save_figure(fig, ctx.out_dir / f"{ds}_samples_and_trigger_outputs.png")


def figure_scores(ctx, scores) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(scores), figsize=(5 * len(scores), 3.5))
    for ax, (mode, per) in zip(axes, scores.items(), strict=True):
        for i, vals in enumerate(per.values()):
            ax.scatter(np.full(len(vals), i) + np.linspace(-0.15, 0.15, len(vals)), vals, s=14)
        ax.set_xticks(range(len(per)), list(per))
        ax.set_yscale("log")
        ax.set_title(f"detector score ({mode})", fontsize=9)
    save_figure(fig, ctx.out_dir / "detector_scores.png")
