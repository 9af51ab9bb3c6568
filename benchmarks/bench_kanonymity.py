"""Seconds per sample: K-A3 (K=5) vs ART's CarliniL2Method (defaults), same model and samples.

Goal (issue #7): K-A3 no slower than C&W. Run: python benchmarks/bench_kanonymity.py
[--data-root ../shared/data] [--n 100]  (without a data root: scikit-learn's digits)
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from art.attacks.evasion import CarliniL2Method

from ai4media_ext.data.splits import digits_split, mnist_split
from ai4media_ext.robustness.kanonymity import KAnonymityAttack
from ai4media_ext.zoo import LeNet5, SmallCNN, art_classifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-root")
    parser.add_argument("--n", type=int, default=100)
    args = parser.parse_args()
    split = mnist_split(args.data_root, 0) if args.data_root else digits_split(0)
    name, x_tr, y_tr, x_te, y_te = split  # the kanonymity experiment's --quick data
    torch.manual_seed(0)
    side = x_tr.shape[-1]
    model = LeNet5(1, side) if name == "mnist" else SmallCNN(x_tr.shape[1], side)
    clf = art_classifier(model, x_tr.shape[1:], "cpu")
    clf.fit(x_tr, y_tr, nb_epochs=5, batch_size=64, verbose=False)
    xs, ys = x_te[: args.n], y_te[: args.n]

    start = time.perf_counter()
    KAnonymityAttack(clf, k=5, max_iter=200, learning_rate=0.01, verbose=False).generate(xs, ys)
    t_ka = (time.perf_counter() - start) / len(xs)
    start = time.perf_counter()
    CarliniL2Method(clf, verbose=False).generate(xs)
    t_cw = (time.perf_counter() - start) / len(xs)
    print(json.dumps({
        "dataset": name, "n": len(xs),
        "ka5_seconds_per_sample": t_ka, "cw_l2_seconds_per_sample": t_cw,
        "ka5_time_ratio_vs_cw": t_ka / t_cw, "goal": "ratio <= 1",
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
