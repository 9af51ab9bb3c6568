"""MetaAttack (Yang et al., AAAI'21): universal perturbations against retrieval models, in ART.

``PyTorchRetrievalEstimator`` (an ART estimator for embedding models), the attacks
``MetaAttack``, ``UAPRetrieval`` and ``MergedUAPRetrieval``, and re-ID evaluation
(``mean_ap_cmc``, ``euclidean_distances``).
"""

from .attack import MergedUAPRetrieval, MetaAttack, UAPRetrieval
from .estimator import PyTorchRetrievalEstimator, squared_distance_loss
from .metrics import euclidean_distances, mean_ap_cmc

__all__ = [
    "MergedUAPRetrieval",
    "MetaAttack",
    "PyTorchRetrievalEstimator",
    "UAPRetrieval",
    "euclidean_distances",
    "mean_ap_cmc",
    "squared_distance_loss",
]
