"""Seconds to learn the universal perturbation: MetaAttack vs UAP-retrieval (and the merged
baseline), same source model, source set, batch size and number of epochs, same run.

A MetaAttack step costs two forward/backward passes (meta-train on a source batch, meta-test on a
virtual batch at the virtually stepped delta) against one for UAP-retrieval, so the expected ratio
is about 2 (+ the second k-means). Goal: ratio <= 2.5, i.e. no overhead beyond the second pass.
Run: OMP_NUM_THREADS=1 python benchmarks/bench_metaattack.py --data-root ../shared/data
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from ai4media_ext.data import load_mnist_test
from ai4media_ext.data.digit_domains import font_digits, gray_to_rgb
from ai4media_ext.robustness.metaattack import (
    MergedUAPRetrieval,
    MetaAttack,
    PyTorchRetrievalEstimator,
    UAPRetrieval,
)
from ai4media_ext.zoo.reid import IDENet, PCBNet, train_reid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-root")
    parser.add_argument("--backbone", choices=("ide", "pcb"), default="ide")
    parser.add_argument("--n-source", type=int, default=1000)
    parser.add_argument("--max-iter", type=int, default=3, help="epochs over the source set")
    args = parser.parse_args()
    torch.manual_seed(0)
    xm, ym = load_mnist_test(args.data_root)
    x = gray_to_rgb(xm[: args.n_source])
    model = IDENet() if args.backbone == "ide" else PCBNet()
    train_reid(model, x, ym[: args.n_source], epochs=1, learning_rate=3e-3)
    est = PyTorchRetrievalEstimator(model, (3, 28, 28), clip_values=(0.0, 1.0), device_type="cpu")
    x_virtual, _, _ = font_digits(args.n_source, random_state=0)
    seconds = {}
    for name, cls in (
        ("uap", UAPRetrieval),
        ("merged", MergedUAPRetrieval),
        ("metaattack", MetaAttack),
    ):
        atk = cls(est, n_clusters=50, max_iter=args.max_iter, batch_size=50, random_state=0,
                  verbose=False)  # fmt: skip
        start = time.perf_counter()
        atk.fit(x, None if name == "uap" else x_virtual)
        seconds[name] = time.perf_counter() - start
    print(json.dumps({
        "backbone": args.backbone, "n_source": args.n_source, "epochs": args.max_iter,
        "batch_size": 50, "torch_threads": torch.get_num_threads(),
        **{f"{k}_learn_seconds": v for k, v in seconds.items()},
        "metaattack_time_ratio_vs_uap": seconds["metaattack"] / seconds["uap"],
        "merged_time_ratio_vs_uap": seconds["merged"] / seconds["uap"],
        "goal": "metaattack ratio <= 2.5",
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
