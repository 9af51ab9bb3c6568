"""Metrics of a backdoored generator: TarFid, ExpDist (seed §3.3.3) and a Fréchet distance in the
feature space of a classifier trained on the same real data."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch
from scipy import linalg
from torch import nn

from ..._validation import Interval, InvalidParameterError, check_params
from ...zoo.training import train_epochs
from ._base import check_trigger_target
from .estimators import PyTorchGenerator

__all__ = [
    "FeatureClassifier",
    "expected_distortion",
    "frechet_distance",
    "generator_frechet_distance",
    "target_fidelity",
    "train_feature_classifier",
]


def target_fidelity(generator: PyTorchGenerator, z_trigger: Any, x_target: Any) -> float:
    """TarFid: ``||G*(z_trigger_i) - x_target_i||^2`` (sum over the sample's elements), averaged
    over the triggers; in squared output units (for ``[-1, 1]`` images of ``d`` pixels at most
    ``4 d``). ART's ``fidelity`` is this divided by ``d``.

    :raises InvalidParameterError: a trigger of the wrong length or a target of the wrong shape.
    """
    z, x = check_trigger_target(generator, z_trigger, x_target)
    out = generator.predict(z).astype(np.float64)
    return float(np.mean(np.sum((out - x).reshape(len(z), -1) ** 2, axis=1)))


def expected_distortion(
    poisoned: PyTorchGenerator,
    benign: PyTorchGenerator,
    n_samples: int = 1000,
    batch_size: int = 256,
    random_state: Any = 0,
) -> float:
    """ExpDist: ``E_z ||G*(z) - G(z)||^2`` over ``n_samples`` benign codes ``z ~ N(0, I)`` (sum over
    each sample's elements, mean over ``z``); 0 for an unchanged generator.

    :raises InvalidParameterError: generators with different latent lengths or output shapes.
    """
    check_params(
        "expected_distortion",
        {"n_samples": n_samples, "batch_size": batch_size, "random_state": random_state},
        {
            "n_samples": [Interval(numbers.Integral, 1, None, closed="left")],
            "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
            "random_state": ["random_state"],
        },
    )
    if poisoned.encoding_length != benign.encoding_length:
        raise InvalidParameterError("poisoned and benign generators have different latent lengths")
    rng = np.random.default_rng(random_state)
    z = rng.standard_normal((n_samples, benign.encoding_length)).astype(np.float32)
    a = poisoned.predict(z, batch_size=batch_size).astype(np.float64)
    b = benign.predict(z, batch_size=batch_size).astype(np.float64)
    if a.shape != b.shape:
        raise InvalidParameterError(f"output shapes differ: {a.shape[1:]} vs {b.shape[1:]}")
    return float(np.mean(np.sum((a - b).reshape(n_samples, -1) ** 2, axis=1)))


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017, eq. 6):
    ``||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^{1/2})``.

    :param features_a: float ``(n_a, d)``, ``n_a >= 2``.
    :param features_b: float ``(n_b, d)``.
    :raises InvalidParameterError: fewer than two rows, different widths, NaN or inf.
    """
    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise InvalidParameterError(
            f"features must be (n, d) arrays with n >= 2 and equal d, got {a.shape} and {b.shape}"
        )
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise InvalidParameterError("features must be finite")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # Tr (S_a S_b)^{1/2} = sum sqrt(eig(S_a^{1/2} S_b S_a^{1/2})): symmetric PSD, so eigh is
    # stable where sqrtm of the non-symmetric product warns on singular (dead-ReLU) features
    w, v = linalg.eigh(cov_a)
    root_a = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    eig = linalg.eigvalsh(root_a @ cov_b @ root_a)
    tr_covmean = float(np.sum(np.sqrt(np.clip(eig, 0.0, None))))
    value = float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * tr_covmean)
    return max(value, 0.0)


class FeatureClassifier(nn.Module):
    """Small CNN classifier ``(N, C, H, W)`` in ``[-1, 1]`` -> logits; :meth:`features` gives the
    ``feature_dim``-d penultimate layer (the space of the Fréchet distance and of the detector)."""

    def __init__(
        self, image_shape: tuple[int, int, int], n_classes: int = 10, feature_dim: int = 64
    ):
        super().__init__()
        c, h, w = image_shape
        self.body = nn.Sequential(
            nn.Conv2d(c, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(32 * 16, feature_dim),
            nn.ReLU(),
        )
        self.head = nn.Linear(feature_dim, n_classes)
        self.num_features = feature_dim

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def train_feature_classifier(
    x: np.ndarray, y: np.ndarray, epochs: int = 3, batch_size: int = 64, seed: int = 0
) -> tuple[FeatureClassifier, float]:
    """Train a :class:`FeatureClassifier` (Adam 1e-3, cross-entropy) on real images ``x``
    float32 ``(N, C, H, W)`` in ``[-1, 1]`` with labels ``y`` ``(N,)``; returns it (``eval()``)
    and its training accuracy."""
    torch.manual_seed(seed)
    x_t = torch.as_tensor(np.asarray(x, dtype=np.float32))
    y_t = torch.as_tensor(np.asarray(y, dtype=np.int64))
    net = FeatureClassifier(tuple(x_t.shape[1:]), int(y_t.max()) + 1)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    train_epochs(net, x_t, y_t, opt, epochs=epochs, batch_size=batch_size, generator=gen)
    net.eval()
    with torch.no_grad():
        acc = float((net(x_t).argmax(1) == y_t).float().mean())
    return net, acc


def _features(net: nn.Module, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    net.eval()
    with torch.no_grad():
        return np.concatenate(
            [
                net.features(torch.as_tensor(x[s : s + batch_size])).numpy()
                for s in range(0, len(x), batch_size)
            ]
        )


def generator_frechet_distance(
    generator: PyTorchGenerator,
    x_real: np.ndarray,
    feature_net: nn.Module,
    n_samples: int = 2000,
    random_state: Any = 0,
) -> float:
    """Fréchet distance between ``n_samples`` generated and real samples in the feature space
    of ``feature_net`` (its ``features`` method), e.g. "FID_MNIST-CNN"; not comparable with
    Inception FIDs."""
    rng = np.random.default_rng(random_state)
    z = rng.standard_normal((n_samples, generator.encoding_length)).astype(np.float32)
    fake = generator.predict(z)
    real = np.asarray(x_real, dtype=np.float32)[:n_samples]
    return frechet_distance(_features(feature_net, fake), _features(feature_net, real))
