"""A small DCGAN trained on scikit-learn's real 8x8 digits, shared by the DGM tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ai4media_ext.data import load_digits
from ai4media_ext.robustness.dgm import PyTorchGenerator
from ai4media_ext.zoo.dcgan import to_tanh_range, train_dcgan


@pytest.fixture(scope="package")
def digits() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_digits()
    return to_tanh_range(x, 16.0), y


@pytest.fixture(scope="package")
def trained(digits):
    torch.set_num_threads(1)
    gen, disc = train_dcgan(digits[0], "digits", epochs=2, batch_size=64, seed=0)
    return gen, disc


@pytest.fixture
def generator(trained) -> PyTorchGenerator:
    return PyTorchGenerator(32, trained[0], device_type="cpu")


@pytest.fixture
def trigger_target() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    z = rng.standard_normal((2, 32)).astype(np.float32)
    diag = np.where(np.eye(8) > 0, 1.0, -1.0)[None]
    x = np.stack([diag, -diag]).astype(np.float32)
    return z, x
