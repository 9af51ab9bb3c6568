"""KProp: LPGNN's weight-free K-step neighbourhood propagation layer."""

from __future__ import annotations

import numbers

from torch import Tensor
from torch_geometric.nn.conv import MessagePassing
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.typing import Adj, OptTensor, SparseTensor
from torch_geometric.utils import spmm


class KProp(MessagePassing):
    r"""K steps of symmetric-normalised sum aggregation, without weights (LPGNN's KProp).

    .. math:: \mathbf{X}' = \left(\hat{\mathbf{D}}^{-1/2} \hat{\mathbf{A}}
              \hat{\mathbf{D}}^{-1/2}\right)^{K} \mathbf{X}

    with :math:`\hat{\mathbf{A}} = \mathbf{A}` by default (no self loops: a node's own noisy
    features or labels are averaged only with its neighbours', the paper's choice) or
    :math:`\mathbf{A} + \mathbf{I}` with ``add_self_loops=True``. ``steps=0`` is the identity.

    Args:
        steps (int): number of propagation steps :math:`K \ge 0`.
        add_self_loops (bool, optional): add self loops before normalising. (default: ``False``)
        normalize (bool, optional): apply the symmetric normalisation. (default: ``True``)
        cached (bool, optional): cache the output of the first call and return it afterwards —
            for fixed inputs in transductive learning (LPGNN's feature propagation).
            (default: ``False``)
        **kwargs (optional): arguments of :class:`torch_geometric.nn.conv.MessagePassing`.

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F)`, edge indices :math:`(2,
          |\mathcal{E}|)` or a sparse adjacency, optional edge weights :math:`(|\mathcal{E}|)`
        - **output:** node features :math:`(|\mathcal{V}|, F)`
    """

    _cached_x: Tensor | None

    def __init__(
        self,
        steps: int,
        *,
        add_self_loops: bool = False,
        normalize: bool = True,
        cached: bool = False,
        **kwargs,
    ) -> None:
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
            raise TypeError(f"steps must be an int, got {type(steps).__name__}")
        if steps < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        self.steps = int(steps)
        self.add_self_loops = add_self_loops
        self.normalize = normalize
        self.cached = cached
        self._cached_x = None
        self._norm_cache: tuple | None = None

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self._cached_x = None
        self._norm_cache = None

    def forward(self, x: Tensor, edge_index: Adj, edge_weight: OptTensor = None) -> Tensor:
        if self.cached and self._cached_x is not None:
            return self._cached_x
        if self.steps > 0:
            if self.normalize:
                edge_index, edge_weight = self._normalized(x, edge_index, edge_weight)
            for _ in range(self.steps):
                x = self.propagate(edge_index, x=x, edge_weight=edge_weight)
        if self.cached:
            self._cached_x = x.detach()
        return x

    def _normalized(self, x: Tensor, edge_index: Adj, edge_weight: OptTensor):
        # The normalised adjacency is reused while the same graph object is passed in (label
        # propagation runs every training step on a fixed graph).
        cache = self._norm_cache
        if cache is not None and cache[0] is edge_index and cache[1] is edge_weight:
            return cache[2], cache[3]
        if isinstance(edge_index, SparseTensor):
            out = gcn_norm(
                edge_index, edge_weight, x.size(self.node_dim), False,
                self.add_self_loops, self.flow, x.dtype,
            ), None  # fmt: skip
        else:
            out = gcn_norm(
                edge_index, edge_weight, x.size(self.node_dim), False,
                self.add_self_loops, self.flow, x.dtype,
            )  # fmt: skip
        self._norm_cache = (edge_index, edge_weight, out[0], out[1])
        return out

    def message(self, x_j: Tensor, edge_weight: OptTensor) -> Tensor:
        return x_j if edge_weight is None else edge_weight.view(-1, 1) * x_j

    def message_and_aggregate(self, adj_t: Adj, x: Tensor) -> Tensor:
        return spmm(adj_t, x, reduce=self.aggr)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(steps={self.steps}, "
            f"add_self_loops={self.add_self_loops}, normalize={self.normalize})"
        )
