"""LPGNN training cost on Facebook (22,470 nodes x 4,714 features) and its scaling curve.

Facebook, eps_x = eps_y = 1, GraphSAGE backbone with the tuned K_x = 2, K_y = 4 (hparams), three
variants, each in its own subprocess (same interpreter, same thread count) so that peak memory
(max RSS) is clean:

- ``sparse``: ``FeaturePerturbation(sparse=True)`` (the multi-bit output as a CSR matrix plus a
  column offset) and ``LPGNN`` project-then-propagate (the new path);
- ``dense``: the dense rectified matrix and ``LPGNN(project_first=False)`` (the old path: KProp
  of the wide matrix cached, PyG's convolutions on it);
- ``plain``: a two-layer ``SAGEConv`` network on the raw features, clean labels, cross-entropy
  (no privacy), aggregating through the CSR adjacency as PyG recommends for wide features.

Each reports seconds per epoch (training step + the validation forward), the one-off
preprocessing seconds, peak RSS and the test accuracy after ``--epochs`` epochs from the same
seed (``sparse`` and ``dense`` compute the same model, so they agree). Goals (issue #22):
``dense / sparse`` epoch time >= 10 and ``sparse / plain`` peak memory <= 1.2; the memory
guard exits with status 1 when the latter is broken.

``--scaling`` adds the curve: epoch time and peak RSS of the sparse path on stochastic block
model graphs (4 blocks, mean degree 10, sparse binary features: 10 of 1,000 per node) of 10^4
to 10^6 nodes, as keys ``scaling_<n>_epoch_s`` / ``scaling_<n>_peak_rss_mb`` and a figure.

``--gat`` instead times the GAT backbone (eps_x = eps_y = 1, K_x = 2, K_y = 4, sparse path) in
one process with its attention computed by ``AttentionPattern`` (segment softmax over CSR-sorted
edges and one sparse product, the new path) and by PyG's ``GATConv.edge_updater`` +
``propagate`` (per-edge messages, the former path): keys ``gat_csr_epoch_s``, ``gat_pyg_epoch_s``,
their ratio and both test accuracies (the same model up to float summation order and the
attention-dropout draw).

Run: OMP_NUM_THREADS=1 python benchmarks/bench_lpgnn.py --data-root ../shared/data \
        [--epochs 20] [--scaling | --gat] [--out /tmp/bench_lpgnn]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings

SCALING_SIZES = (10_000, 30_000, 100_000, 300_000, 1_000_000)
MEMORY_GOAL = 1.2
SPEED_GOAL = 10.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _plain(data, epochs: int) -> dict[str, float]:
    import torch
    import torch.nn.functional as F
    from torch_geometric.nn import SAGEConv
    from torch_geometric.utils import to_torch_csr_tensor

    start = time.perf_counter()
    adj_t = to_torch_csr_tensor(data.edge_index.flip(0), size=(data.num_nodes, data.num_nodes))
    conv1, conv2 = SAGEConv(data.num_features, 16), SAGEConv(16, 4)
    params = list(conv1.parameters()) + list(conv2.parameters())
    opt = torch.optim.Adam(params, lr=0.01)

    def forward(train: bool):
        h = F.dropout(F.selu(conv1(data.x, adj_t)), 0.5, training=train)
        return conv2(h, adj_t)

    prep = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(epochs):
        opt.zero_grad()
        out = forward(True)
        F.cross_entropy(out[data.train_mask], data.y[data.train_mask]).backward()
        opt.step()
        with torch.no_grad():
            out = forward(False)
    epoch = (time.perf_counter() - start) / epochs
    acc = (out.argmax(-1)[data.test_mask] == data.y[data.test_mask]).float().mean().item()
    return {"epoch_s": epoch, "preprocessing_s": prep, "test_acc": acc}


def _lpgnn(data, epochs: int, sparse: bool) -> dict[str, float]:
    from ai4media_ext.privacy.lpgnn import (
        LPGNN,
        FeaturePerturbation,
        LabelPerturbation,
        LPGNNTrainer,
    )

    start = time.perf_counter()
    if sparse:
        data.x = data.x.to_sparse_csr()
    data = FeaturePerturbation(1.0, random_state=0, sparse=sparse)(data)
    data = LabelPerturbation(1.0, random_state=1)(data)
    model = LPGNN(data.num_features, 4, backbone="sage", x_steps=2, y_steps=4,
                  project_first=sparse, random_state=0)  # fmt: skip
    prep = time.perf_counter() - start
    trainer = LPGNNTrainer(epochs=1)
    start = time.perf_counter()
    trainer.fit(model, data)  # the one-off propagations / graph operators
    prep += time.perf_counter() - start
    model = LPGNN(data.num_features, 4, backbone="sage", x_steps=2, y_steps=4,
                  project_first=sparse, random_state=0)  # fmt: skip
    trainer = LPGNNTrainer(epochs=epochs)
    start = time.perf_counter()
    trainer.fit(model, data)
    epoch = (time.perf_counter() - start) / epochs
    return {"epoch_s": epoch, "preprocessing_s": prep, "test_acc": trainer.evaluate(model, data)}


def run_variant(variant: str, data_root: str, epochs: int) -> dict[str, float]:
    import torch
    import torch_geometric.transforms as T

    from ai4media_ext.data import load_facebook

    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    data = T.RandomNodeSplit(split="train_rest", num_val=0.25, num_test=0.25)(
        load_facebook(data_root)
    )
    out = _plain(data, epochs) if variant == "plain" else _lpgnn(data, epochs, variant == "sparse")
    out["peak_rss_mb"] = _peak_mb()
    return out


def run_gat(data_root: str, epochs: int) -> dict[str, float]:
    """GAT epoch time: CSR attention (segment softmax + one sparse product) vs PyG's
    ``GATConv.edge_updater`` + ``propagate`` on the same projected inputs, same process."""
    import torch
    import torch_geometric.transforms as T

    from ai4media_ext.data import load_facebook
    from ai4media_ext.privacy.lpgnn import (
        LPGNN,
        FeaturePerturbation,
        LabelPerturbation,
        LPGNNTrainer,
        _ops,
        _stack,
    )

    def pyg_attend(convs, xs, ops):  # the former path: PyG's per-edge messages
        conv, r = convs[0], len(convs)
        att_src = torch.cat([c.att_src for c in convs], dim=1)
        att_dst = torch.cat([c.att_dst for c in convs], dim=1)
        ei = ops.gat_edge_index(conv)
        alpha = conv.edge_updater(
            ei, alpha=((xs * att_src).sum(-1), (xs * att_dst).sum(-1)), edge_attr=None, size=None
        )
        out = conv.propagate(ei, x=(xs, xs), alpha=alpha, size=None)
        n = out.size(0)
        out = out.reshape(n, -1) if conv.concat else out.view(n, r, conv.heads, -1).mean(2)
        return _ops._add_bias(out.reshape(n, -1), convs)

    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    graph = load_facebook(data_root)
    graph.x = graph.x.to_sparse_csr()
    data = T.RandomNodeSplit(split="train_rest", num_val=0.25, num_test=0.25)(graph)
    data = FeaturePerturbation(1.0, random_state=0, sparse=True)(data)
    data = LabelPerturbation(1.0, random_state=1)(data)
    original = _stack.gat_attend
    out: dict[str, float] = {}
    for variant, fn in (("csr", original), ("pyg", pyg_attend), ("csr", original)):
        _stack.gat_attend = fn
        model = LPGNN(data.num_features, 4, backbone="gat", x_steps=2, y_steps=4, random_state=0)
        trainer = LPGNNTrainer(epochs=epochs)
        start = time.perf_counter()
        trainer.fit(model, data)
        out[f"gat_{variant}_epoch_s"] = (time.perf_counter() - start) / epochs  # 2nd csr: warm
        out[f"gat_{variant}_test_acc"] = trainer.evaluate(model, data)
    _stack.gat_attend = original
    out["gat_epoch_time_ratio_pyg_vs_csr"] = out["gat_pyg_epoch_s"] / out["gat_csr_epoch_s"]
    return out


def sbm_graph(n: int, seed: int = 0, blocks: int = 4, degree: float = 10.0, d: int = 1000):
    """A stochastic block model graph (equal-size blocks in expectation, 90% of the edges
    inside a block, mean degree about ``degree``) with sparse binary features (10 per node,
    drawn from its block's quarter of the ``d`` columns) as a torch CSR matrix."""
    import numpy as np
    import torch
    from torch_geometric.data import Data
    from torch_geometric.utils import coalesce, to_undirected

    rng = np.random.default_rng(seed)
    y = rng.integers(0, blocks, n)
    m = int(n * degree / 2)
    same = rng.random(m) < 0.9  # 90% of the edges inside a block
    src = rng.integers(0, n, m)
    order = np.argsort(y, kind="stable")
    start = np.searchsorted(y[order], np.arange(blocks))
    size = np.bincount(y, minlength=blocks)
    block = np.where(same, y[src], rng.integers(0, blocks, m))
    dst = order[start[block] + (rng.random(m) * size[block]).astype(np.int64)]
    keep = src != dst
    ei = torch.from_numpy(np.stack([src[keep], dst[keep]]))
    ei = coalesce(to_undirected(ei, num_nodes=n), num_nodes=n)
    cols = (rng.integers(0, d // blocks, (n, 10)) + (d // blocks) * y[:, None]) % d
    cols.sort(axis=1)
    x = torch.sparse_csr_tensor(
        torch.arange(0, 10 * n + 1, 10), torch.from_numpy(cols.reshape(-1)),
        torch.ones(10 * n), size=(n, d),
    )  # fmt: skip
    return Data(x=x, edge_index=ei, y=torch.from_numpy(y))


def run_scaling(n: int, epochs: int) -> dict[str, float]:
    import torch_geometric.transforms as T

    from ai4media_ext.privacy.lpgnn import (
        LPGNN,
        FeaturePerturbation,
        LabelPerturbation,
        LPGNNTrainer,
    )

    warnings.filterwarnings("ignore")
    data = T.RandomNodeSplit(split="train_rest", num_val=0.25, num_test=0.25)(sbm_graph(n))
    data = FeaturePerturbation(1.0, random_state=0, sparse=True)(data)
    data = LabelPerturbation(1.0, random_state=1)(data)
    model = LPGNN(data.num_features, 4, backbone="sage", x_steps=2, y_steps=4, random_state=0)
    LPGNNTrainer(epochs=1).fit(model, data)
    start = time.perf_counter()
    LPGNNTrainer(epochs=epochs).fit(model, data)
    return {
        "epoch_s": (time.perf_counter() - start) / epochs,
        "peak_rss_mb": _peak_mb(),
        "edges": int(data.edge_index.size(1)),
    }


def _child(args: list[str]) -> dict[str, float]:
    proc = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True,
                          text=True)  # fmt: skip
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _figure(out: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = [n for n in SCALING_SIZES if f"scaling_{n}_epoch_s" in out]
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.4))
    ax[0].loglog(ns, [out[f"scaling_{n}_epoch_s"] for n in ns], "o-")
    ax[0].set(xlabel="nodes", ylabel="seconds per epoch", title="LPGNN (sparse path), SBM")
    ax[1].loglog(ns, [out[f"scaling_{n}_peak_rss_mb"] for n in ns], "o-")
    ax[1].set(xlabel="nodes", ylabel="peak RSS (MB)", title="peak memory")
    for a in ax:
        a.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--variant", choices=("sparse", "dense", "plain"))
    parser.add_argument("--scaling", action="store_true")
    parser.add_argument("--scaling-n", type=int)
    parser.add_argument("--gat", action="store_true", help="GAT: CSR vs gather-scatter attention")
    parser.add_argument("--out", default=None, help="folder for results.json and the figure")
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.data_root, args.epochs)))
        return
    if args.gat:
        print(json.dumps(run_gat(args.data_root, args.epochs), indent=2))
        return
    if args.scaling_n:
        print(json.dumps(run_scaling(args.scaling_n, max(2, args.epochs // 4))))
        return
    import torch

    out: dict = {"threads": torch.get_num_threads(), "epochs": args.epochs}
    for variant in ("plain", "dense", "sparse"):
        out[variant] = _child(["--data-root", args.data_root, "--epochs", str(args.epochs),
                               "--variant", variant])  # fmt: skip
    out["epoch_time_ratio_dense_vs_sparse"] = out["dense"]["epoch_s"] / out["sparse"]["epoch_s"]
    out["epoch_time_ratio_sparse_vs_plain"] = out["sparse"]["epoch_s"] / out["plain"]["epoch_s"]
    out["peak_memory_ratio_sparse_vs_plain"] = (
        out["sparse"]["peak_rss_mb"] / out["plain"]["peak_rss_mb"]
    )
    out["peak_memory_ratio_dense_vs_plain"] = (
        out["dense"]["peak_rss_mb"] / out["plain"]["peak_rss_mb"]
    )
    if args.scaling:
        for n in SCALING_SIZES:
            res = _child(["--data-root", args.data_root, "--epochs", str(args.epochs),
                          "--scaling-n", str(n)])  # fmt: skip
            for k, v in res.items():
                out[f"scaling_{n}_{k}"] = v
    out["speed_goal_met"] = out["epoch_time_ratio_dense_vs_sparse"] >= SPEED_GOAL
    out["memory_goal_met"] = out["peak_memory_ratio_sparse_vs_plain"] <= MEMORY_GOAL
    print(json.dumps(out, indent=2))
    if args.out:
        from pathlib import Path

        from ai4media_ext._io import write_text_atomic

        Path(args.out).mkdir(parents=True, exist_ok=True)
        write_text_atomic(Path(args.out) / "results.json", json.dumps(out, indent=2) + "\n")
        if args.scaling:
            _figure(out, str(Path(args.out) / "lpgnn_scaling.png"))
    if not out["memory_goal_met"]:  # memory regression guard
        print(f"FAIL: sparse-path peak memory is over {MEMORY_GOAL}x plain GraphSAGE")
        sys.exit(1)


if __name__ == "__main__":
    main()
