"""Robustness: ART attacks, defences/trainers, estimators and metrics (host: ART, extra ``[art]``).

The ART- and torch-backed names load on first use, so importing this package stays light.
"""

from .._compat import lazy_exports
from .metrics import k_anonymity_satisfied, rank_pmf, true_label_ranks

__all__ = [
    "CenterLoss",
    "CenterLossTrainer",
    "HCPLoss",
    "HCPTrainer",
    "KAnonymityAttack",
    "PCLTrainer",
    "PrototypeConformityLoss",
    "cw_ssim",
    "k_anonymity_satisfied",
    "rank_pmf",
    "true_label_ranks",
]

_LAZY = {
    "CenterLoss": "hcp",
    "CenterLossTrainer": "hcp",
    "HCPLoss": "hcp",
    "HCPTrainer": "hcp",
    "KAnonymityAttack": "kanonymity",
    "PCLTrainer": "hcp",
    "PrototypeConformityLoss": "hcp",
    "cw_ssim": "cwssim",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
