"""Robustness: ART attacks, defences/trainers, estimators and metrics (host: ART, extra ``[art]``):
K-A3, HCP and its baselines, ``RobustnessEvaluation`` (attack battery + gradient-masking checks), DGM backdoors (``dgm``), MetaAttack on retrieval (``metaattack``).

The ART- and torch-backed names load on first use, so importing this package stays light.
"""

from .._compat import lazy_exports
from .metrics import k_anonymity_satisfied, rank_pmf, true_label_ranks

__all__ = [
    "BackdoorAttackDGMReDPyTorch",
    "BackdoorAttackDGMReXPyTorch",
    "BackdoorAttackDGMTrailPyTorch",
    "CenterLoss",
    "CenterLossTrainer",
    "cw_ssim",
    "ExpandedGenerator",
    "expected_distortion",
    "frechet_distance",
    "GeneratorBackdoorDetector",
    "HCPLiteralLoss",
    "HCPLiteralTrainer",
    "HCPLoss",
    "HCPTrainer",
    "inspect_architecture",
    "k_anonymity_satisfied",
    "KAnonymityAttack",
    "mean_ap_cmc",
    "MergedUAPRetrieval",
    "MetaAttack",
    "PCLTrainer",
    "PrototypeConformityLoss",
    "PyTorchGAN",
    "PyTorchGenerator",
    "PyTorchRetrievalEstimator",
    "rank_pmf",
    "RobustnessEvaluation",
    "target_fidelity",
    "true_label_ranks",
    "UAPRetrieval",
]

_LAZY = {
    "CenterLoss": "hcp",
    "CenterLossTrainer": "hcp",
    "HCPLiteralLoss": "hcp",
    "HCPLiteralTrainer": "hcp",
    "HCPLoss": "hcp",
    "RobustnessEvaluation": "evaluation",
    "HCPTrainer": "hcp",
    "KAnonymityAttack": "kanonymity",
    "PCLTrainer": "hcp",
    "PrototypeConformityLoss": "hcp",
    "cw_ssim": "cwssim",
    "BackdoorAttackDGMReDPyTorch": "dgm",
    "BackdoorAttackDGMReXPyTorch": "dgm",
    "BackdoorAttackDGMTrailPyTorch": "dgm",
    "ExpandedGenerator": "dgm",
    "GeneratorBackdoorDetector": "dgm",
    "PyTorchGAN": "dgm",
    "PyTorchGenerator": "dgm",
    "expected_distortion": "dgm",
    "frechet_distance": "dgm",
    "inspect_architecture": "dgm",
    "target_fidelity": "dgm",
    "MergedUAPRetrieval": "metaattack",
    "MetaAttack": "metaattack",
    "PyTorchRetrievalEstimator": "metaattack",
    "UAPRetrieval": "metaattack",
    "mean_ap_cmc": "metaattack",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
