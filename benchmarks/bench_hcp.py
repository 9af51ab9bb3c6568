"""Seconds per training epoch: HCP vs softmax (SM) vs PGD adversarial training (AT), same CNN,
data and batch size, same run.

Goal (issue #6): HCP <= 1.5x SM and <= 1/3 of AT. SM is ART's own ``PyTorchClassifier.fit``;
``ce_same_loop`` (cross-entropy alone in HCPTrainer's loop) isolates what the HCP terms cost.
Run: python benchmarks/bench_hcp.py [--data-root ../shared/data] (MNIST 8000 with a data root,
scikit-learn's digits without).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from ai4media_ext.data.splits import digits_split, mnist_split
from ai4media_ext.experiments.hcp import EPS, train
from ai4media_ext.robustness.hcp import HCPTrainer
from ai4media_ext.zoo import SmallCNN, art_classifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-root")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    split = mnist_split(args.data_root, 0) if args.data_root else digits_split(0)
    name, x, y, _, _ = split  # the hcp experiment's --quick data
    seconds = {}
    for method in ("sm", "hcp", "at"):
        torch.manual_seed(0)
        clf = art_classifier(SmallCNN(x.shape[1], x.shape[-1]), x.shape[1:], "cpu")
        if method != "hcp":
            seconds[method] = train(method, clf, x, y, args.epochs, EPS[name])
            continue
        # time HCP epochs only: the cross-entropy warm-up epoch is run (and not timed) first
        trainer = HCPTrainer(clf, ["conv3", "fc1"], verbose=False)
        trainer.fit(x, y, nb_epochs=1, batch_size=128)
        start = time.perf_counter()
        trainer.fit(x, y, nb_epochs=args.epochs, batch_size=128)
        seconds[method] = (time.perf_counter() - start) / args.epochs
    # the loss's own overhead: cross-entropy alone in the trainer's loop (all epochs warm-up)
    torch.manual_seed(0)
    clf = art_classifier(SmallCNN(x.shape[1], x.shape[-1]), x.shape[1:], "cpu")
    trainer = HCPTrainer(clf, ["conv3", "fc1"], warmup_epochs=args.epochs, verbose=False)
    start = time.perf_counter()
    trainer.fit(x, y, nb_epochs=args.epochs, batch_size=128)
    seconds["ce_same_loop"] = (time.perf_counter() - start) / args.epochs
    print(json.dumps({
        "dataset": name, "n_train": len(x), "epochs": args.epochs,
        **{f"{m}_seconds_per_epoch": s for m, s in seconds.items()},
        "hcp_over_sm": seconds["hcp"] / seconds["sm"], "hcp_over_at": seconds["hcp"] / seconds["at"],
        "hcp_over_ce_same_loop": seconds["hcp"] / seconds["ce_same_loop"],
        "goal": "hcp_over_sm <= 1.5 and hcp_over_at <= 0.333",
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
