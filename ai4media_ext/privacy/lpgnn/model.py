"""LPGNN: KProp-augmented GNN trained with the Drop objective on locally private data."""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.nn import GATConv, GCNConv, SAGEConv
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.typing import Adj

from ..._validation import Interval, InvalidParameterError, Options, check_params
from ._graph import InputKey, adjacency_t, check_edge_index
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

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F)` (floating point), edge indices
          :math:`(2, |\mathcal{E}|)` (messages flow from row 0 to row 1, as in PyG) or a sparse
          adjacency
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
            },
            self._parameter_constraints,
        )
        self.backbone = backbone
        self.num_classes = num_classes
        self.forward_correction = forward_correction
        self.x_prop = KProp(x_steps, cached=True)
        # y_prop gets the symmetric-normalised adjacency from _y_propagate (computed once per
        # graph: label propagation runs every training step).
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
        self._y_norm: tuple[InputKey, tuple] | None = None

    def _y_propagate(self, t: Tensor, edge_index: Adj) -> Tensor:
        """``KProp(y_steps)`` of ``t`` with the normalisation cached per (unchanged) graph."""
        if self.y_prop.steps == 0:
            return t
        n = t.size(0)
        cache = self._y_norm
        if cache is None or not cache[0].matches(edge_index, extra=(n, t.dtype)):
            norm = gcn_norm(edge_index, None, n, False, False, "source_to_target", t.dtype)
            norm = norm if isinstance(norm, tuple) else (norm, None)
            self._y_norm = cache = (InputKey(edge_index, extra=(n, t.dtype)), norm)
        return self.y_prop(t, cache[1][0], cache[1][1])

    def reset_parameters(self) -> None:
        for module in (self.x_prop, self.y_prop, self.conv1, self.conv2):
            module.reset_parameters()
        self._target = None
        self._sage_aggregate = None
        self._csr_cache = None
        self._graph_key = None
        self._y_norm = None

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

    def _check_inputs(self, x: Tensor, edge_index: Adj) -> None:
        if not isinstance(x, Tensor) or not x.is_floating_point() or x.dim() != 2:
            raise InvalidParameterError(
                f"x must be a 2-D floating-point tensor, got "
                f"{getattr(x, 'dtype', type(x).__name__)} of shape "
                f"{tuple(getattr(x, 'shape', ()))}"
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

    def forward(self, x: Tensor, edge_index: Adj) -> Tensor:
        """Class logits. Pass ``edge_index`` (COO, cheapest per epoch) or a sparse adjacency."""
        h = self._hidden(x, edge_index)
        return self.conv2(self.dropout(h), edge_index)

    def forward_train_eval(self, x: Tensor, edge_index: Adj) -> tuple[Tensor, Tensor]:
        """Training-mode logits and, without gradient, eval-mode logits from one pass.

        Dropout acts only after the first layer, so both share the (costly) first layer.
        """
        h = self._hidden(x, edge_index)
        train = self.conv2(self.dropout(h), edge_index)
        with torch.no_grad():
            evaluated = self.conv2(h.detach(), edge_index)
        return train, evaluated

    def _hidden(self, x: Tensor, edge_index: Adj) -> Tensor:
        self._check_inputs(x, edge_index)
        # KProp(cached=True) returns its cached output while x and the graph are unchanged.
        x = self.x_prop(x, self._csr(edge_index, x.size(0), x.dtype))
        return F.selu(self._first_layer(x, edge_index))

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
        cache = self._target
        if cache is None or not cache[0].matches(
            data.y, data.train_mask, data.val_mask, edge_index
        ):
            labelled = data.train_mask | data.val_mask
            onehot = F.one_hot(data.y, self.num_classes).float() * labelled[:, None]
            key = InputKey(data.y, data.train_mask, data.val_mask, edge_index)
            self._target = cache = (key, self._y_propagate(onehot, edge_index))
        return cache[1]

    def drop_loss(self, logits: Tensor, data: Data, edge_index: Adj) -> Tensor:
        """The Drop training loss on ``data.train_mask``."""
        p = self.noisy_label_probabilities(logits, data)
        mask = data.train_mask
        if self.y_prop.steps > 0:
            p = F.softmax(self._y_propagate(p, edge_index), dim=-1)
            target = self.label_target(data, edge_index)
            # Nodes with no labelled node K_y hops away carry no propagated label.
            mask = mask & (target.sum(dim=-1) > 0)
            y = target.argmax(dim=-1)
        else:
            y = data.y
        return F.nll_loss(torch.log(p[mask] + 1e-20), y[mask])
