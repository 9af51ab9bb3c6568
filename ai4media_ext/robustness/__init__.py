"""Robustness: ART attacks, defences/trainers, estimators and metrics (host: ART, extra ``[art]``).

The ART- and torch-backed names load on first use, so importing this package stays light.
"""

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


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
