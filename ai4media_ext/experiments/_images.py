"""Image splits shared by the robustness experiments: pixels in [0, 1], N x C x H x W."""

from __future__ import annotations

from typing import Any

import numpy as np


def digits_split(seed: int, n_train: int = 1400) -> tuple[str, Any, Any, Any, Any]:
    """scikit-learn's 8x8 digits (in the wheel), shuffled: 1400 train, 397 test."""
    from .. import data as loaders

    x, y = loaders.load_digits()
    x = (x / 16.0).astype(np.float32)[:, None]
    o = np.random.default_rng(seed).permutation(len(y))
    return "digits", x[o[:n_train]], y[o[:n_train]], x[o[n_train:]], y[o[n_train:]]


def mnist_split(root: Any, seed: int, n_train: int = 8000) -> tuple[str, Any, Any, Any, Any]:
    """The real MNIST test digits from the data root, shuffled: 8000 train, 2000 test."""
    from .. import data as loaders

    x, y = loaders.load_mnist_test(root)
    x = (x / 255.0).astype(np.float32)[:, None]
    o = np.random.default_rng(seed).permutation(len(y))
    return "mnist", x[o[:n_train]], y[o[:n_train]], x[o[n_train:]], y[o[n_train:]]
