"""Seconds for the whole RobustnessEvaluation battery vs ART's attacks run one by one.

Baseline: what a user writes with ART alone for the same evaluation: each attack of the battery
(FGSM, PGD, MIM at every budget of the curve and at the input range; APGD-CE; APGD-DLR targeted
at each of the top ``--targets`` wrong classes; Square; PGD transfer from a surrogate; random
noise; the input gradients) built with ART's default ``batch_size`` and the same attack
hyper-parameters (eps, step, iterations, one random start), run on all ``--n`` images, each
followed by its own prediction. RobustnessEvaluation runs the same attacks with shared work
(one clean prediction, only clean-correct samples attacked, budgets batched into one call, the
targeted cascade on the samples still robust, batch 256). Goal (issue #23): ratio <= 1.

Run: python benchmarks/bench_robustness_evaluation.py --data-root ../shared/data [--n 1000]
(CIFAR-10 test images, a SmallCNN trained --epochs epochs; scikit-learn digits without a data
root).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from ai4media_ext.data.splits import cifar10_split, digits_split
from ai4media_ext.robustness.evaluation import RobustnessEvaluation
from ai4media_ext.zoo import SmallCNN, art_classifier


def _acc(clf, x, y) -> float:
    return float((clf.predict(x).argmax(1) == y).mean())


def art_one_by_one(clf, surrogate, x, y, ev: RobustnessEvaluation) -> dict[str, float]:
    """The battery with plain ART calls (default batch sizes), one attack and budget at a time."""
    from art.attacks.evasion import (
        AutoProjectedGradientDescent,
        FastGradientMethod,
        MomentumIterativeMethod,
        ProjectedGradientDescent,
        SquareAttack,
    )

    eps, it, r = ev.eps, ev.max_iter, ev.step_ratio
    budgets, _ = ev._budgets(x)
    out = {}
    for e in budgets:
        out[f"fgsm_eps{e:g}"] = _acc(clf, FastGradientMethod(clf, eps=e).generate(x, y=y), y)
        pgd = ProjectedGradientDescent(clf, eps=e, eps_step=r * e, max_iter=it, verbose=False)
        out[f"pgd_eps{e:g}"] = _acc(clf, pgd.generate(x, y=y), y)
        mim = MomentumIterativeMethod(clf, eps=e, eps_step=r * e, max_iter=it, verbose=False)
        out[f"mim_eps{e:g}"] = _acc(clf, mim.generate(x, y=y), y)
    apgd = {"eps": eps, "eps_step": 2 * eps, "max_iter": it, "nb_random_init": 1, "verbose": False}
    ce = AutoProjectedGradientDescent(clf, loss_type="cross_entropy", **apgd)
    out["apgd_ce"] = _acc(clf, ce.generate(x, y=y), y)
    logits = clf.predict(x).astype(np.float64)
    logits[np.arange(len(x)), y] = -np.inf
    ranked = np.argsort(-logits, axis=1)
    dlr = AutoProjectedGradientDescent(
        clf, loss_type="difference_logits_ratio", targeted=True, **apgd
    )
    robust = np.ones(len(x), dtype=bool)
    for t in range(ev.targets):
        robust &= clf.predict(dlr.generate(x, y=ranked[:, t])).argmax(1) == y
    out["apgd_dlr"] = float(robust.mean())
    square = SquareAttack(clf, eps=eps, max_iter=ev.square_iter, verbose=False)
    out["square"] = _acc(clf, square.generate(x, y=y), y)
    transfer = ProjectedGradientDescent(surrogate, eps=eps, eps_step=r * eps, max_iter=it,
                                        verbose=False)  # fmt: skip
    out["transfer"] = _acc(clf, transfer.generate(x, y=y), y)
    rng = np.random.default_rng(0)
    robust = np.ones(len(x), dtype=bool)
    for _ in range(ev.noise_draws):
        noisy = np.clip(x + eps * rng.choice([-1.0, 1.0], size=x.shape), 0, 1).astype(np.float32)
        robust &= clf.predict(noisy).argmax(1) == y
    out["noise"] = float(robust.mean())
    clf.loss_gradient(x, np.eye(clf.nb_classes, dtype=np.float32)[y])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-root")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-iter", type=int, default=20)
    parser.add_argument("--square-iter", type=int, default=1000)
    parser.add_argument("--targets", type=int, default=3)
    args = parser.parse_args()
    name, x_tr, y_tr, x_te, y_te = (
        cifar10_split(args.data_root, 0) if args.data_root else digits_split(0)
    )
    eps = 0.03 if name == "cifar10" else 0.1
    x, y = x_te[: args.n], y_te[: args.n]
    nets = []
    for seed in (0, 1):  # the model and the transfer surrogate
        torch.manual_seed(seed)
        np.random.seed(seed)  # noqa: NPY002
        clf = art_classifier(SmallCNN(x.shape[1], x.shape[-1]), x.shape[1:])
        clf.fit(x_tr, y_tr, nb_epochs=args.epochs, batch_size=128, verbose=False)
        nets.append(clf)
    clf, surrogate = nets
    ev = RobustnessEvaluation(clf, eps=eps, surrogate=surrogate, max_iter=args.max_iter,
                              square_iter=args.square_iter, targets=args.targets,
                              random_state=0)  # fmt: skip
    np.random.seed(0)  # noqa: NPY002
    start = time.perf_counter()
    ev.evaluate(x, y)
    ours = time.perf_counter() - start
    np.random.seed(0)  # noqa: NPY002
    start = time.perf_counter()
    baseline = art_one_by_one(clf, surrogate, x, y, ev)
    art_s = time.perf_counter() - start
    flat = ev.to_dict()
    print(json.dumps({
        "dataset": name, "n": len(x), "clean": ev.clean_accuracy_, "eps": eps,
        "max_iter": args.max_iter, "square_iter": args.square_iter, "targets": args.targets,
        "robustness_evaluation_s": round(ours, 2), "art_one_by_one_s": round(art_s, 2),
        "ratio_ours_over_art": round(ours / art_s, 3),
        "per_attack_s": {k: round(v, 2) for k, v in ev.seconds_.items()},
        "accuracy_ours": {k: flat.get(k, flat.get(k.replace("_eps", "_eps"))) for k in baseline},
        "accuracy_art": baseline,
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
