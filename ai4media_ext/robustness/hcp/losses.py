"""Per-layer loss modules of HCP and its baselines, vectorised over batch and classes."""

from __future__ import annotations

import numbers

from ..._compat import require
from ..._validation import Interval, check_params

require("torch", "art")

import torch  # noqa: E402
from torch import nn  # noqa: E402

__all__ = ["CenterLoss", "HCPLoss", "PrototypeConformityLoss", "class_means"]

_POSITIVE = Interval(numbers.Real, 0, None, closed="neither")
_SHAPE = {
    "n_classes": [Interval(numbers.Integral, 2, None, closed="left")],
    "n_features": [Interval(numbers.Integral, 1, None, closed="left")],
}


def class_means(
    h: torch.Tensor, y: torch.Tensor, n_classes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-class means of the rows of ``h``.

    Args:
        h: ``(N, L)`` float activations.
        y: ``(N,)`` int64 labels in ``[0, n_classes)``.
        n_classes: C.

    Returns:
        ``(C, L)`` means (zero rows for absent classes) and a ``(C,)`` bool mask of the classes
        present in ``y``.
    """
    onehot = nn.functional.one_hot(y, n_classes).to(h)
    counts = onehot.sum(0)
    return (onehot.T @ h) / counts.clamp_min(1)[:, None], counts > 0


class HCPLoss(nn.Module):
    r"""HCP loss of one layer: C learnable class prototypes :math:`A \in R^{C \times L}` and radii
    :math:`r_j`, with :math:`d_{ij} = \|h_i - a_j\|_2^2` for activations :math:`h_i`.

    * :math:`L_M` (soft-margin hypersphere enclosure, eq. (1)):
      :math:`\frac{1}{C}\sum_j r_j^2 + c \cdot \frac{1}{N}\sum_i \max(0, d_{iy_i} - r_{y_i}^2)`.
      Eq. (2) of the seed prints :math:`\max(c, \cdot)`; that would make the penalty at least
      :math:`c` for every sample, so we follow the soft-margin formulation of eq. (1),
      :math:`c \cdot \max(0, \cdot)` (the SVDD slack).
    * :math:`L_P` (eq. (3), pull to the own prototype relative to its radius):
      :math:`\frac{1}{N}\sum_i d_{iy_i} / (r_{y_i}^2 + e)`, :math:`e = 10^{-3}`.
    * :math:`L_{NP}` (eq. (4), push from the other prototypes relative to their radii):
      :math:`\frac{1}{N(C-1)}\sum_i \sum_{j \ne y_i} \max(0, 1 - d_{ij} / (r_j^2 + e))`, zero
      once a sample lies outside every other class's hypersphere.

    :math:`L_{HCP} = L_M + L_P + L_{NP}` (eq. (5)). Everything is computed for the whole batch
    and all classes at once (one distance matrix).

    Parameters
    ----------
    n_classes, n_features : int
        C (>= 2) and the layer width L (>= 1).
    c : float, default 1.0
        Soft-margin weight of the enclosure slack, > 0.
    e : float, default 1e-3
        Stabiliser of the radius ratios, > 0.

    Shapes: ``forward(h, y)`` takes ``(N, L)`` float activations and ``(N,)`` int64 labels and
    returns a 0-d tensor.

    Raises
    ------
    InvalidParameterError
        A parameter outside the ranges above (a ``ValueError`` and ``TypeError``).
    """

    _parameter_constraints = {**_SHAPE, "c": [_POSITIVE], "e": [_POSITIVE]}

    def __init__(self, n_classes: int, n_features: int, *, c: float = 1.0, e: float = 1e-3) -> None:
        super().__init__()
        check_params(
            self,
            {"n_classes": n_classes, "n_features": n_features, "c": c, "e": e},
            self._parameter_constraints,
        )
        self.c, self.e = float(c), float(e)
        self.prototypes = nn.Parameter(torch.randn(n_classes, n_features) * 0.01)
        self.radii = nn.Parameter(torch.ones(n_classes))

    @torch.no_grad()
    def initialise(self, h: torch.Tensor, y: torch.Tensor) -> None:
        """Prototypes at the class means of ``h`` ``(N, L)``, radii at the RMS distance to them
        (the trainer calls this after a cross-entropy warm-up, when the class means have
        separated; on an untrained network they nearly coincide and the pull and push terms
        cancel)."""
        means, seen = class_means(h, y, self.prototypes.shape[0])
        self.prototypes[seen] = means[seen]
        d = (h - means[y]).pow(2).sum(1)[:, None]
        rms = class_means(d, y, self.prototypes.shape[0])[0][:, 0].sqrt().clamp_min(1e-2)
        self.radii[seen] = rms[seen]

    def terms(self, h: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """The three terms (0-d tensors ``L_M``, ``L_P``, ``L_NP``) for activations ``h``
        ``(N, L)`` and labels ``y`` ``(N,)``."""
        d = torch.cdist(h, self.prototypes).pow(2)  # N x C squared distances
        r2 = self.radii.pow(2)
        own = d.gather(1, y[:, None]).squeeze(1)
        r_own = r2[y]
        l_m = r2.mean() + self.c * (own - r_own).clamp_min(0).mean()
        l_p = (own / (r_own + self.e)).mean()
        other = torch.ones_like(d, dtype=torch.bool).scatter(1, y[:, None], False)
        push = (1 - d / (r2 + self.e)).clamp_min(0) * other
        l_np = push.sum(1).mean() / (d.shape[1] - 1)
        return {"L_M": l_m, "L_P": l_p, "L_NP": l_np}

    def forward(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        t = self.terms(h, y)
        return t["L_M"] + t["L_P"] + t["L_NP"]


class CenterLoss(nn.Module):
    r"""Centre loss (Wen et al., ECCV 2016, eq. (2)): :math:`\frac{1}{2N}\sum_i \|h_i -
    c_{y_i}\|^2` with learnable class centres (the CL baseline of HCP's Table 2).

    Parameters
    ----------
    n_classes, n_features : int
        C (>= 2) and the layer width L (>= 1).

    Raises
    ------
    InvalidParameterError
        A parameter outside the ranges above.
    """

    _parameter_constraints = dict(_SHAPE)

    def __init__(self, n_classes: int, n_features: int) -> None:
        super().__init__()
        check_params(
            self, {"n_classes": n_classes, "n_features": n_features}, self._parameter_constraints
        )
        self.centers = nn.Parameter(torch.randn(n_classes, n_features) * 0.01)

    @torch.no_grad()
    def initialise(self, h: torch.Tensor, y: torch.Tensor) -> None:
        """Centres at the class means of ``h`` ``(N, L)``."""
        means, seen = class_means(h, y, self.centers.shape[0])
        self.centers[seen] = means[seen]

    def forward(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return 0.5 * (h - self.centers[y]).pow(2).sum(1).mean()


class PrototypeConformityLoss(nn.Module):
    r"""Prototype conformity loss (PCL, Mustafa et al., ICCV 2019, eq. (3)) with learnable class
    centres :math:`w_j`:

    .. math:: \frac{1}{N}\sum_i \Big[\|h_i - w_{y_i}\|^2 - \frac{\gamma}{C-1}\sum_{j \ne y_i}
              \big(\|h_i - w_j\|^2 + \|w_{y_i} - w_j\|^2\big)\Big]

    The paper's loss has :math:`\gamma = 1`; it is unbounded below (scaling every feature and
    centre up lowers it: with :math:`\gamma = 1` our CIFAR-10 CNN's loss ran to -2.6e9 within 10
    epochs), so the push part gets a smaller weight, ``push_weight`` (default 0.1).

    Parameters
    ----------
    n_classes, n_features : int
        C (>= 2) and the layer width L (>= 1).
    push_weight : float, default 0.1
        :math:`\gamma`, >= 0.

    Raises
    ------
    InvalidParameterError
        A parameter outside the ranges above.
    """

    _parameter_constraints = {
        **_SHAPE,
        "push_weight": [Interval(numbers.Real, 0, None, closed="left")],
    }

    def __init__(self, n_classes: int, n_features: int, *, push_weight: float = 0.1) -> None:
        super().__init__()
        check_params(
            self,
            {"n_classes": n_classes, "n_features": n_features, "push_weight": push_weight},
            self._parameter_constraints,
        )
        self.push_weight = float(push_weight)
        self.centers = nn.Parameter(torch.randn(n_classes, n_features) * 0.01)

    initialise = CenterLoss.initialise

    def forward(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        d = torch.cdist(h, self.centers).pow(2)  # N x C
        dc = torch.cdist(self.centers, self.centers).pow(2)[y]  # N x C: ||w_y - w_j||^2
        own = d.gather(1, y[:, None]).squeeze(1)
        # the j = y_i column of d + dc is ||h_i - w_y||^2 + 0: take it out of the push sum
        push = ((d + dc).sum(1) - own) / (d.shape[1] - 1)
        return (own - self.push_weight * push).mean()
