"""Agreement: ai4media_ext's KProp vs the patched torch_geometric.nn.KProp.

Run in the scratch environment of ``check.py torch_geometric`` (patched PyG installed,
ai4media-ext installed with ``--no-deps``). For seeded random directed graphs (with isolated and
source-only nodes), with and without edge weights, as ``edge_index`` and as a sparse CSC
adjacency, for K in 0..4, with and without self loops and normalisation, and for both message
flows, the two layers must give the same output (max abs difference <= 1e-6; they run the same
operations, so it is 0 in practice). Exits 1 on the first mismatch.
"""

import itertools
import sys

import torch
from torch_geometric.nn import KProp as UpstreamKProp
from torch_geometric.utils import to_torch_csc_tensor

from ai4media_ext.privacy.lpgnn import KProp


def graph(seed, num_nodes=60, num_edges=240):
    gen = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, num_nodes - 5, (2, num_edges), generator=gen)
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]  # last 5 nodes isolated
    x = torch.randn(num_nodes, 16, generator=gen)
    weight = torch.rand(edge_index.size(1), generator=gen)
    return x, edge_index, weight


def main():
    compared, worst = 0, 0.0
    for seed in range(3):
        x, edge_index, weight = graph(seed)
        n = x.size(0)
        for K, loops, norm, flow in itertools.product(
            range(5), (False, True), (True, False), ("source_to_target", "target_to_source")
        ):
            if loops and not norm:  # refused by the patched layer (as GCNConv does)
                continue
            ours = KProp(K, add_self_loops=loops, normalize=norm, flow=flow)
            theirs = UpstreamKProp(K, add_self_loops=loops, normalize=norm, flow=flow)
            for w in (None, weight):
                a, b = ours(x, edge_index, w), theirs(x, edge_index, w)
                inputs = [(a, b)]
                if flow == "source_to_target":
                    adj_t = to_torch_csc_tensor(edge_index, w, size=(n, n)).t()
                    inputs.append((ours(x, adj_t), theirs(x, adj_t)))
                for a, b in inputs:
                    diff = (a - b).abs().max().item()
                    worst = max(worst, diff)
                    if not diff <= 1e-6:
                        print(
                            f"MISMATCH seed={seed} K={K} loops={loops} norm={norm} "
                            f"flow={flow} weighted={w is not None}: {diff}"
                        )
                        return 1
                    compared += 1
    print(f"agree: {compared} outputs, max abs difference {worst:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
