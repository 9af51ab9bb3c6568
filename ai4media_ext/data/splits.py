"""Image splits shared by experiments, apps, tests and benchmarks, and the one place that scales
pixels: every split returns float32 pixels in [0, 1], channels first (N x C x H x W)."""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from .._validation import InvalidParameterError, check_array
from .images import load_cifar10, load_digits, load_mnist_test

__all__ = ["ImageSplit", "cifar10_split", "digits_split", "mnist_split", "scale_pixels"]


class ImageSplit(NamedTuple):
    """A named train/test split (a tuple: ``name, x_train, y_train, x_test, y_test``).

    ``x_*`` are float32 ``(N, C, H, W)`` pixels in [0, 1]; ``y_*`` int64 ``(N,)`` class indices.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def scale_pixels(x: np.ndarray, max_value: float = 255.0) -> np.ndarray:
    """Pixels as float32 in [0, 1], channels first.

    Parameters
    ----------
    x : numpy.ndarray
        ``(N, H, W)`` grey images (a channel axis is added) or ``(N, H, W, C)`` colour images
        (moved to ``(N, C, H, W)``, a view), values in ``[0, max_value]``.
    max_value : float, default 255.0
        The value of a white pixel (255 for uint8 images, 16 for scikit-learn's digits).

    Returns
    -------
    numpy.ndarray
        float32 ``(N, 1, H, W)`` or ``(N, C, H, W)``, computed as ``float32(x / max_value)``
        (the division in float64, so every experiment's numbers stay bit-identical); a new array,
        ``x`` is not modified.

    Raises
    ------
    InvalidParameterError
        ``x`` not 3-d or 4-d, or ``max_value`` not > 0.
    """
    x = np.asarray(x)
    check_array(x, name="x", ndim=(3, 4), dtype=x.dtype)  # validates without a copy
    if not max_value > 0:
        raise InvalidParameterError(f"max_value must be > 0, got {max_value!r}")
    scaled = (x / max_value).astype(np.float32)
    return scaled[:, None] if scaled.ndim == 3 else scaled.transpose(0, 3, 1, 2)


def _shuffled(x: np.ndarray, y: np.ndarray, seed: int, n_train: int, name: str) -> ImageSplit:
    o = np.random.default_rng(seed).permutation(len(y))
    return ImageSplit(name, x[o[:n_train]], y[o[:n_train]], x[o[n_train:]], y[o[n_train:]])


def digits_split(seed: int, n_train: int = 1400) -> ImageSplit:
    """scikit-learn's 1797 real 8x8 digits (in the wheel), shuffled with ``seed``: ``n_train``
    (default 1400) train, the rest (397) test; pixels ``(N, 1, 8, 8)``."""
    x, y = load_digits()
    return _shuffled(scale_pixels(x, 16.0), y, seed, n_train, "digits")


def mnist_split(root: str | os.PathLike[str] | None, seed: int, n_train: int = 8000) -> ImageSplit:
    """The 10,000 real MNIST test digits from the data root, shuffled with ``seed``: ``n_train``
    (default 8000) train, 2000 test; pixels ``(N, 1, 28, 28)``.

    Raises
    ------
    DataNotFoundError
        The MNIST files are not under the data root (the error names them).
    """
    x, y = load_mnist_test(root)
    return _shuffled(scale_pixels(x), y, seed, n_train, "mnist")


def cifar10_split(root: str | os.PathLike[str] | None, seed: int) -> ImageSplit:
    """CIFAR-10 from the JPEG zips: the 10k training subset and the 10k test images, each
    shuffled (the zips are ordered by class, so any unshuffled prefix holds a single class);
    pixels ``(N, 3, 32, 32)``.

    Raises
    ------
    DataNotFoundError
        A CIFAR-10 zip is not under the data root.
    """
    x_tr, y_tr = load_cifar10("train", root)
    x_te, y_te = load_cifar10("test", root)
    rng = np.random.default_rng(seed)
    o, t = rng.permutation(len(y_tr)), rng.permutation(len(y_te))
    return ImageSplit("cifar10", scale_pixels(x_tr[o]), y_tr[o], scale_pixels(x_te[t]), y_te[t])
