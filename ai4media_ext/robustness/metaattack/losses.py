"""MetaAttack's losses on k-means pseudo-labels and its momentum sign update (Yang et al., AAAI'21).

Torch only; see :mod:`.attack` for the ART attack that uses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["PseudoLabels", "pseudo_labels", "retrieval_uap_loss", "mi_sgd_direction"]


@dataclass
class PseudoLabels:
    """k-means centroids of one domain and, per clean sample, its three centroid indices.

    ``centroids`` (k, d) unit rows; ``label`` = most similar centroid (the pseudo-label, also the
    triplet's negative), ``farthest`` = least similar centroid (the triplet's positive).
    """

    centroids: torch.Tensor
    label: torch.Tensor
    farthest: torch.Tensor


def pseudo_labels(
    features: np.ndarray, n_clusters: int, random_state: Any, device: Any
) -> PseudoLabels:
    """k-means (scikit-learn, 20 Lloyd iterations as the authors' faiss call) on clean unit
    features ``(n, d)``; scores = centroids . f give the pseudo-label and the farthest centroid."""
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=n_clusters, n_init=1, max_iter=20, random_state=random_state)
    km.fit(features.astype(np.float64))
    cents = F.normalize(torch.as_tensor(km.cluster_centers_, dtype=torch.float32), dim=1)
    scores = torch.as_tensor(features, dtype=torch.float32) @ cents.T
    return PseudoLabels(cents.to(device), scores.argmax(1).to(device), scores.argmin(1).to(device))


def retrieval_uap_loss(
    features: torch.Tensor,
    idx: torch.Tensor,
    labels: PseudoLabels,
    margin: float,
    pair_weight: float,
) -> torch.Tensor:
    """Pair-wise + label-wise loss of perturbed features ``(b, d)`` (un-normalised) of the
    samples ``idx``, to be *minimised* by the perturbation (methods.md §2.3):

    * pair: ``pair_weight * TripletMargin(anchor = unit f(x + delta), positive = the clean image's
      least similar centroid, negative = its most similar centroid, margin)`` — push the
      perturbed feature towards the farthest cluster and away from its own;
    * label: ``ReLU(mean_b s_label - mean_b max_{j != label} s_j)`` with ``s = centroids . f``
      on the un-normalised perturbed feature (a CW-style margin on centroid scores).
    """
    cents = labels.centroids.to(features.dtype)
    lab, far = labels.label[idx], labels.farthest[idx]
    anchor = F.normalize(features, dim=1)
    pair = F.triplet_margin_loss(anchor, cents[far], cents[lab], margin=margin)
    scores = features @ cents.T
    own = scores.gather(1, lab[:, None])[:, 0]
    other = scores.scatter(1, lab[:, None], float("-inf")).max(dim=1).values
    return pair_weight * pair + F.relu(own.mean() - other.mean())


def mi_sgd_direction(grad: torch.Tensor, buffer: torch.Tensor, momentum: float) -> torch.Tensor:
    """MI-SGD's momentum buffer after one gradient: ``mu * buffer + grad / ||grad||_1``
    (the authors' ``MI_SGD``); the step is ``-lr * sign(buffer)``."""
    return momentum * buffer + grad / grad.abs().sum().clamp_min(1e-12)
