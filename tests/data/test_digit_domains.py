"""Digit domains: font-rendered (virtual), MNIST-M style blends, upscaled scikit-learn digits."""

import numpy as np
import pytest

from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.data import DataNotFoundError
from ai4media_ext.data import digit_domains as dd


def test_font_digits_are_seeded_balanced_rgb():
    x, y, font = dd.font_digits(60, random_state=3)
    assert x.shape == (60, 3, 28, 28) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_array_equal(np.bincount(y, minlength=10), 6)
    assert font.min() >= 0 and font.max() < len(dd.FONT_FILES)
    x2, y2, f2 = dd.font_digits(60, random_state=3)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    x3, _, _ = dd.font_digits(60, random_state=4)
    assert not np.array_equal(x, x3)
    # a digit is drawn: more spread than a flat colour plus noise
    assert np.all(x.reshape(60, -1).std(1) > 0.04)  # noise alone: 6/255 = 0.024


def test_font_digits_bad_parameters_and_missing_font(tmp_path, monkeypatch):
    with pytest.raises(InvalidParameterError, match="'n'"):
        dd.font_digits(0)
    monkeypatch.setattr(dd, "font_dir", lambda: tmp_path)
    with pytest.raises(DataNotFoundError, match="DejaVuSans.ttf"):
        dd.font_digits(5, random_state=0)


def test_mnist_m_blend_is_absolute_difference():
    digits = np.array([[[0, 255], [10, 200]]], dtype=np.uint8)
    bg = np.arange(12, dtype=np.uint8).reshape(1, 2, 2, 3) * 20
    d0, b0 = digits.copy(), bg.copy()
    out = dd.mnist_m(digits, bg, random_state=0)
    expected = np.abs(bg[0].transpose(2, 0, 1).astype(int) - digits[0][None].astype(int)) / 255
    np.testing.assert_allclose(out[0], expected, atol=1e-7)
    np.testing.assert_array_equal(digits, d0)
    np.testing.assert_array_equal(bg, b0)
    rng_bg = np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    a = dd.mnist_m(np.repeat(digits, 4, 0), rng_bg, random_state=1)  # random crops, seeded
    np.testing.assert_array_equal(a, dd.mnist_m(np.repeat(digits, 4, 0), rng_bg, random_state=1))
    with pytest.raises(InvalidParameterError, match="at least as large"):
        dd.mnist_m(np.zeros((1, 3, 3), np.uint8), bg)
    with pytest.raises(InvalidParameterError, match="backgrounds"):
        dd.mnist_m(digits, bg[..., 0])


def test_upscaled_digits():
    x, y = dd.upscaled_digits()
    assert x.shape == (1797, 3, 28, 28) and y.shape == (1797,)
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.9
    np.testing.assert_array_equal(x[:, 0], x[:, 2])


def test_gray_to_rgb():
    g = np.array([[[0, 255]]], np.uint8)
    np.testing.assert_allclose(dd.gray_to_rgb(g), [[[[0, 1]]] * 3])


def test_photo_backgrounds_are_in_wheel_tiles(monkeypatch):
    import skimage.data

    b = dd.photo_backgrounds()
    assert b.shape == (206, 32, 32, 3) and b.dtype == np.uint8 and b.std() > 20
    # at full size, the first tile is the top-left corner of the astronaut photograph
    assert dd.photo_backgrounds(tile=16, scale=1.0)[0].tolist() == (
        skimage.data.astronaut()[:16, :16].tolist()
    )
    with pytest.raises(InvalidParameterError):
        dd.photo_backgrounds(tile=4)

    def missing():
        raise ModuleNotFoundError("requires pooch")

    monkeypatch.setattr(skimage.data, "chelsea", missing)
    with pytest.raises(DataNotFoundError, match="chelsea"):
        dd.photo_backgrounds()
