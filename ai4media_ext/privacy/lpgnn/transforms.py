"""LPGNN's local-DP transforms: multi-bit feature perturbation and k-RR label perturbation."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from diffprivlib.accountant import BudgetAccountant
from torch_geometric.data import Data
from torch_geometric.data.datapipes import functional_transform
from torch_geometric.transforms import BaseTransform

from ..mechanisms import GeneralizedRandomizedResponse, MultiBit


def _accountant(accountant: BudgetAccountant | None) -> BudgetAccountant:
    # Each transform call releases every node's data once (parallel composition over nodes).
    return accountant if accountant is not None else BudgetAccountant()


@functional_transform("feature_perturbation")
class FeaturePerturbation(BaseTransform):
    r"""Perturb node features with the multi-bit mechanism and rectify them (functional name:
    :obj:`feature_perturbation`).

    As in LPGNN, each feature column is first min-max normalised to :math:`[0, 1]` with the
    range taken from the data (constant columns are dropped), then every node's vector is
    encoded by :class:`~ai4media_ext.privacy.mechanisms.MultiBit` under
    :math:`\epsilon_x`-local DP and rectified to an unbiased estimate. ``epsilon=inf`` keeps the
    normalised raw features.

    Args:
        epsilon (float): feature privacy budget :math:`\epsilon_x` per node, in (0, inf].
        m (int or str, optional): features sampled per node (default ``"best"``, the paper's
            rule).
        random_state (int, optional): seed for reproducible perturbation (default: OS CSPRNG).
        accountant (BudgetAccountant, optional): charged :math:`\epsilon_x` per call.
    """

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
        if not math.isinf(float(epsilon)):
            MultiBit(epsilon=epsilon, m=m, accountant=BudgetAccountant())  # validate early

    def forward(self, data: Data) -> Data:
        x = data.x
        if x is None or x.dim() != 2:
            raise ValueError("data.x must be a 2-D node feature tensor")
        lo, hi = x.min(dim=0).values, x.max(dim=0).values
        keep = hi > lo
        x = (x[:, keep] - lo[keep]) / (hi[keep] - lo[keep])
        if not math.isinf(float(self.epsilon)):
            mech = MultiBit(
                epsilon=self.epsilon,
                alpha=0.0,
                beta=1.0,
                m=self.m,
                random_state=self.random_state,
                accountant=_accountant(self.accountant),
            )
            encoded = mech.randomise(x.cpu().numpy())
            x = torch.from_numpy(mech.rectify(encoded, dtype=np.float32)).to(data.x.device)
        data.x = x.to(data.x.dtype)
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
        accountant (BudgetAccountant, optional): charged :math:`\epsilon_y` per call.
    """

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
        GeneralizedRandomizedResponse(epsilon=epsilon, k=num_classes or 2)  # validate early

    def forward(self, data: Data) -> Data:
        for name in ("y", "train_mask", "val_mask"):
            if getattr(data, name, None) is None:
                raise ValueError(f"data.{name} is required (add a split, e.g. RandomNodeSplit)")
        k = self.num_classes or int(data.y.max()) + 1
        mech = GeneralizedRandomizedResponse(
            epsilon=self.epsilon,
            k=k,
            random_state=self.random_state,
            accountant=_accountant(self.accountant),
        )
        release = (data.train_mask | data.val_mask).cpu().numpy()
        y = data.y.cpu().numpy().copy()
        y[release] = mech.randomise(y[release])
        data.y = torch.from_numpy(y).to(data.y.device)
        data.transition_matrix = torch.from_numpy(mech.transition_matrix).float()
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(epsilon={self.epsilon})"
