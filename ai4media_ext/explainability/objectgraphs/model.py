"""ObjectGraphs: event recognition over per-frame graphs of detected objects.

Gkalelis, Goulas, Galanopoulos, Mezaris, "ObjectGraphs: Using Objects and a Graph Convolutional
Network for the Bottom-up Recognition and Explanation of Events in Video", CVPRW 2021 (seed §4.4,
eq. (9); public code ``bmezaris/ObjectGraphs`` ``model.py``, summarised in methods.md §5.1).
"""

from __future__ import annotations

import numbers

import torch
from torch import Tensor, nn
from torch_geometric.nn import DenseGCNConv

from ..._validation import Interval, check_params

__all__ = ["ObjectGraphs", "check_object_inputs"]

_TINY = 1e-12


def check_object_inputs(
    x: Tensor, x_frame: Tensor | None, mask: Tensor | None, in_channels: int | None = None
) -> None:
    """Validate ObjectGraphs inputs; raise :class:`ValueError` / :class:`TypeError` naming the
    argument (no K = 0, matching batch and frame counts, finite features, boolean mask)."""
    if not isinstance(x, Tensor) or not x.is_floating_point() or x.dim() != 4:
        raise TypeError(
            f"x must be a float tensor of shape (B, Q, K, F), got {type(x).__name__} "
            f"{tuple(getattr(x, 'shape', ()))}"
        )
    b, q, k, f = x.shape
    if b == 0 or q == 0 or k == 0:
        raise ValueError(
            f"x needs at least one video, frame and object: got shape {tuple(x.shape)}"
        )
    if in_channels is not None and f != in_channels:
        raise ValueError(f"x has {f} features per object, the model expects {in_channels}")
    if not torch.isfinite(x).all():
        raise ValueError("x (object features) contains NaN or inf")
    if x_frame is not None:
        if not isinstance(x_frame, Tensor) or x_frame.dim() != 3:
            raise TypeError("x_frame must be a float tensor of shape (B, Q, F_frame)")
        if x_frame.shape[:2] != (b, q):
            raise ValueError(
                f"x_frame has {tuple(x_frame.shape[:2])} (videos, frames) but x has {(b, q)}"
            )
        if not torch.isfinite(x_frame).all():
            raise ValueError("x_frame (global frame features) contains NaN or inf")
    if mask is not None:
        if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
            raise TypeError("mask must be a bool tensor of shape (B, Q, K)")
        if mask.shape != (b, q, k):
            raise ValueError(f"mask has shape {tuple(mask.shape)}, expected {(b, q, k)}")


class ObjectGraphs(nn.Module):
    r"""ObjectGraphs event classifier (Gkalelis et al., CVPRW 2021).

    Per frame, the K object features :math:`X` form a graph whose adjacency is learned from them
    (seed eq. (9); ``bmezaris/ObjectGraphs`` ``model.py``):

    .. math::
        S = (X W_q + b_q)(X W_k + b_k)^\top, \qquad A_{lk} = S_{lk}^2 / \sum_{k'} S_{lk'}^2,

    so :math:`A \in [0, 1]^{K \times K}` with rows summing to 1. ``num_layers`` graph convolutions
    :math:`X' = \mathrm{ReLU}(\mathrm{LayerNorm}(A X W))` follow (torch-geometric's
    :class:`~torch_geometric.nn.dense.DenseGCNConv` with ``add_loop=False``: its symmetric degree
    normalisation is the identity for a row-stochastic :math:`A`). The objects are mean-pooled,
    concatenated with the global frame feature, an LSTM runs over the Q frames and its last hidden
    state goes through FC-ReLU-Dropout-FC to the class logits. Everything is batched over videos,
    frames and objects. ``num_layers=0`` is the no-graph baseline (mean of the raw object
    features + LSTM).

    Args:
        in_channels: object feature width F (2048 for ResNet-152 features in the paper).
        num_classes: event classes.
        frame_channels: global frame feature width (default ``in_channels``).
        hidden_channels: width of the adjacency projections, the graph layers and the first FC
            layer (the paper uses 2048).
        num_layers: graph convolution layers M (2 in the paper; 0 = no-graph baseline).
        lstm_channels: LSTM hidden size (default pooled + frame width, as in the paper).
        dropout: dropout before the last FC layer.

    Shapes:
        - **input:** object features ``x`` :math:`(B, Q, K, F)`, global frame features
          ``x_frame`` :math:`(B, Q, F_{frame})`, optional bool ``mask`` :math:`(B, Q, K)` of the
          objects present (absent objects are left out of the graph and the pooling).
        - **output:** logits :math:`(B, C)`; :meth:`adjacency` :math:`(B, Q, K, K)`.

    Raises:
        InvalidParameterError: a constructor argument out of range.
        ValueError, TypeError: malformed inputs (K = 0, mismatched frame counts, NaN features).
    """

    _parameter_constraints = {
        "in_channels": [Interval(numbers.Integral, 1, None, closed="left")],
        "num_classes": [Interval(numbers.Integral, 2, None, closed="left")],
        "frame_channels": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "hidden_channels": [Interval(numbers.Integral, 1, None, closed="left")],
        "num_layers": [Interval(numbers.Integral, 0, None, closed="left")],
        "lstm_channels": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
    }

    def __init__(
        self,
        in_channels: int = 2048,
        num_classes: int = 10,
        *,
        frame_channels: int | None = None,
        hidden_channels: int = 256,
        num_layers: int = 2,
        lstm_channels: int | None = None,
        dropout: float = 0.5,
    ) -> None:
        params = dict(
            in_channels=in_channels,
            num_classes=num_classes,
            frame_channels=frame_channels,
            hidden_channels=hidden_channels,
            num_layers=num_layers,
            lstm_channels=lstm_channels,
            dropout=dropout,
        )
        check_params(self, params, self._parameter_constraints)
        super().__init__()
        self.in_channels, self.num_classes = in_channels, num_classes
        self.frame_channels = frame_channels or in_channels
        self.hidden_channels, self.num_layers = hidden_channels, num_layers
        self.query = nn.Linear(in_channels, hidden_channels)
        self.key = nn.Linear(in_channels, hidden_channels)
        widths = [in_channels] + [hidden_channels] * num_layers
        self.convs = nn.ModuleList(
            DenseGCNConv(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(hidden_channels) for _ in range(num_layers))
        pooled = widths[-1] + self.frame_channels
        self.lstm_channels = lstm_channels or pooled
        self.lstm = nn.LSTM(pooled, self.lstm_channels, batch_first=True)
        self.head = nn.Sequential(
            nn.Linear(self.lstm_channels, hidden_channels),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_channels, num_classes),
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-uniform weights and zero biases for the linear maps (as the original code)."""
        for lin in (self.query, self.key, self.head[0], self.head[3]):
            nn.init.xavier_uniform_(lin.weight)
            nn.init.zeros_(lin.bias)
        for conv, norm in zip(self.convs, self.norms, strict=True):
            conv.reset_parameters()  # glorot weight, zero bias
            norm.reset_parameters()
        self.lstm.reset_parameters()

    def adjacency(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Learned adjacency of every frame, eq. (9): ``(B, Q, K, K)``, entries in [0, 1], the
        rows of present objects summing to 1, rows and columns of absent objects 0."""
        s = self.query(x) @ self.key(x).transpose(-1, -2)
        s2 = s.square() + _TINY  # + tiny: a degenerate all-zero row becomes uniform, not NaN
        if mask is not None:
            s2 = s2 * (mask[..., :, None] & mask[..., None, :]).to(s2.dtype)
        return s2 / s2.sum(dim=-1, keepdim=True).clamp_min(_TINY)

    def frame_embeddings(
        self, x: Tensor, x_frame: Tensor, mask: Tensor | None = None, adj: Tensor | None = None
    ) -> Tensor:
        """Per-frame vectors fed to the LSTM: pooled object nodes ++ frame feature,
        ``(B, Q, pooled + F_frame)``."""
        b, q, k, f = x.shape
        h = x.reshape(b * q, k, f)
        m = None if mask is None else mask.reshape(b * q, k)
        if self.num_layers:
            a = self.adjacency(x, mask) if adj is None else adj
            a = a.reshape(b * q, k, k)
            for conv, norm in zip(self.convs, self.norms, strict=True):
                h = torch.relu(norm(conv(h, a, mask=m, add_loop=False)))
        if m is None:
            pooled = h.mean(dim=1)
        else:
            w = m.to(h.dtype).unsqueeze(-1)
            pooled = (h * w).sum(dim=1) / w.sum(dim=1).clamp_min(1.0)
        return torch.cat([pooled.reshape(b, q, -1), x_frame], dim=-1)

    def forward(self, x: Tensor, x_frame: Tensor, mask: Tensor | None = None) -> Tensor:
        check_object_inputs(x, x_frame, mask, self.in_channels)
        if x_frame.shape[-1] != self.frame_channels:
            raise ValueError(
                f"x_frame has {x_frame.shape[-1]} features, the model expects {self.frame_channels}"
            )
        out, _ = self.lstm(self.frame_embeddings(x, x_frame, mask))
        return self.head(out[:, -1])

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.in_channels}, {self.num_classes}, "
            f"num_layers={self.num_layers}, hidden_channels={self.hidden_channels})"
        )
