"""Morpho-MNIST measures on hand-drawn strokes of known thickness and slant, and on real MNIST."""

import numpy as np
import pytest

from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.explainability.latent import MEASURES, morpho_measures


def _bar(width: int, shear: float = 0.0, top: int = 6, bottom: int = 22) -> np.ndarray:
    img = np.zeros((28, 28))
    for r in range(top, bottom):
        c = int(round(12 + shear * (bottom - 1 - r)))
        img[r, c : c + width] = 1.0
    return img


def test_known_strokes():
    imgs = np.stack([_bar(2), _bar(3), _bar(6), _bar(3, shear=0.5), _bar(3, shear=-0.5)])
    m = dict(zip(MEASURES, morpho_measures(imgs).T, strict=True))
    # thickness of 2, 3 and 6 px bars (the sub-pixel medial axis on the smoothed upscale)
    np.testing.assert_allclose(m["thickness"][:3], [2, 3, 6], atol=0.8)
    assert m["thickness"][0] < m["thickness"][1] < m["thickness"][2]
    # slant: upright 0, sheared by 0.5 px/row -> arctan(0.5) rightwards, and leftwards
    np.testing.assert_allclose(
        m["slant"][[1, 3, 4]], [0.0, np.arctan(0.5), -np.arctan(0.5)], atol=0.03
    )
    # height ~16 rows, length ~ bar length, area ~ width * 16
    np.testing.assert_allclose(m["height"][:3], 16, atol=1.0)
    np.testing.assert_allclose(m["area"][:3], [32, 48, 96], rtol=0.1)
    np.testing.assert_allclose(m["length"][1], 16, atol=2.5)
    # the sheared bar's parallelogram width is its stroke width, not its sheared extent
    assert m["width"][3] < 8


def test_shape_and_input_untouched():
    imgs = np.stack([_bar(3)] * 3)[:, None]  # (n, 1, H, W)
    before = imgs.copy()
    out = morpho_measures(imgs.astype(np.float32))
    assert out.shape == (3, 6) and out.dtype == np.float64
    np.testing.assert_array_equal(imgs, before)
    # identical images agree (the skeleton length to the medial axis' seeded tie-breaking)
    np.testing.assert_allclose(np.delete(out[0], 1), np.delete(out[2], 1))
    assert abs(out[0, 1] - out[2, 1]) < 0.5
    # integer (uint8-like) input gives the same measures
    np.testing.assert_allclose(morpho_measures((imgs * 255).astype(np.int64)), out, atol=1e-9)


def test_mnist_statistics(data_root):
    """On real MNIST digits the measures have the magnitudes Castro et al. report for MNIST
    (thickness about 2.5 px, height about 19-20 px)."""
    from ai4media_ext.data import load_mnist_test

    x, _ = load_mnist_test(data_root)
    m = morpho_measures(x[:300])
    means = dict(zip(MEASURES, m.mean(0), strict=True))
    assert 2.0 < means["thickness"] < 3.2
    assert 18.0 < means["height"] < 21.0
    assert 30.0 < means["length"] < 55.0
    assert abs(means["slant"]) < 0.2


@pytest.mark.parametrize(
    "images, kwargs, match",
    [
        (np.zeros((2, 28, 28)), {}, "constant image"),
        (np.full((1, 28, 28), np.nan), {}, "finite"),
        (np.zeros((28, 28)), {}, "dimensions"),
        (np.zeros((2, 3, 28, 28)), {}, "one channel"),
        (np.stack([_bar(3)]), {"threshold": 1.5}, "'threshold' parameter"),
        (np.stack([_bar(3)]), {"scale": 0}, "'scale' parameter"),
    ],
)
def test_bad_input(images, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        morpho_measures(images, **kwargs)
