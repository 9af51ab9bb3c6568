"""Figures of the ``objectgraphs`` experiment (seed Figs. 11-12 analogues and a summary)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._core import save_figure


def _event_name(keys: np.ndarray, names: tuple[str, ...]) -> str:
    return "+".join(names[int(c)] for c in keys)


def plot_explanation(
    path: Path,
    videos: Any,
    feats: dict[str, np.ndarray],
    images: np.ndarray,
    wid: Any,
    v: int,
    names: tuple[str, ...],
    pred: int,
    num_events: int,
) -> None:
    """One frame of video ``v`` (the one with most key objects) with its top-3 / bottom-3 WiD
    objects boxed green / red, beside bar plots of DoC and WiD per object (DoC order)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    q = int(feats["is_key"][v].sum(axis=1).argmax())
    is_key = feats["is_key"][v, q]
    frame = videos.render(images, slice(v, v + 1))[0, q].transpose(1, 2, 0)
    boxes, doc, label = feats["boxes"][v, q], feats["doc"][v, q], feats["label"][v, q]
    w = np.asarray(wid[v, q], dtype=float)
    order = np.argsort(-w, kind="stable")
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2), gridspec_kw={"width_ratios": [1.1, 1, 1]})
    axes[0].imshow(frame.squeeze(-1) if frame.shape[-1] == 1 else frame, cmap="gray")
    for idx, colour in ((order[:3], "lime"), (order[-3:], "red")):
        for i in idx:
            x0, y0, x1, y1 = boxes[i]
            axes[0].add_patch(
                Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, lw=2.5, ec=colour)
            )
    axes[0].set_axis_off()
    true_event = _event_name(videos.event_keys[videos.event[v]], names)
    pred_event = _event_name(videos.event_keys[pred], names)
    axes[0].set_title(f"event {true_event}, predicted {pred_event}\nframe {q}", fontsize=9)
    true = feats["object_class"][v, q]
    ticks = [
        f"{names[int(c)]} [{names[int(t)]}*]" if k else names[int(c)]
        for c, t, k in zip(label, true, is_key, strict=True)
    ]
    colours = ["tab:orange" if k else "tab:gray" for k in is_key]
    for ax, values, title in ((axes[1], doc, "DoC (detector confidence)"), (axes[2], w, "WiD")):
        ax.bar(np.arange(len(values)), values, color=colours)
        ax.set_xticks(np.arange(len(values)), ticks, rotation=60, fontsize=8)
        ax.set_title(f"{title}; orange = key object [true class*]", fontsize=9)
    fig.suptitle(
        "ObjectGraphs WiD explanation: top-3 objects green, bottom-3 red; bars in DoC order, "
        "labelled with the detected class",
        fontsize=10,
    )
    save_figure(fig, path)


def plot_summary(path: Path, res: dict[str, Any], methods: tuple, fidelity_n: tuple) -> None:
    """Precision@3 per method and fidelity (accuracy keeping / dropping top-n objects)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    xs = np.arange(len(methods))
    axes[0].bar(xs, [res[f"{m}_precision_at_3"] for m in methods], color="tab:blue")
    axes[0].axhline(res["chance_precision_at_3"], color="k", ls="--", lw=1, label="key share")
    axes[0].set_xticks(xs, methods, rotation=20)
    axes[0].set_ylabel("precision@3 (key objects)")
    axes[0].legend()
    width = 0.8 / (2 * len(fidelity_n))
    col = 0
    for kind in ("keep", "drop"):
        for n in fidelity_n:
            vals = [res[f"{m}_fidelity_{kind}_{n}"] for m in methods]
            axes[1].bar(
                xs + (col - len(fidelity_n) + 0.5) * width, vals, width, label=f"{kind} {n}"
            )
            col += 1
    axes[1].axhline(res["objectgraphs_accuracy"], color="k", ls="--", lw=1, label="all objects")
    axes[1].set_xticks(xs, methods, rotation=20)
    axes[1].set_ylabel("event accuracy")
    axes[1].legend(fontsize=8, ncol=2)
    fig.suptitle(
        f"ObjectGraphs {res['objectgraphs_accuracy']:.3f} vs no-graph baseline "
        f"{res['baseline_accuracy']:.3f} accuracy; explanation quality on the test videos"
    )
    save_figure(fig, path)
