"""Seconds per step: GradientInversionAttack (all restarts in one torch.func pass) vs a plain
loop over restarts with autograd double backward (the structure of Geiping et al.'s reference
``inversefed`` code: one dummy batch at a time, ``torch.autograd.grad(create_graph=True)``), same
model, update, restarts and step count.

Goal: ratio < 1 (faster than one restart at a time). Run:
python benchmarks/bench_gradient_inversion.py [--data-root ../shared/data] [--restarts 8]
[--steps 50]  (without a data root: scikit-learn's digits)
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from ai4media_ext.data.splits import digits_split, mnist_split
from ai4media_ext.privacy.attacks import GradientInversionAttack
from ai4media_ext.zoo import SmallCNN, art_classifier


def _loop_baseline(model, observed, label, shape, restarts: int, steps: int, tv: float) -> None:
    """One restart after another, cosine + TV, signed Adam, boxed."""
    params = list(model.parameters())
    obs_norm = torch.sqrt(sum((o * o).sum() for o in observed))
    for r in range(restarts):
        x = torch.randn(shape, generator=torch.Generator().manual_seed(r)).requires_grad_(True)
        opt = torch.optim.Adam([x], lr=0.1)
        for _ in range(steps):
            loss = torch.nn.functional.cross_entropy(model(x), label)
            grads = torch.autograd.grad(loss, params, create_graph=True)
            dot = sum((g * o).sum() for g, o in zip(grads, observed, strict=True))
            norm = torch.sqrt(sum((g * g).sum() for g in grads))
            tv_x = (x[..., :, 1:] - x[..., :, :-1]).abs().mean() + (
                x[..., 1:, :] - x[..., :-1, :]
            ).abs().mean()
            obj = 1 - dot / (norm * obs_norm) + tv * tv_x
            opt.zero_grad()
            (gx,) = torch.autograd.grad(obj, x)
            x.grad = gx.sign()
            opt.step()
            with torch.no_grad():
                x.clamp_(0, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-root")
    parser.add_argument("--restarts", type=int, default=8)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    split = mnist_split(args.data_root, 0) if args.data_root else digits_split(0)
    torch.manual_seed(0)
    side = split.x_train.shape[-1]
    model = SmallCNN(1, side)
    clf = art_classifier(model, (1, side, side))
    x, y = torch.from_numpy(split.x_train[:1]), torch.from_numpy(split.y_train[:1])
    observed = torch.autograd.grad(
        torch.nn.functional.cross_entropy(model(x), y), list(model.parameters())
    )
    flat = torch.cat([g.ravel() for g in observed]).numpy()

    attack = GradientInversionAttack(
        clf, max_iter=args.steps, num_restarts=args.restarts, random_state=0, verbose=False
    )
    start = time.perf_counter()
    attack.reconstruct(flat, split.y_train[:1])
    t_ours = (time.perf_counter() - start) / args.steps
    start = time.perf_counter()
    _loop_baseline(model, observed, y, tuple(x.shape), args.restarts, args.steps, 1e-4)
    t_loop = (time.perf_counter() - start) / args.steps
    print(json.dumps({
        "dataset": split.name, "restarts": args.restarts, "steps": args.steps,
        "vectorised_seconds_per_step": t_ours, "restart_loop_seconds_per_step": t_loop,
        "time_ratio_vs_restart_loop": t_ours / t_loop, "goal": "ratio < 1",
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
