"""Disentangled GAN controls: attribute directions in a latent space (seed §4.6).

- :class:`LatentDirections`: InterFaceGAN's SVM normal or multi-attribute balanced centroid
  directions, editing and conditional manipulation (Doubinsky et al., PRL 2022).
- :func:`morpho_measures`: Morpho-MNIST morphometrics of digit images (Castro et al., JMLR 2019),
  vectorised, used as attributes of generated digits.
"""

from ..._compat import require

require("sklearn", "xai")
require("skimage", "xai")

from .directions import LatentDirections, project_out  # noqa: E402
from .morpho import MEASURES, morpho_measures  # noqa: E402
from .sampling import (  # noqa: E402
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
