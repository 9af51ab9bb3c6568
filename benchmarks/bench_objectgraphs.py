"""Explanation seconds per video: WiD vs captum IntegratedGradients (and Saliency), same process.

WiD (seed eq. (10)) needs only the learned adjacency of the input (two linear maps and a batched
matrix product); IntegratedGradients needs ``n_steps`` forward and backward passes through the
graph layers and the LSTM. Timing does not depend on the weights, so the models are freshly
initialised. Two settings: the experiment's (F = 128 CNN features, Q = K = 8) and the paper's
object count and feature width (F = 2048, Q = 9, K = 50; hidden width ``--paper-hidden``).
Goal: WiD >= 20x faster than IntegratedGradients.

Run: python benchmarks/bench_objectgraphs.py [--videos 64] [--steps 50] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from captum.attr import IntegratedGradients, Saliency

from ai4media_ext.explainability.objectgraphs import ObjectGraphs, WeightedInDegree


def per_video(fn, n_videos: int, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) / n_videos


def bench(name: str, f: int, q: int, k: int, hidden: int, n: int, steps: int) -> dict:
    torch.manual_seed(0)
    model = ObjectGraphs(f, 10, hidden_channels=hidden).eval()
    x, xf = torch.randn(n, q, k, f), torch.randn(n, q, f)
    with torch.no_grad():
        target = model(x, xf).argmax(1)
    wid, ig, sal = WeightedInDegree(model), IntegratedGradients(model), Saliency(model)
    t_wid = per_video(lambda: wid.attribute_objects(x, (xf,)), n)
    t_ig = per_video(
        lambda: ig.attribute(
            x, target=target, additional_forward_args=(xf,), n_steps=steps, internal_batch_size=256
        ),
        n,
        repeats=1,
    )
    t_sal = per_video(lambda: sal.attribute(x, target=target, additional_forward_args=(xf,)), n)
    return {
        f"{name}_wid_seconds_per_video": t_wid,
        f"{name}_integrated_gradients_seconds_per_video": t_ig,
        f"{name}_saliency_seconds_per_video": t_sal,
        f"{name}_speedup_vs_integrated_gradients": t_ig / t_wid,
        f"{name}_speedup_vs_saliency": t_sal / t_wid,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos", type=int, default=64)
    parser.add_argument("--paper-videos", type=int, default=8)
    parser.add_argument("--paper-hidden", type=int, default=512)
    parser.add_argument("--steps", type=int, default=50, help="IntegratedGradients n_steps")
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()
    res = bench("experiment", 128, 8, 8, 128, args.videos, args.steps)
    res.update(bench("paper", 2048, 9, 50, args.paper_hidden, args.paper_videos, args.steps))
    res["torch_threads"] = torch.get_num_threads()
    for key, value in res.items():
        print(f"{key:50s} {value:.6g}")
    goal = res["experiment_speedup_vs_integrated_gradients"] >= 20
    print(f"goal WiD >= 20x faster than IntegratedGradients: {'met' if goal else 'NOT met'}")
    if args.json:
        from ai4media_ext._io import write_text_atomic

        write_text_atomic(args.json, json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
