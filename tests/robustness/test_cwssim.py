"""CW-SSIM against its known properties on real MNIST digits."""

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from ai4media_ext.data import load_mnist5000
from ai4media_ext.robustness.cwssim import cw_ssim


@pytest.fixture(scope="module")
def digits():
    x, _ = load_mnist5000()
    return torch.from_numpy(x[:16]).double() / 255


def _ssim(a, b):
    return np.mean(
        [
            structural_similarity(u.numpy(), v.numpy(), data_range=1.0)
            for u, v in zip(a, b, strict=True)
        ]
    )


def test_identity_is_one(digits):
    torch.testing.assert_close(cw_ssim(digits, digits), torch.ones(16, dtype=torch.float64))


def test_symmetric_and_bounded(digits):
    noisy = digits + 0.1 * torch.randn(
        digits.shape, generator=torch.Generator().manual_seed(0), dtype=digits.dtype
    )
    a, b = cw_ssim(digits, noisy), cw_ssim(noisy, digits)
    torch.testing.assert_close(a, b)
    assert ((a > 0) & (a < 1)).all()


def test_small_translation_hurts_cw_ssim_less_than_ssim(digits):
    shifted = torch.roll(digits, 1, dims=2)
    cw = cw_ssim(digits, shifted).mean().item()
    assert cw > 0.9
    assert 1 - cw < 0.5 * (1 - _ssim(digits, shifted))


def test_monotone_in_noise(digits):
    g = torch.Generator().manual_seed(1)
    noise = torch.randn(digits.shape, generator=g, dtype=digits.dtype)
    values = [
        cw_ssim(digits, digits + s * noise).mean().item() for s in (0.01, 0.05, 0.1, 0.2, 0.4)
    ]
    assert all(a > b for a, b in zip(values, values[1:], strict=False))


def test_differentiable_and_rgb(digits):
    x = (digits + 0.05).clone().requires_grad_()
    cw_ssim(digits, x).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    rgb = digits[:, None].repeat(1, 3, 1, 1)
    torch.testing.assert_close(cw_ssim(rgb, rgb), torch.ones(16, dtype=torch.float64))


def test_bad_input(digits):
    with pytest.raises(ValueError, match="same shape"):
        cw_ssim(digits, digits[:2])
    with pytest.raises(ValueError, match="window"):
        cw_ssim(digits[:, :4, :4], digits[:, :4, :4])


# --- issue 15: dtypes ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_float_dtypes_kept(dtype):
    x = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0)).to(dtype)
    out = cw_ssim(x, x)
    assert out.dtype == dtype and torch.allclose(out, torch.ones(2, dtype=dtype))


def test_integer_and_non_finite_images_refused():
    x = torch.ones(2, 1, 16, 16, dtype=torch.int64)
    with pytest.raises(TypeError, match="x must be a floating-point"):
        cw_ssim(x, x)
    nan = torch.full((2, 1, 16, 16), float("nan"))
    with pytest.raises(ValueError, match="y must be finite"):
        cw_ssim(torch.zeros_like(nan), nan)
