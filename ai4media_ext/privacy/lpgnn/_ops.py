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


class _AttentionSpMM(torch.autograd.Function):
    """``A(values) @ x`` for a fixed CSR pattern with trainable ``values`` (attention).

    The backward pass gives ``x`` the transposed product and ``values`` the sampled product
    ``<grad[i], x[j]>`` at the stored entries (``torch.sparse.sampled_addmm``), instead of the
    ``E x C`` per-edge messages a gather-scatter implementation materialises.
    """

    @staticmethod
    def forward(ctx, values: Tensor, x: Tensor, pattern: AttentionPattern) -> Tensor:  # noqa: D102
        ctx.save_for_backward(values, x)
        ctx.pattern = pattern
        return pattern.matrix(values) @ x

    @staticmethod
    def backward(ctx, grad: Tensor):  # noqa: D102
        values, x = ctx.saved_tensors
        p = ctx.pattern
        grad_values = grad_x = None
        if ctx.needs_input_grad[0]:
            mask = p.matrix(torch.zeros_like(values))
            grad_values = torch.sparse.sampled_addmm(mask, grad, x.t(), beta=0.0).values()
        if ctx.needs_input_grad[1]:
            grad_x = p.matrix_t(values) @ grad
        return grad_values, grad_x, None


class AttentionPattern:
    """The CSR pattern of ``B`` attention heads over one graph, as one block-diagonal
    ``(B N) x (B N)`` matrix (head ``b``'s block holds its per-edge coefficients), and its
    transpose.

    Args:
        edge_index (Tensor): ``(2, E)``, messages from row 0 to row 1 (self loops included as
            the layer wants them).
        num_nodes (int): ``N``.
        blocks (int): ``B``, heads times stacked models.
    """

    def __init__(self, edge_index: Tensor, num_nodes: int, blocks: int) -> None:
        n, e = num_nodes, edge_index.size(1)
        src, dst = edge_index[0], edge_index[1]
        self.order = torch.argsort(dst * n + src, stable=True)  # rows: targets
        rows, cols = dst[self.order], src[self.order]
        self.rows, self.cols = rows, cols
        self.lengths = torch.bincount(rows, minlength=n)
        order_t = torch.argsort(cols * n + rows, stable=True)  # rows: sources
        shift = torch.arange(blocks, device=src.device)[:, None]
        self.size = (blocks * n, blocks * n)
        self.crow = self._crow(rows, n, e, blocks)
        self.col = (cols[None] + shift * n).reshape(-1)
        self.crow_t = self._crow(cols, n, e, blocks)
        self.col_t = (rows[order_t][None] + shift * n).reshape(-1)
        self.perm_t = (order_t[None] + shift * e).reshape(-1)

    @staticmethod
    def _crow(rows: Tensor, n: int, e: int, blocks: int) -> Tensor:
        crow = torch.zeros(n + 1, dtype=torch.long, device=rows.device)
        crow[1:] = torch.bincount(rows, minlength=n).cumsum(0)
        shift = torch.arange(blocks, device=rows.device)[:, None] * e
        return torch.cat([(crow[None, :-1] + shift).reshape(-1), crow.new_tensor([blocks * e])])

    def softmax(self, a_src: Tensor, a_dst: Tensor, negative_slope: float) -> Tensor:
        """``GATConv``'s attention coefficients, in CSR (target-sorted) edge order, ``(E, B)``:
        ``softmax_i(leaky_relu(a_src[j] + a_dst[i]))`` over the edges into each ``i``, with
        PyG's detached maximum and its ``1e-16`` in the denominator; per-target sums are
        segment reductions over the sorted edges (no scatter)."""
        logits = F.leaky_relu(a_src[self.cols] + a_dst[self.rows], negative_slope)
        peak = torch.segment_reduce(logits.detach(), "max", lengths=self.lengths, unsafe=True)
        ex = (logits - peak[self.rows]).exp()
        total = torch.segment_reduce(ex, "sum", lengths=self.lengths, unsafe=True) + 1e-16
        return ex / total[self.rows]

    def matrix(self, values: Tensor) -> Tensor:
        return torch.sparse_csr_tensor(self.crow, self.col, values, self.size)

    def matrix_t(self, values: Tensor) -> Tensor:
        return torch.sparse_csr_tensor(self.crow_t, self.col_t, values[self.perm_t], self.size)

    def aggregate(self, alpha: Tensor, x: Tensor) -> Tensor:
        """``out[i, b] = sum_{e = (j -> i)} alpha[e, b] x[j, b]``: ``alpha (E, B)`` in the
        pattern's CSR edge order (``edge_index[:, order]``, as :meth:`softmax` returns it),
        ``x (N, B, C)`` -> ``(N, B, C)``, with gradients for both."""
        n, b, c = x.shape
        flat = x.transpose(0, 1).reshape(b * n, c)
        values = alpha.t().reshape(-1)  # head-major: block b holds head b's coefficients
        if values.requires_grad or flat.requires_grad:
            out = _AttentionSpMM.apply(values, flat, self)
        else:
            out = self.matrix(values) @ flat
        return out.view(b, n, c).transpose(0, 1)


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

    def gat_pattern(self, conv, blocks: int) -> AttentionPattern:
        """:class:`AttentionPattern` of ``GATConv``'s self-looped graph for ``blocks`` heads."""
        ei = self.gat_edge_index(conv)
        return self._get(("gat_pattern", conv.add_self_loops, blocks),
                         lambda: AttentionPattern(ei, self.num_nodes, blocks))  # fmt: skip


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

    Equal to ``GATConv``'s ``edge_updater`` + ``propagate`` in eval mode (tests: outputs and
    gradients); in training the attention dropout mask is drawn over the edges in CSR order,
    so it is a different draw from the same distribution than PyG's.
    """
    conv = convs[0]
    att_src = torch.cat([c.att_src for c in convs], dim=1)
    att_dst = torch.cat([c.att_dst for c in convs], dim=1)
    pattern = ops.gat_pattern(conv, xs.size(1))
    # GATConv.edge_update (leaky ReLU, softmax over each target's edges, attention dropout),
    # then its message alpha * x_j summed at i, in the pattern's CSR edge order
    alpha = pattern.softmax((xs * att_src).sum(-1), (xs * att_dst).sum(-1), conv.negative_slope)
    alpha = F.dropout(alpha, p=conv.dropout, training=conv.training)
    out = pattern.aggregate(alpha, xs)
    n, r = out.size(0), len(convs)
    out = out.reshape(n, -1) if conv.concat else out.view(n, r, conv.heads, -1).mean(2).view(n, -1)
    return _add_bias(out, convs)


def _add_bias(out: Tensor, layers) -> Tensor:
    biases = [getattr(layer, "bias", None) for layer in layers]
    if all(b is None for b in biases):
        return out
    width = out.size(1) // len(layers)
    return out + torch.cat([b if b is not None else out.new_zeros(width) for b in biases])
