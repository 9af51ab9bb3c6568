"""KProp: LPGNN's weight-free K-step neighbourhood propagation layer."""

from __future__ import annotations

import numbers

from torch import Tensor
from torch_geometric.nn.conv import MessagePassing
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.typing import Adj, OptTensor, SparseTensor
from torch_geometric.utils import spmm

from ..._validation import Interval, InvalidParameterError, check_params
from ._graph import InputKey, check_edge_index


class KProp(MessagePassing):
    r"""K steps of symmetric-normalised sum aggregation, without weights (LPGNN's KProp).

    .. math:: \mathbf{X}' = \left(\hat{\mathbf{D}}^{-1/2} \hat{\mathbf{A}}
              \hat{\mathbf{D}}^{-1/2}\right)^{K} \mathbf{X}

    with :math:`\hat{\mathbf{A}} = \mathbf{A}` by default (no self loops: a node's own noisy
    features or labels are averaged only with its neighbours', the paper's choice) or
    :math:`\mathbf{A} + \mathbf{I}` with ``add_self_loops=True``. ``steps=0`` is the identity.
    Messages flow along ``edge_index`` as in every PyG layer (``flow="source_to_target"``: row 0
    the sources, row 1 the targets; a node without in-edges receives nothing), and the degree
    is the in-degree, as in :func:`~torch_geometric.nn.conv.gcn_conv.gcn_norm`.

    Args:
        steps (int): number of propagation steps :math:`K \ge 0`.
        add_self_loops (bool, optional): add self loops before normalising; requires
            ``normalize=True``. (default: ``False``)
        normalize (bool, optional): apply the symmetric normalisation. (default: ``True``)
        cached (bool, optional): cache the output and return it again while the *same* input
            tensors (unmodified, by PyG's convention for transductive learning) are passed in;
            any other ``x``, ``edge_index`` or ``edge_weight`` (or one changed in place) is
            propagated afresh. With ``False`` nothing at all is cached. (default: ``False``)
        **kwargs (optional): arguments of :class:`torch_geometric.nn.conv.MessagePassing`.

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F)` (floating point), edge indices
          :math:`(2, |\mathcal{E}|)` or a sparse adjacency, optional edge weights
          :math:`(|\mathcal{E}|)`
        - **output:** node features :math:`(|\mathcal{V}|, F)`, the dtype of ``x``

    Raises:
        InvalidParameterError: (a ``ValueError`` and ``TypeError``) for a bad ``steps`` or flag
            at construction, integer ``x`` or a malformed ``edge_index`` at call time.
    """

    _parameter_constraints = {
        "steps": [Interval(numbers.Integral, 0, None, closed="left")],
        "add_self_loops": ["boolean"],
        "normalize": ["boolean"],
        "cached": ["boolean"],
    }

    def __init__(
        self,
        steps: int,
        *,
        add_self_loops: bool = False,
        normalize: bool = True,
        cached: bool = False,
        **kwargs,
    ) -> None:
        check_params(
            self,
            {
                "steps": steps,
                "add_self_loops": add_self_loops,
                "normalize": normalize,
                "cached": cached,
            },
            self._parameter_constraints,
        )
        if add_self_loops and not normalize:  # the loops are added inside the normalisation
            raise InvalidParameterError(
                "The 'add_self_loops' parameter of KProp requires normalize=True "
                "(self loops are added during normalisation, as in PyG's GCNConv); "
                "got add_self_loops=True, normalize=False."
            )
        kwargs.setdefault("aggr", "add")
        super().__init__(**kwargs)
        self.steps = int(steps)
        self.add_self_loops = add_self_loops
        self.normalize = normalize
        self.cached = cached
        self._cache: tuple[InputKey, Tensor] | None = None

    @property
    def _cached_x(self) -> Tensor | None:
        """The cached output (None when nothing is cached)."""
        return None if self._cache is None else self._cache[1]

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self._cache = None

    def forward(self, x: Tensor, edge_index: Adj, edge_weight: OptTensor = None) -> Tensor:
        if not isinstance(x, Tensor) or not x.is_floating_point():
            raise InvalidParameterError(
                f"x must be a floating-point tensor, got "
                f"{getattr(x, 'dtype', type(x).__name__)}; convert it with x.float()"
            )
        if x.dim() < 2:
            raise InvalidParameterError(
                f"x must have shape (num_nodes, num_features), got {tuple(x.shape)}"
            )
        num_nodes = x.size(self.node_dim)
        if self.cached and self._cache is not None:
            if self._cache[0].matches(x, edge_index, edge_weight, extra=num_nodes):
                return self._cache[1]
        check_edge_index(edge_index, num_nodes)
        key = InputKey(x, edge_index, edge_weight, extra=num_nodes) if self.cached else None
        if self.steps > 0:
            if self.normalize:
                edge_index, edge_weight = self._normalized(x, edge_index, edge_weight)
            for _ in range(self.steps):
                x = self.propagate(edge_index, x=x, edge_weight=edge_weight)
        if key is not None:
            self._cache = (key, x.detach())
        return x

    def _normalized(self, x: Tensor, edge_index: Adj, edge_weight: OptTensor):
        out = gcn_norm(
            edge_index, edge_weight, x.size(self.node_dim), False,
            self.add_self_loops, self.flow, x.dtype,
        )  # fmt: skip
        return (out, None) if isinstance(edge_index, SparseTensor) else out

    def message(self, x_j: Tensor, edge_weight: OptTensor) -> Tensor:
        return x_j if edge_weight is None else edge_weight.view(-1, 1) * x_j

    def message_and_aggregate(self, adj_t: Adj, x: Tensor) -> Tensor:
        return spmm(adj_t, x, reduce=self.aggr)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(steps={self.steps}, "
            f"add_self_loops={self.add_self_loops}, normalize={self.normalize})"
        )
