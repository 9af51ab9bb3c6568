"""Hyperspherical Class Prototypes (HCP, Mygdalis & Pitas, Pattern Recognition 2022) as an ART
training defence, with the centre-loss and prototype-conformity-loss baselines.

``losses`` holds the per-layer loss modules (:class:`HCPLoss`, :class:`CenterLoss`,
:class:`PrototypeConformityLoss`), ``trainers`` the ART ``Trainer`` subclasses that add them to
the cross-entropy through forward hooks (:class:`HCPTrainer`, :class:`CenterLossTrainer`,
:class:`PCLTrainer`), ``literal`` the variant exactly as printed in the seed
(:class:`HCPLiteralLoss`, :class:`HCPLiteralTrainer`). ``ai4media_ext.robustness.hcp`` keeps re-exporting every name.
"""

from .literal import HCPLiteralLoss, HCPLiteralTrainer
from .losses import CenterLoss, HCPLoss, PrototypeConformityLoss
from .trainers import CenterLossTrainer, HCPTrainer, PCLTrainer

__all__ = [
    "CenterLoss",
    "CenterLossTrainer",
    "HCPLiteralLoss",
    "HCPLiteralTrainer",
    "HCPLoss",
    "HCPTrainer",
    "PCLTrainer",
    "PrototypeConformityLoss",
]
