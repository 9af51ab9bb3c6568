"""Concept measures against scikit-image's own functions on real images."""

import numpy as np
import pytest
from skimage import data as skdata
from skimage.feature import graycomatrix, graycoprops
from skimage.filters import threshold_otsu
from skimage.measure import perimeter, regionprops

from ai4media_ext.data import load_cifar10
from ai4media_ext.explainability.rcv import measures as M

PROPS = ("contrast", "dissimilarity", "homogeneity", "ASM", "energy", "correlation")


@pytest.fixture(scope="module")
def cifar(data_root):
    x, _ = load_cifar10("test", data_root)
    return x[:40]


def _reference(grey, prop, distance=1, mask=None):
    if mask is None:
        g = graycomatrix(grey, [distance], [0], 256, symmetric=True, normed=True)
        return graycoprops(g, prop)[0, 0]
    # rcvtool's masked texture: outside pixels get an extra grey level, then crop it away
    im = grey.astype(np.int64)
    im[~mask] = 256
    g = graycomatrix(im, [distance], [0], 257, symmetric=True, normed=False)[:256, :256]
    g = g.astype(float) / g.sum()
    return graycoprops(g, prop)[0, 0]


@pytest.mark.parametrize("prop", PROPS)
def test_texture_matches_skimage(cifar, prop):
    grey = M.to_gray_uint8(cifar)
    ours = M.texture(cifar, (prop,))[prop]
    ref = np.array([_reference(g, prop) for g in grey])
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("prop", PROPS)
def test_masked_texture_matches_rcvtool_construction(cifar, prop):
    grey = M.to_gray_uint8(cifar)
    masks = M.otsu_masks(cifar)
    ours = M.texture(cifar, (prop,), distance=5, mask=masks)[prop]
    ref = np.array([_reference(g, prop, 5, m) for g, m in zip(grey, masks, strict=True)])
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)


def test_texture_entropy_and_large_real_image():
    img = skdata.camera()  # 512 x 512 real photograph
    g = graycomatrix(img, [1], [0], 256, symmetric=True, normed=True)[:, :, 0, 0]
    expected = -(g[g > 0] * np.log2(g[g > 0])).sum()
    out = M.texture(img, ("entropy", "contrast"))
    assert out["entropy"][0] == pytest.approx(expected)
    assert out["contrast"][0] == pytest.approx(graycoprops(g[:, :, None, None], "contrast")[0, 0])


def test_otsu_and_region_match_skimage(cifar):
    grey = M.to_gray_uint8(cifar)
    masks = M.otsu_masks(cifar)
    for g, m in zip(grey, masks, strict=True):
        assert np.array_equal(m, g > threshold_otsu(g))
    reg = M.region(masks)
    for i, m in enumerate(masks):
        props = regionprops(m.astype(int))[0]
        assert reg["area"][i] == props.area
        assert reg["eccentricity"][i] == pytest.approx(props.eccentricity, abs=1e-9)
        assert reg["perimeter"][i] == pytest.approx(perimeter(m, 4))


def test_colour_measures_known_values():
    grey = np.full((1, 8, 8, 3), 128, np.uint8)
    orange = np.zeros((1, 8, 8, 3), np.uint8)
    orange[...] = (255, 128, 0)  # hue 30 deg = 15 on OpenCV's 0-180 scale
    assert M.colorfulness(grey)[0] == 0
    assert M.colorfulness(orange)[0] == pytest.approx(0.3 * np.hypot(127, 191.5))
    assert M.hue_share(orange, "orange")[0] == 1.0
    assert M.hue_share(grey, "orange")[0] == 0.0
    half = np.zeros((1, 8, 8), bool)
    half[:, :4] = True
    mixed = np.concatenate([orange[:, :4], grey[:, 4:]], axis=1)
    assert M.hue_share(mixed, "orange")[0] == 0.5
    assert M.hue_share(mixed, "orange", mask=half)[0] == 1.0


def test_color_statistics_whole_and_masked(cifar):
    from skimage.color import rgb2hsv

    stats = M.color_statistics(cifar)
    np.testing.assert_allclose(stats["red_mean"], cifar[..., 0].mean(axis=(1, 2)))
    np.testing.assert_allclose(stats["blue_std"], cifar[..., 2].std(axis=(1, 2)), atol=1e-9)
    hsv = rgb2hsv(cifar[0])
    assert stats["saturation_mean"][0] == pytest.approx(hsv[..., 1].mean())
    masks = M.otsu_masks(cifar)
    masked = M.color_statistics(cifar, mask=masks)
    assert masked["green_mean"][0] == pytest.approx(cifar[0][masks[0]][:, 1].mean())
    reg = M.region(masks)
    np.testing.assert_allclose(reg["scale"], masks.mean(axis=(1, 2)))


def test_real_photo_colour():
    coffee = skdata.coffee()[None]
    assert 0 < M.hue_share(coffee, "orange")[0] < 1
    assert (
        M.colorfulness(coffee)[0]
        > M.colorfulness(coffee.mean(-1, keepdims=True).repeat(3, -1).astype(np.uint8))[0]
    )


def test_bad_inputs():
    with pytest.raises(ValueError, match="properties"):
        M.texture(np.zeros((2, 4, 4), np.uint8), ("sharpness",))
    with pytest.raises(ValueError, match="distance"):
        M.texture(np.zeros((2, 4, 4), np.uint8), distance=4)
    with pytest.raises(ValueError, match="mask"):
        M.texture(np.zeros((2, 4, 4), np.uint8), mask=np.ones((2, 3, 3), bool))
    with pytest.raises(ValueError, match="colour"):
        M.hue_share(np.zeros((1, 4, 4, 3), np.uint8), "teal")
    with pytest.raises(ValueError, match="3 channels"):
        M.colorfulness(np.zeros((1, 4, 4, 4), np.uint8))
    with pytest.raises(TypeError, match="images"):
        M.colorfulness(np.full((1, 4, 4, 3), "a"))


# --- issue 15: every dtype computes on one scale, or is refused --------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float32, np.float64])
def test_measures_agree_across_dtypes(dtype):
    rng = np.random.default_rng(0)
    ubyte = rng.integers(0, 256, size=(2, 16, 16, 3)).astype(np.uint8)
    img = ubyte.astype(dtype) if np.issubdtype(dtype, np.integer) else (ubyte / 255.0).astype(dtype)
    ref_texture = M.texture(ubyte)["contrast"]
    ref_colour = M.colorfulness(ubyte)
    np.testing.assert_allclose(M.texture(img)["contrast"], ref_texture)
    np.testing.assert_allclose(M.colorfulness(img), ref_colour, rtol=1e-5)
    np.testing.assert_allclose(M.hue_share(img, "orange"), M.hue_share(ubyte, "orange"))


@pytest.mark.parametrize(
    "bad, error",
    [
        (np.full((1, 8, 8, 3), 200.0), ValueError),  # float in 0..255: refused, not mis-scaled
        (np.full((1, 8, 8, 3), np.nan), ValueError),
        (np.full((1, 8, 8, 3), 300), ValueError),
        (np.full((1, 8, 8, 3), 1 + 1j), TypeError),
    ],
)
def test_measures_refuse_values_off_the_scale(bad, error):
    with pytest.raises(error, match="images"):
        M.colorfulness(bad)
    with pytest.raises(error, match="images"):
        M.texture(bad)
