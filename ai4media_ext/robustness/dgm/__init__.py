"""Backdoors in deep generative models for PyTorch ART users (seed §3.3, Rawat et al. 2022).

- :class:`PyTorchGenerator`, :class:`PyTorchGAN`: ART estimators (``GeneratorMixin`` +
  ``PyTorchEstimator``), the PyTorch counterparts of ART's ``TensorFlowV2Generator`` / ``GAN``.
- :class:`BackdoorAttackDGMTrailPyTorch` (TrAIL / MOA), :class:`BackdoorAttackDGMReDPyTorch`
  (ReD), :class:`BackdoorAttackDGMReXPyTorch` (ReX, with :class:`ExpandedGenerator`): ART
  ``PoisoningAttackGenerator`` subclasses.
- Metrics :func:`target_fidelity` (TarFid), :func:`expected_distortion` (ExpDist),
  :func:`frechet_distance` in a classifier's feature space.
- Defence :class:`GeneratorBackdoorDetector` (latent-space search) and
  :func:`inspect_architecture` (static check against a reference).
"""

from ..._compat import require

require("torch", "art")
require("art", "art")

from .detector import DetectionResult, GeneratorBackdoorDetector, inspect_architecture  # noqa: E402
from .estimators import PyTorchGAN, PyTorchGenerator  # noqa: E402
from .metrics import (  # noqa: E402
    FeatureClassifier,
    expected_distortion,
    frechet_distance,
    generator_frechet_distance,
    target_fidelity,
    train_feature_classifier,
)
from .red import BackdoorAttackDGMReDPyTorch  # noqa: E402
from .rex import BackdoorAttackDGMReXPyTorch, ExpandedGenerator  # noqa: E402
from .trail import BackdoorAttackDGMTrailPyTorch  # noqa: E402

__all__ = [
    "BackdoorAttackDGMReDPyTorch",
    "BackdoorAttackDGMReXPyTorch",
    "BackdoorAttackDGMTrailPyTorch",
    "DetectionResult",
    "ExpandedGenerator",
    "FeatureClassifier",
    "GeneratorBackdoorDetector",
    "PyTorchGAN",
    "PyTorchGenerator",
    "expected_distortion",
    "frechet_distance",
    "generator_frechet_distance",
    "inspect_architecture",
    "target_fidelity",
    "train_feature_classifier",
]
