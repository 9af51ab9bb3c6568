"""LPGNN: KProp-augmented GNN trained with the Drop objective on locally private data."""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.nn import GATConv, GCNConv, SAGEConv
from torch_geometric.typing import Adj

from ..._validation import Interval, InvalidParameterError, Options, check_params
from . import _stack
from ._graph import InputKey, adjacency_t, check_edge_index
from ._ops import GraphOps
from .kprop import KProp

BACKBONES = ("gcn", "sage", "gat")


class LPGNN(torch.nn.Module):
    r"""Locally private GNN (Sajadmanesh & Gatica-Perez, CCS 2021).

    ``KProp(x_steps)`` (cached) in front of a two-layer GCN / GraphSAGE / GAT backbone
    (hidden width ``hidden_channels``, SELU, dropout; GAT with ``heads`` heads in the first
    layer). :meth:`forward` returns class logits for :math:`p(y \mid x)`.

    Training uses the *Drop* objective (:meth:`drop_loss`): the prediction is mapped to the
    noisy-label distribution with the randomized-response transition matrix (forward
    correction, :math:`p(\tilde y \mid x) = p(y \mid x) T`), propagated with ``KProp(y_steps)``
    and a softmax, and fitted by cross-entropy to the argmax of the ``KProp(y_steps)``
    propagation of the one-hot noisy labels (test rows zeroed). With ``forward_correction=False``
    and ``y_steps=0`` it is plain cross-entropy on the noisy labels.

    Args:
        in_channels (int): number of node features.
        num_classes (int): number of classes.
        backbone (str): ``"gcn"``, ``"sage"`` (default, root weight, no normalisation) or
            ``"gat"``.
        hidden_channels (int): hidden width (default 16).
        dropout (float): dropout after the first layer (default 0.5).
        x_steps (int): feature propagation steps :math:`K_x` (default 0).
        y_steps (int): label propagation steps :math:`K_y` (default 0).
        forward_correction (bool): correct for the label noise with the transition matrix
            (default ``True``).
        heads (int): attention heads of the first GAT layer (default 4).
        project_first (bool): compute the first layer project-then-propagate (default
            ``True``): ``conv1(KProp(X))`` as ``post(A^{K_x} (X W))``, exact because KProp and
            the first layer's aggregation are linear (GAT's attention, too, starts from
            ``X W``). The graph then propagates ``nodes x hidden`` matrices and the wide
            input is only multiplied once by the weight, as a sparse product for the sparse
            multi-bit output of :class:`FeaturePerturbation` (``sparse=True``). ``False`` is
            the propagate-then-project path (KProp of the wide input cached once, PyG's own
            convolutions; a sparse ``x`` is densified).
        random_state (int, optional): seed of the weight initialisation and of the dropout
            stream (a private ``torch.Generator``: two models with the same seed draw the same
            masks whether trained alone or together); ``None`` uses torch's global RNG.

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F)` (floating point, dense or sparse
          CSR/COO), edge indices :math:`(2, |\mathcal{E}|)` (messages flow from row 0 to row 1,
          as in PyG) or a sparse adjacency, optional column offsets ``x_offset``
          :math:`(F)` of a sparse ``x`` (the features are ``x + x_offset``)
        - **output:** logits :math:`(|\mathcal{V}|, C)`

    Raises:
        InvalidParameterError: (a ``ValueError`` and ``TypeError``) naming the parameter.

    The wide input features are propagated once per graph through a sparse matrix product with
    the transposed adjacency (:func:`adjacency_t`), which equals message passing on
    ``edge_index`` on directed graphs too; every cache is keyed on the very tensors it was
    computed from (:class:`InputKey`), so a different or modified graph is never served one.
    """

    _parameter_constraints = {
        "in_channels": [Interval(numbers.Integral, 1, None, closed="left")],
        "num_classes": [Interval(numbers.Integral, 2, None, closed="left")],
        "backbone": [Options(str, set(BACKBONES))],
        "hidden_channels": [Interval(numbers.Integral, 1, None, closed="left")],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "x_steps": [Interval(numbers.Integral, 0, None, closed="left")],
        "y_steps": [Interval(numbers.Integral, 0, None, closed="left")],
        "forward_correction": ["boolean"],
        "heads": [Interval(numbers.Integral, 1, None, closed="left")],
        "project_first": ["boolean"],
        "random_state": [Interval(numbers.Integral, 0, None, closed="left"), None],
    }

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        *,
        backbone: str = "sage",
        hidden_channels: int = 16,
        dropout: float = 0.5,
        x_steps: int = 0,
        y_steps: int = 0,
        forward_correction: bool = True,
        heads: int = 4,
        project_first: bool = True,
        random_state: int | None = None,
    ) -> None:
        super().__init__()
        check_params(
            self,
            {
                "in_channels": in_channels,
                "num_classes": num_classes,
                "backbone": backbone,
                "hidden_channels": hidden_channels,
                "dropout": dropout,
                "x_steps": x_steps,
                "y_steps": y_steps,
                "forward_correction": forward_correction,
                "heads": heads,
                "project_first": project_first,
                "random_state": random_state,
            },
            self._parameter_constraints,
        )
        self.project_first = project_first
        self.random_state = random_state
        self._generator: torch.Generator | None = None
        if random_state is None:
            self._build(in_channels, num_classes, backbone, hidden_channels, dropout,
                        x_steps, y_steps, forward_correction, heads)  # fmt: skip
            return
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(random_state)
            self._build(in_channels, num_classes, backbone, hidden_channels, dropout,
                        x_steps, y_steps, forward_correction, heads)  # fmt: skip

    def _build(self, in_channels, num_classes, backbone, hidden_channels, dropout,
               x_steps, y_steps, forward_correction, heads) -> None:  # fmt: skip
        self.in_channels, self.hidden_channels, self.heads = in_channels, hidden_channels, heads
        self.backbone = backbone
        self.num_classes = num_classes
        self.forward_correction = forward_correction
        self.x_prop = KProp(x_steps, cached=True)
        # KProp layers hold the step counts; both propagate with the graph's cached
        # symmetric normalisation (GraphOps.kprop) on the project-then-propagate path.
        self.y_prop = KProp(y_steps, normalize=False)
        if backbone == "gcn":
            self.conv1 = GCNConv(in_channels, hidden_channels, cached=True)
            self.conv2 = GCNConv(hidden_channels, num_classes, cached=True)
        elif backbone == "sage":
            self.conv1 = SAGEConv(in_channels, hidden_channels, normalize=False, root_weight=True)
            self.conv2 = SAGEConv(hidden_channels, num_classes, normalize=False, root_weight=True)
        else:
            self.conv1 = GATConv(in_channels, hidden_channels, heads=heads, concat=True)
            self.conv2 = GATConv(heads * hidden_channels, num_classes, heads=1, concat=False)
        self.dropout = torch.nn.Dropout(dropout)
        self._target: tuple[InputKey, Tensor] | None = None
        self._sage_aggregate: tuple[InputKey, Tensor] | None = None
        self._csr_cache: tuple[InputKey, Adj] | None = None
        self._graph_key: InputKey | None = None
        self._ops: GraphOps | None = None

    def _shape(self) -> tuple:
        """What must agree for models to be trained as one stack."""
        return (self.backbone, self.in_channels, self.hidden_channels, self.heads,
                self.num_classes, self.x_prop.steps, self.y_prop.steps)  # fmt: skip

    def _drop(self, h: Tensor) -> Tensor:
        """Dropout drawn from the model's own generator (global RNG without a seed)."""
        p = self.dropout.p
        if not self.training or p == 0.0:
            return h
        if p == 1.0:
            return torch.zeros_like(h)
        gen = None
        if self.random_state is not None:
            if self._generator is None or self._generator.device != h.device:
                self._generator = torch.Generator(device=h.device)
                self._generator.manual_seed(self.random_state + 1)
            gen = self._generator
        keep = torch.rand(h.shape, generator=gen, device=h.device, dtype=h.dtype) >= p
        return h * keep / (1.0 - p)

    def graph_ops(self, edge_index: Adj, num_nodes: int, dtype: torch.dtype) -> GraphOps:
        """The graph's propagators, built once per (unchanged) graph."""
        ei = as_edge_index(edge_index)
        ops = self._ops
        if ops is None or not ops.key.matches(ei, extra=(num_nodes, dtype)):
            self._ops = ops = GraphOps(ei, num_nodes, dtype)
        return ops

    def reset_parameters(self) -> None:
        for module in (self.x_prop, self.y_prop, self.conv1, self.conv2):
            module.reset_parameters()
        self._target = None
        self._sage_aggregate = None
        self._csr_cache = None
        self._graph_key = None
        self._ops = None
        self._generator = None

    def _csr(self, edge_index: Adj, num_nodes: int, dtype: torch.dtype | None = None) -> Adj:
        # The one-off propagations of the (wide) input features run as one sparse matmul with
        # adj_t (rows = targets); with a COO edge_index they would gather |E| x F messages
        # (6 GB on Facebook).
        if not isinstance(edge_index, Tensor) or edge_index.layout != torch.strided:
            return edge_index
        cache = self._csr_cache
        if cache is None or not cache[0].matches(edge_index, extra=(num_nodes, dtype)):
            self._csr_cache = cache = (
                InputKey(edge_index, extra=(num_nodes, dtype)),
                adjacency_t(edge_index, num_nodes, dtype),
            )
        return cache[1]

    def _check_inputs(self, x: Tensor, edge_index: Adj, x_offset: Tensor | None) -> None:
        if not isinstance(x, Tensor) or not x.is_floating_point() or x.dim() != 2:
            raise InvalidParameterError(
                f"x must be a 2-D floating-point tensor, got "
                f"{getattr(x, 'dtype', type(x).__name__)} of shape "
                f"{tuple(getattr(x, 'shape', ()))}"
            )
        if x_offset is not None and (
            not isinstance(x_offset, Tensor) or tuple(x_offset.shape) != (x.size(1),)
        ):
            raise InvalidParameterError(
                f"x_offset must be a tensor of shape ({x.size(1)},), got "
                f"{tuple(getattr(x_offset, 'shape', ())) or type(x_offset).__name__}"
            )
        check_edge_index(edge_index, x.size(0))
        # GCNConv(cached=True) keeps the first graph's normalisation: drop it for a new graph.
        if self._graph_key is None or not self._graph_key.matches(edge_index, extra=x.size(0)):
            for conv in (self.conv1, self.conv2):
                if isinstance(conv, GCNConv):
                    conv._cached_edge_index = None
                    conv._cached_adj_t = None
            self._target = None
            self._graph_key = InputKey(edge_index, extra=x.size(0))

    def forward(self, x: Tensor, edge_index: Adj, x_offset: Tensor | None = None) -> Tensor:
        """Class logits. Pass ``edge_index`` (COO, cheapest per epoch) or a sparse adjacency,
        and ``x_offset`` with the sparse output of ``FeaturePerturbation(sparse=True)``."""
        h, ops = self._hidden(x, edge_index, x_offset)
        if ops is not None:
            return _stack.logits([self], h, ops, train=self.training)[0]
        return self.conv2(self._drop(h), edge_index)

    def forward_train_eval(
        self, x: Tensor, edge_index: Adj, x_offset: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Training-mode logits and, without gradient, eval-mode logits from one pass.

        Dropout acts only after the first layer, so both share the (costly) first layer.
        """
        h, ops = self._hidden(x, edge_index, x_offset)
        if ops is not None:
            train = _stack.logits([self], h, ops, train=True)[0]
            with torch.no_grad():
                evaluated = _stack.logits([self], h.detach(), ops, train=False)[0]
            return train, evaluated
        train = self.conv2(self._drop(h), edge_index)
        with torch.no_grad():
            evaluated = self.conv2(h.detach(), edge_index)
        return train, evaluated

    def _hidden(
        self, x: Tensor, edge_index: Adj, x_offset: Tensor | None
    ) -> tuple[Tensor, GraphOps | None]:
        self._check_inputs(x, edge_index, x_offset)
        if self.project_first:
            ops = self.graph_ops(edge_index, x.size(0), x.dtype)
            return _stack.hidden([self], [x], [x_offset], ops), ops
        if x.layout != torch.strided:  # the propagate-then-project path is dense
            x = x.to_dense() + (0 if x_offset is None else x_offset)
        elif x_offset is not None:
            x = x + x_offset
        # KProp(cached=True) returns its cached output while x and the graph are unchanged.
        x = self.x_prop(x, self._csr(edge_index, x.size(0), x.dtype))
        return F.selu(self._first_layer(x, edge_index)), None

    def _first_layer(self, x: Tensor, edge_index: Adj) -> Tensor:
        if self.backbone != "sage":
            return self.conv1(x, edge_index)
        # SAGEConv computes lin_l(mean of neighbours' x) + lin_r(x). KProp's output is fixed, so
        # the neighbour mean is too: compute it once per graph instead of every epoch.
        cache = self._sage_aggregate
        if cache is None or not cache[0].matches(x, edge_index):
            adj = self._csr(edge_index, x.size(0), x.dtype)
            agg = self.conv1.propagate(adj, x=(x, x), size=None).detach()
            self._sage_aggregate = cache = (InputKey(x, edge_index), agg)
        return self.conv1.lin_l(cache[1]) + self.conv1.lin_r(x)

    def noisy_label_probabilities(self, logits: Tensor, data: Data) -> Tensor:
        """:math:`p(\\tilde y \\mid x) = p(y \\mid x) T` (``p(y|x)`` without forward correction)."""
        p = F.softmax(logits, dim=-1)
        t = getattr(data, "transition_matrix", None)
        if self.forward_correction and t is not None:
            p = p @ t.to(p)
        return p

    def label_target(self, data: Data, edge_index: Adj) -> Tensor:
        """Propagated one-hot noisy labels (test rows zeroed); computed once and cached."""
        ops = self.graph_ops(edge_index, data.y.size(0), torch.get_default_dtype())
        return _stack.label_target(self, data, ops)

    def drop_loss(self, logits: Tensor, data: Data, edge_index: Adj) -> Tensor:
        """The Drop training loss on ``data.train_mask``."""
        ops = self.graph_ops(edge_index, logits.size(0), logits.dtype)
        return _stack.drop_losses([self], [logits], [data], ops)[0]


def as_edge_index(adj: Adj) -> Tensor:
    """``edge_index`` (sources in row 0) of a COO ``edge_index`` or a sparse ``adj_t``."""
    if isinstance(adj, Tensor) and adj.layout == torch.strided:
        return adj
    if isinstance(adj, Tensor):  # torch sparse adj_t: rows are targets
        return adj.to_sparse_coo().coalesce().indices().flip(0)
    row, col, _ = adj.coo()  # torch_sparse.SparseTensor adj_t
    return torch.stack([col, row])
