"""LPGNN's local-DP transforms: multi-bit feature perturbation and k-RR label perturbation."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import torch
from diffprivlib.accountant import BudgetAccountant
from torch_geometric.data import Data
from torch_geometric.data.datapipes import functional_transform
from torch_geometric.transforms import BaseTransform

from ..._validation import Interval, InvalidParameterError, Options, check_params
from ..mechanisms import GeneralizedRandomizedResponse, MultiBit
from ..mechanisms._base import budget_check, budget_spend

# Budgets: as everywhere in the package, ``accountant=None`` is diffprivlib's default accountant
# (BudgetAccountant.load_default); the budget is checked before anything is perturbed and spent
# after. Each call releases every node's data once (parallel composition over nodes).


def _float_features(x: Any) -> torch.Tensor:
    """``data.x`` as a floating tensor (integer/bool counts become the default float dtype)."""
    if not isinstance(x, torch.Tensor) or x.dim() != 2:
        raise InvalidParameterError(
            f"data.x must be a 2-D node feature tensor, got {getattr(x, 'shape', type(x))}"
        )
    if x.is_complex():
        raise InvalidParameterError(f"data.x must hold real numbers, got {x.dtype}")
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    if x.numel() and not torch.isfinite(x).all():
        raise InvalidParameterError("data.x must be finite (no NaN or inf)")
    return x


@functional_transform("feature_perturbation")
class FeaturePerturbation(BaseTransform):
    r"""Perturb node features with the multi-bit mechanism and rectify them (functional name:
    :obj:`feature_perturbation`).

    As in LPGNN, each feature column is first min-max normalised to :math:`[0, 1]` with the
    range taken from the data (constant columns are dropped), then every node's vector is
    encoded by :class:`~ai4media_ext.privacy.mechanisms.MultiBit` under
    :math:`\epsilon_x`-local DP and rectified to an unbiased estimate. ``epsilon=inf`` keeps the
    normalised raw features (and charges ``inf``).

    The output features are floating point: ``x``'s own float dtype, or
    ``torch.get_default_dtype()`` for integer/bool count features (the unbiased estimates are
    not integers).

    Args:
        epsilon (float): feature privacy budget :math:`\epsilon_x` per node, in (0, inf].
        m (int or str, optional): features sampled per node (default ``"best"``, the paper's
            rule).
        random_state (int, optional): seed for reproducible perturbation (default: OS CSPRNG).
        accountant (BudgetAccountant, optional): charged :math:`\epsilon_x` per call; default:
            diffprivlib's default accountant. Checked before anything is perturbed.

    Raises:
        InvalidParameterError: (a ``ValueError`` and ``TypeError``) for a bad parameter or a
            ``data.x`` that is missing, not 2-D or not finite.
        BudgetError: the accountant cannot afford :math:`\epsilon_x`.
    """

    _parameter_constraints = {
        "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "m": [Interval(numbers.Integral, 1, None, closed="left"), Options(str, {"best", "max"})],
        "random_state": ["random_state"],
        "accountant": [BudgetAccountant, None],
    }

    def __init__(
        self,
        epsilon: float,
        *,
        m: int | str = "best",
        random_state: Any = None,
        accountant: BudgetAccountant | None = None,
    ) -> None:
        self.epsilon = epsilon
        self.m = m
        self.random_state = random_state
        self.accountant = accountant
        check_params(self, self._params(), self._parameter_constraints)

    def _params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._parameter_constraints}

    def forward(self, data: Data) -> Data:
        check_params(self, self._params(), self._parameter_constraints)
        x = _float_features(getattr(data, "x", None))
        if x.size(0) == 0:
            raise InvalidParameterError("data.x must hold at least one node")
        lo, hi = x.min(dim=0).values, x.max(dim=0).values
        keep = hi > lo
        x = (x[:, keep] - lo[keep]) / (hi[keep] - lo[keep])
        if math.isinf(self.epsilon):  # raw features: an unbounded release, charged as such
            accountant = BudgetAccountant.load_default(self.accountant)
            budget_check(accountant, math.inf, 0.0)
            budget_spend(accountant, math.inf, 0.0)
        elif x.size(1) > 0:
            mech = MultiBit(
                epsilon=self.epsilon,
                alpha=0.0,
                beta=1.0,
                m=self.m,
                random_state=self.random_state,
                accountant=self.accountant,  # None: diffprivlib's default accountant
            )
            encoded = mech.randomise(x.detach().cpu().numpy())
            rectified = mech.rectify(encoded, dtype=np.float64)
            x = torch.from_numpy(rectified).to(device=x.device, dtype=x.dtype)
        data.x = x
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(epsilon={self.epsilon}, m={self.m!r})"


@functional_transform("label_perturbation")
class LabelPerturbation(BaseTransform):
    r"""Perturb the training and validation labels with k-ary randomized response (functional
    name: :obj:`label_perturbation`).

    Labels of nodes in ``train_mask`` or ``val_mask`` are released under
    :math:`\epsilon_y`-local DP by
    :class:`~ai4media_ext.privacy.mechanisms.GeneralizedRandomizedResponse`; every other label
    (the test nodes') is left untouched for evaluation. The mechanism's transition matrix
    :math:`T_{ij} = P(\tilde y = j \mid y = i)` is stored as ``data.transition_matrix``.

    Args:
        epsilon (float): label privacy budget :math:`\epsilon_y`, in (0, inf].
        num_classes (int, optional): number of classes (default: ``int(y.max()) + 1``).
        random_state (int, optional): seed for reproducible perturbation (default: OS CSPRNG).
        accountant (BudgetAccountant, optional): charged :math:`\epsilon_y` per call; default:
            diffprivlib's default accountant. Checked before anything is perturbed.

    Raises:
        InvalidParameterError: (a ``ValueError`` and ``TypeError``) for a bad parameter, or
            ``data.y`` that is not integer class indices in ``[0, num_classes)``.
        BudgetError: the accountant cannot afford :math:`\epsilon_y`.
    """

    _parameter_constraints = {
        "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "num_classes": [Interval(numbers.Integral, 2, None, closed="left"), None],
        "random_state": ["random_state"],
        "accountant": [BudgetAccountant, None],
    }

    def __init__(
        self,
        epsilon: float,
        *,
        num_classes: int | None = None,
        random_state: Any = None,
        accountant: BudgetAccountant | None = None,
    ) -> None:
        self.epsilon = epsilon
        self.num_classes = num_classes
        self.random_state = random_state
        self.accountant = accountant
        check_params(self, self._params(), self._parameter_constraints)

    def _params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._parameter_constraints}

    def forward(self, data: Data) -> Data:
        check_params(self, self._params(), self._parameter_constraints)
        for name in ("y", "train_mask", "val_mask"):
            if getattr(data, name, None) is None:
                raise InvalidParameterError(
                    f"data.{name} is required (add a split, e.g. RandomNodeSplit)"
                )
        if not isinstance(data.y, torch.Tensor) or data.y.dim() != 1:
            raise InvalidParameterError(
                f"data.y must be a 1-D tensor of class indices, got "
                f"{tuple(getattr(data.y, 'shape', ()))}"
            )
        if data.y.is_floating_point() or data.y.is_complex() or data.y.dtype == torch.bool:
            raise InvalidParameterError(
                f"data.y must hold integer class indices, got dtype {data.y.dtype}"
            )
        if data.y.numel() == 0:
            raise InvalidParameterError("data.y must hold at least one label")
        k = self.num_classes or max(2, int(data.y.max()) + 1)
        mech = GeneralizedRandomizedResponse(
            epsilon=self.epsilon,
            k=k,
            random_state=self.random_state,
            accountant=self.accountant,  # None: diffprivlib's default accountant
        )
        release = (data.train_mask | data.val_mask).cpu().numpy()
        y = data.y.cpu().numpy().copy()
        if y.min() < 0 or y.max() >= k:
            raise InvalidParameterError(
                f"data.y must hold class indices in [0, {k}), got [{y.min()}, {y.max()}]"
            )
        y[release] = mech.randomise(y[release])
        data.y = torch.from_numpy(y).to(data.y.device)
        data.transition_matrix = torch.from_numpy(mech.transition_matrix).float()
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(epsilon={self.epsilon})"
