"""Graph operators for LPGNN's project-then-propagate path, shared by a stack of models.

Every operator here is linear in the node features, so LPGNN's first layer
``conv1(KProp(X'))`` can be computed as ``post(A^K (X' W))``: the wide input matrix is only ever
multiplied by the weight (a sparse matmul for the multi-bit output, plus a rank-1 term for its
column offset), and the graph propagates a ``nodes x hidden`` matrix. Models trained together
(:meth:`LPGNNTrainer.fit_many`) concatenate their hidden matrices along the feature axis and
share every sparse product; a CSR sparse-dense product computes each output column with the
same operations whatever the number of columns, so a stacked model equals a separate one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import add_self_loops, remove_self_loops, to_torch_csr_tensor

from ._graph import InputKey


class _SpMM(torch.autograd.Function):
    """``a @ x`` for a constant sparse ``a`` whose transpose is precomputed for the backward
    pass (torch would otherwise transpose the CSR matrix in every backward call)."""

    @staticmethod
    def forward(ctx, a: Tensor, a_t: Tensor, x: Tensor) -> Tensor:  # noqa: D102
        ctx.a_t = a_t
        return a @ x

    @staticmethod
    def backward(ctx, grad: Tensor):  # noqa: D102
        return None, None, ctx.a_t @ grad


class Propagator:
    """The linear map ``out[i] = sum_{j -> i} w_ij x[j]`` of weighted edges, as a CSR product.

    Args:
        edge_index (Tensor): ``(2, E)``, messages flow from row 0 to row 1 (PyG's convention;
            directed graphs are propagated along their edges).
        weight (Tensor): ``(E,)`` edge weights.
        num_nodes (int): number of nodes.
    """

    def __init__(self, edge_index: Tensor, weight: Tensor, num_nodes: int) -> None:
        size = (num_nodes, num_nodes)
        self.a = to_torch_csr_tensor(edge_index.flip(0), weight, size=size)  # rows: targets
        self.a_t = to_torch_csr_tensor(edge_index, weight, size=size)  # rows: sources

    def __call__(self, x: Tensor, steps: int = 1) -> Tensor:
        for _ in range(steps):
            x = _SpMM.apply(self.a, self.a_t, x) if x.requires_grad else self.a @ x
        return x


class GraphOps:
    """The propagators one graph needs, built once: KProp's symmetric normalisation (no self
    loops), GraphSAGE's neighbour mean, GCN's normalisation with self loops, and GAT's
    self-looped ``edge_index``."""

    def __init__(self, edge_index: Tensor, num_nodes: int, dtype: torch.dtype) -> None:
        self.key = InputKey(edge_index, extra=(num_nodes, dtype))
        self.edge_index, self.num_nodes, self.dtype = edge_index, num_nodes, dtype
        self._cache: dict = {}

    def _get(self, name, build):
        if name not in self._cache:
            self._cache[name] = build()
        return self._cache[name]

    @property
    def kprop(self) -> Propagator:
        """:math:`D^{-1/2} A D^{-1/2}` (in-degree, no self loops): LPGNN's KProp."""

        def build():
            ei, w = gcn_norm(self.edge_index, None, self.num_nodes, False, False,
                             "source_to_target", self.dtype)  # fmt: skip
            return Propagator(ei, w, self.num_nodes)

        return self._get("kprop", build)

    @property
    def mean(self) -> Propagator:
        """Mean over in-neighbours (0 for a node without any): GraphSAGE's aggregation."""

        def build():
            ei = self.edge_index
            deg = torch.zeros(self.num_nodes, dtype=self.dtype, device=ei.device)
            deg.scatter_add_(0, ei[1], torch.ones(ei.size(1), dtype=self.dtype, device=ei.device))
            return Propagator(ei, 1.0 / deg[ei[1]], self.num_nodes)

        return self._get("mean", build)

    def gcn(self, conv) -> Propagator:
        """``GCNConv``'s normalised adjacency for the conv's own flags."""
        flags = (conv.improved, conv.add_self_loops, conv.normalize)

        def build():
            ei = self.edge_index
            if conv.normalize:
                ei, w = gcn_norm(ei, None, self.num_nodes, conv.improved, conv.add_self_loops,
                                 "source_to_target", self.dtype)  # fmt: skip
            else:
                w = torch.ones(ei.size(1), dtype=self.dtype, device=ei.device)
            return Propagator(ei, w, self.num_nodes)

        return self._get(("gcn", flags), build)

    def gat_edge_index(self, conv) -> Tensor:
        """``edge_index`` with one self loop per node, as ``GATConv`` builds it."""
        if not conv.add_self_loops:
            return self.edge_index

        def build():
            ei, _ = remove_self_loops(self.edge_index)
            return add_self_loops(ei, num_nodes=self.num_nodes)[0]

        return self._get("gat", build)


def project(x: Tensor, weight: Tensor, offset: Tensor | None = None) -> Tensor:
    """``(x + 1 offset^T) @ weight^T`` without densifying a sparse ``x``.

    Args:
        x (Tensor): ``(N, F)`` dense, or sparse CSR/COO.
        weight (Tensor): ``(H, F)``, a linear layer's weight.
        offset (Tensor, optional): ``(F,)`` column offsets of a sparse ``x`` (the rectified
            multi-bit features are ``S + 1 c^T``).

    Returns:
        Tensor: ``(N, H)``.
    """
    if x.layout == torch.strided:
        out = x @ weight.t()
    else:
        # A sparse row times W^T is a weighted sum of columns of W: embedding_bag computes it
        # (and its gradient, an index_add) in O(nnz * H), where torch.sparse.mm's backward
        # transposes the sparse matrix on every call.
        x = x if x.layout == torch.sparse_csr else x.to_sparse_csr()
        crow = x.crow_indices()
        out = F.embedding_bag(
            x.col_indices(), weight.t(), crow[:-1], mode="sum",
            per_sample_weights=x.values().to(weight.dtype), include_last_offset=False,
        )  # fmt: skip
    if offset is not None:
        out = out + offset.to(weight.dtype) @ weight.t()
    return out


def gat_attend(convs, xs: Tensor, ops: GraphOps) -> Tensor:
    """``GATConv``'s attention and aggregation for already projected inputs, ``R`` convs
    stacked along the head axis.

    Args:
        convs (list[GATConv]): ``R`` layers of the same shape (attention dropout of the
            first is used).
        xs (Tensor): ``(N, R * H, C)``, each conv's projected features ``lin(x)``.

    Returns:
        Tensor: ``(N, R * H * C)`` (``concat=True``) or ``(N, R * C)`` (head mean), with the
        biases added.
    """
    conv = convs[0]
    att_src = torch.cat([c.att_src for c in convs], dim=1)
    att_dst = torch.cat([c.att_dst for c in convs], dim=1)
    alpha = ((xs * att_src).sum(-1), (xs * att_dst).sum(-1))
    ei = ops.gat_edge_index(conv)
    alpha = conv.edge_updater(ei, alpha=alpha, edge_attr=None, size=None)
    out = conv.propagate(ei, x=(xs, xs), alpha=alpha, size=None)
    n, r = out.size(0), len(convs)
    out = out.reshape(n, -1) if conv.concat else out.view(n, r, conv.heads, -1).mean(2).view(n, -1)
    return _add_bias(out, convs)


def _add_bias(out: Tensor, layers) -> Tensor:
    biases = [getattr(layer, "bias", None) for layer in layers]
    if all(b is None for b in biases):
        return out
    width = out.size(1) // len(layers)
    return out + torch.cat([b if b is not None else out.new_zeros(width) for b in biases])
