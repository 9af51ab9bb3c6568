"""Disentangled GAN controls: attribute directions in a latent space (seed §4.6).

- :class:`LatentDirections`: InterFaceGAN's SVM normal or multi-attribute balanced centroid
  directions, editing and conditional manipulation (Doubinsky et al., PRL 2022).
- :func:`morpho_measures`: Morpho-MNIST morphometrics of digit images (Castro et al., JMLR 2019),
  vectorised, used as attributes of generated digits.
"""

from .directions import LatentDirections, project_out
from .morpho import MEASURES, morpho_measures
from .sampling import (
    balanced_indices,
    combination_codes,
    confident_mask,
    sequential_balanced_indices,
)

__all__ = [
    "LatentDirections",
    "project_out",
    "MEASURES",
    "morpho_measures",
    "balanced_indices",
    "combination_codes",
    "confident_mask",
    "sequential_balanced_indices",
]
