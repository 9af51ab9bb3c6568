"""LPGNN training cost on Facebook (22,470 nodes) vs a plain GraphSAGE of the same size.

Each variant runs in its own subprocess so that peak memory (max RSS) is measured cleanly:
``lpgnn`` (eps_x = eps_y = 1, GraphSAGE backbone, K_x = 2, K_y = 4: multi-bit features, k-RR
labels, KProp, Drop loss) and ``plain`` (the same 2-layer GraphSAGE, raw features, clean
labels, cross-entropy). Reports seconds per training epoch (train step + the validation
forward the trainer runs each epoch), the one-off preprocessing seconds, and the ratios.

Run: python benchmarks/bench_lpgnn.py --data-root ../shared/data [--epochs 20]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def run_variant(variant: str, data_root: str, epochs: int) -> dict[str, float]:
    import torch
    import torch_geometric.transforms as T

    from ai4media_ext.data import load_facebook
    from ai4media_ext.privacy.lpgnn import (
        LPGNN,
        FeaturePerturbation,
        LabelPerturbation,
        LPGNNTrainer,
    )

    torch.manual_seed(0)
    graph = load_facebook(data_root)
    start = time.perf_counter()
    data = T.RandomNodeSplit(split="train_rest", num_val=0.25, num_test=0.25)(graph)
    if variant == "lpgnn":
        data = FeaturePerturbation(1.0, random_state=0)(data)
        data = LabelPerturbation(1.0, random_state=1)(data)
        model = LPGNN(data.num_features, 4, backbone="sage", x_steps=2, y_steps=4)
    else:
        model = LPGNN(data.num_features, 4, backbone="sage", forward_correction=False)
    trainer = LPGNNTrainer(epochs=1)
    trainer.fit(model, data)  # first epoch: includes the one-off propagations
    preprocessing = time.perf_counter() - start
    trainer = LPGNNTrainer(epochs=epochs)
    start = time.perf_counter()
    trainer.fit(model, data)
    per_epoch = (time.perf_counter() - start) / epochs
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"epoch_s": per_epoch, "preprocessing_s": preprocessing, "peak_rss_mb": peak_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--variant", choices=("lpgnn", "plain"))
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.data_root, args.epochs)))
        return
    out = {}
    for variant in ("plain", "lpgnn"):
        proc = subprocess.run(
            [sys.executable, __file__, "--data-root", args.data_root,
             "--epochs", str(args.epochs), "--variant", variant],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        out[variant] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["epoch_time_ratio_lpgnn_vs_plain"] = out["lpgnn"]["epoch_s"] / out["plain"]["epoch_s"]
    out["peak_memory_ratio_lpgnn_vs_plain"] = (
        out["lpgnn"]["peak_rss_mb"] / out["plain"]["peak_rss_mb"]
    )
    out["note"] = f"same process tree, same machine; epochs={args.epochs}"
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
