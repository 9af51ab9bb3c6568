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


def cifar10_split(root: Any, seed: int) -> tuple[str, Any, Any, Any, Any]:
    """CIFAR-10 from the JPEG zips: the 10k training subset and the 10k test images, each
    shuffled (the zips are ordered by class, so any unshuffled prefix holds a single class)."""
    from .. import data as loaders

    x_tr, y_tr = loaders.load_cifar10("train", root)
    x_te, y_te = loaders.load_cifar10("test", root)
    rng = np.random.default_rng(seed)
    o, t = rng.permutation(len(y_tr)), rng.permutation(len(y_te))

    def scaled(x: np.ndarray) -> np.ndarray:
        return (x / 255.0).astype(np.float32).transpose(0, 3, 1, 2)

    return "cifar10", scaled(x_tr[o]), y_tr[o], scaled(x_te[t]), y_te[t]
