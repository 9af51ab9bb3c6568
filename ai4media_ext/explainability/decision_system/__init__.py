"""Explaining decision systems built from several ML models combined by a policy tree
(seed §4.5): Alvarez's geometric explanation of the policy, per-model SHAP/LIME attributions,
and their combination, as a ``shap.Explainer`` (extra ``[xai]``)."""

from ._geometry import PolicyGeometry, policy_geometry
from ._policy import Leaf, Split, ThresholdTree
from ._system import DecisionSystem
from .evaluation import deletion_auc, rank_agreement, stability, topk_recall
from .explainer import DecisionSystemExplainer
from .lime_path import DecisionSystemLimeExplainer

__all__ = [
    "DecisionSystem",
    "DecisionSystemExplainer",
    "DecisionSystemLimeExplainer",
    "Leaf",
    "PolicyGeometry",
    "Split",
    "ThresholdTree",
    "deletion_auc",
    "policy_geometry",
    "rank_agreement",
    "stability",
    "topk_recall",
]
