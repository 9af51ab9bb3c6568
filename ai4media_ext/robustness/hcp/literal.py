"""HCP exactly as printed in the seed (AI4Media D4.1 §3.2, eqs. (2)-(5)), next to the default.

Every difference between :class:`HCPLiteralTrainer` / :class:`HCPLiteralLoss` and the default
:class:`~ai4media_ext.robustness.hcp.HCPTrainer` / :class:`~ai4media_ext.robustness.hcp.HCPLoss`:

================  ==========================================  ====================================
item              literal (as printed)                        default (our reading)
================  ==========================================  ====================================
L_M (eq. (2))     mean r_j^2 + mean_i max(c, d_iy - r_y^2)    mean r_j^2 + c mean_i max(0, ...)
                  (``max(c, .)`` as printed: a floor of c,    (the SVDD soft margin of eq. (1))
                  no gradient while d_iy - r_y^2 < c)
L_P (eq. (3))     mean_i d_iy / (r_y^2 + e)                   same
L_NP (eq. (4))    mean_i sum_{j != y_i} r_j^2 / (d_ij + e)    mean_i mean_{j != y_i}
                  (inverse distance, never zero, summed over   max(0, 1 - d_ij / (r_j^2 + e))
                  the C - 1 other classes)                     (hinge: zero outside other spheres)
weight            1 on every constrained layer (eq. (5):      0.01 (validation sweep,
                  CE + L_HCP)                                  ``examples/hcp_weight_sweep.py``)
c                 1.0 (the seed gives no value)               10
warm-up           none: prototypes at the class means of the  1 cross-entropy epoch first
                  first activations seen ("FS": an untrained
                  network; "SM": the softmax model it is
                  fine-tuned from)
================  ==========================================  ====================================

The means over samples and classes are the same in both (the normalisation of the printed sums
is not legible in our copy of the seed; a constant factor that the weight absorbs). Everything
else (hooks, GAP of conv layers, Adam on prototypes and radii, e = 1e-3, the output layer
constrained) is shared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..._compat import require

require("torch", "art")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from .losses import HCPLoss  # noqa: E402
from .trainers import HCPTrainer  # noqa: E402

__all__ = ["HCPLiteralLoss", "HCPLiteralTrainer"]


class HCPLiteralLoss(HCPLoss):
    r"""HCP loss of one layer with eqs. (2)-(4) of the seed taken literally.

    With :math:`d_{ij} = \|h_i - a_j\|_2^2`:

    * :math:`L_M = \frac{1}{C}\sum_j r_j^2 + \frac{1}{N}\sum_i \max(c, d_{iy_i} - r_{y_i}^2)`
      (eq. (2) as printed);
    * :math:`L_P = \frac{1}{N}\sum_i d_{iy_i} / (r_{y_i}^2 + e)` (eq. (3));
    * :math:`L_{NP} = \frac{1}{N}\sum_i \sum_{j \ne y_i} r_j^2 / (d_{ij} + e)` (eq. (4)).

    Parameters
    ----------
    n_classes, n_features : int
        C (>= 2) and the layer width L (>= 1).
    c : float, default 1.0
        The floor of eq. (2)'s ``max(c, .)``, > 0.
    e : float, default 1e-3
        Stabiliser of the ratios, > 0.

    Shapes: ``forward(h, y)`` takes ``(N, L)`` float activations and ``(N,)`` int64 labels and
    returns a 0-d tensor.

    Raises
    ------
    InvalidParameterError
        A parameter outside the ranges above.
    """

    def __init__(self, n_classes: int, n_features: int, *, c: float = 1.0, e: float = 1e-3) -> None:
        super().__init__(n_classes, n_features, c=c, e=e)

    def terms(self, h: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """The three terms (0-d tensors ``L_M``, ``L_P``, ``L_NP``) for activations ``h``
        ``(N, L)`` and labels ``y`` ``(N,)``, computed from one ``(N, C)`` distance matrix."""
        d = torch.cdist(h, self.prototypes).pow(2)
        r2 = self.radii.pow(2)
        own = d.gather(1, y[:, None]).squeeze(1)
        r_own = r2[y]
        l_m = r2.mean() + (own - r_own).clamp_min(self.c).mean()
        l_p = (own / (r_own + self.e)).mean()
        other = torch.ones_like(d, dtype=torch.bool).scatter(1, y[:, None], False)
        l_np = ((r2 / (d + self.e)) * other).sum(1).mean()
        return {"L_M": l_m, "L_P": l_p, "L_NP": l_np}


class HCPLiteralTrainer(HCPTrainer):
    r"""ART training defence with HCP as printed in the seed: cross-entropy + :class:`HCPLiteralLoss`
    (weight 1) on the logits and on every named layer, no cross-entropy warm-up.

    "FS" (from scratch) is this trainer on a freshly initialised classifier; "SM" is this trainer
    on a classifier already trained with softmax cross-entropy (its prototypes start at the class
    means of the trained features). The module docstring lists every difference from
    :class:`HCPTrainer`.

    :param classifier: ART ``PyTorchClassifier`` (with an optimiser) to train in place.
    :param layers: Module names to constrain; ``"output"`` (the logits) is added when
                   ``include_output`` is true.
    :param c: Floor of eq. (2)'s ``max(c, .)`` (> 0, default 1.0).
    :param weight: Weight of the HCP losses (>= 0, default 1 as printed).
    :param aux_learning_rate: Adam step size of prototypes and radii (> 0).
    :param include_output: Constrain the logits too (eq. (5): CE + L_HCP at the output).
    :param warmup_epochs: Cross-entropy-only epochs first (>= 0; default 0 as printed).
    :param verbose: Show a tqdm progress bar over epochs.
    :raises TypeError: ``classifier`` is not a ``PyTorchClassifier``; ``layers`` is a string.
    :raises ValueError: An unknown layer name (the message lists the valid ones).
    :raises InvalidParameterError: A parameter outside the ranges above.
    """

    def __init__(
        self,
        classifier: Any,
        layers: Sequence[str] = (),
        *,
        c: float = 1.0,
        weight: float = 1.0,
        aux_learning_rate: float = 1e-2,
        include_output: bool = True,
        warmup_epochs: int = 0,
        verbose: bool = True,
    ) -> None:
        super().__init__(
            classifier,
            layers,
            c=c,
            weight=weight,
            aux_learning_rate=aux_learning_rate,
            include_output=include_output,
            warmup_epochs=warmup_epochs,
            verbose=verbose,
        )

    def _make_loss(self, n_classes: int, n_features: int) -> nn.Module:
        return HCPLiteralLoss(n_classes, n_features, c=self.c)
