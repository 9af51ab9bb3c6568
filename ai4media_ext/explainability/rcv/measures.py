"""Concept measures for Regression Concept Vectors, vectorised over image batches.

Texture (Haralick statistics of the grey-level co-occurrence matrix, as scikit-image's
``graycomatrix``/``graycoprops``), colour (colorfulness, hue-range shares as in rcvtool) and
region measures (area, perimeter, eccentricity of a mask, as ``skimage.measure.regionprops``),
each on whole images or restricted to masks. Images are ``(N, H, W)`` grey or ``(N, H, W, 3)``
RGB arrays; every function returns one value per image.

Pixel values follow scikit-image's dtype conventions (``skimage.util.img_as_ubyte``): integer
images hold 0..255 (values outside raise ``ValueError``), float images hold intensities in
[0, 1] and are scaled to 0..255; NaN/inf or floats outside [0, 1] raise ``ValueError`` naming
``images``, so a float image in 0..255 is refused instead of silently mis-scaled.
"""

from __future__ import annotations

from typing import Any

import numpy as np

TEXTURE_PROPERTIES = (
    "contrast",
    "dissimilarity",
    "homogeneity",
    "ASM",
    "energy",
    "correlation",
    "entropy",
)
# OpenCV hue ranges (0-180 scale) used by rcvtool's colour measures; red wraps around.
HUE_RANGES = {
    "red": (165, 10),
    "orange": (10, 25),
    "yellow": (25, 40),
    "green": (40, 75),
    "cyan": (75, 100),
    "blue": (100, 125),
    "purple": (125, 145),
    "magenta": (145, 165),
}


def _batch(images: Any, ndim: int, name: str = "images") -> np.ndarray:
    arr = np.asarray(images)
    if arr.ndim == ndim - 1:
        arr = arr[None]
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim - 1} or {ndim} dimensions, got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    return arr


def _ubyte_scale(arr: np.ndarray, name: str = "images") -> np.ndarray:
    """Pixel values on the 0..255 scale (float64 for floats, the input for integer dtypes)."""
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} must be real pixel values, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite (no NaN or inf)")
        if arr.size and (arr.min() < 0 or arr.max() > 1):
            raise ValueError(
                f"float {name} must hold intensities in [0, 1] (scikit-image's convention), got "
                f"[{arr.min():.4g}, {arr.max():.4g}]; pass uint8 for 0..255 values"
            )
        return arr.astype(np.float64) * 255.0
    if arr.size and (arr.min() < 0 or arr.max() > 255):
        raise ValueError(f"integer {name} must hold 0..255, got [{arr.min()}, {arr.max()}]")
    return arr


def to_gray_uint8(images: Any) -> np.ndarray:
    """RGB ``(N, H, W, 3)`` (or grey ``(N, H, W)``) to grey uint8 with ITU-R 601 weights."""
    arr = _ubyte_scale(np.asarray(images))
    if arr.ndim == 4 and arr.shape[-1] == 3:
        arr = arr.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    return np.clip(np.rint(arr), 0, 255).astype(np.uint8)


def texture(
    images: Any,
    properties: tuple[str, ...] = TEXTURE_PROPERTIES,
    distance: int = 1,
    mask: Any = None,
) -> dict[str, np.ndarray]:
    """Haralick statistics of each image's grey-level co-occurrence matrix.

    The matrix is scikit-image's ``graycomatrix(img, [distance], [0], 256, symmetric=True,
    normed=True)`` and the statistics are those of ``graycoprops`` (plus ``entropy`` =
    ``-sum P log2 P``). With ``mask`` only pairs of pixels both inside the mask count (rcvtool's
    masked texture). Computed from the pixel pairs directly — moments for contrast,
    dissimilarity, homogeneity and correlation, one sort of the pair codes for ASM, energy and
    entropy — without materialising 256 x 256 matrices.
    """
    unknown = set(properties) - set(TEXTURE_PROPERTIES)
    if unknown:
        raise ValueError(f"properties must be among {TEXTURE_PROPERTIES}, got {sorted(unknown)}")
    grey = to_gray_uint8(images)
    grey = grey[None] if grey.ndim == 2 else grey
    n, _, w = grey.shape
    if not 1 <= distance < w:
        raise ValueError(f"distance must be in [1, {w - 1}], got {distance}")
    a = grey[:, :, :-distance].reshape(n, -1).astype(np.float64)
    b = grey[:, :, distance:].reshape(n, -1).astype(np.float64)
    if mask is None:
        weight = np.ones_like(a)
    else:
        m = _batch(mask, 3, "mask").astype(bool)
        if m.shape != grey.shape:
            raise ValueError(f"mask shape {m.shape} must equal images shape {grey.shape}")
        weight = (m[:, :, :-distance] & m[:, :, distance:]).reshape(n, -1).astype(np.float64)
    total = weight.sum(axis=1)
    safe = np.where(total > 0, total, 1.0)

    def mean(values: np.ndarray) -> np.ndarray:  # weighted mean over an image's pairs
        return (weight * values).sum(axis=1) / safe

    out: dict[str, np.ndarray] = {}
    d = a - b
    for prop in properties:
        if prop == "contrast":
            out[prop] = mean(d**2)
        elif prop == "dissimilarity":
            out[prop] = mean(np.abs(d))
        elif prop == "homogeneity":
            out[prop] = mean(1.0 / (1.0 + d**2))
        elif prop == "correlation":
            # symmetric matrix: both marginals are the pooled distribution of a and b
            mu = (mean(a) + mean(b)) / 2
            var = (mean(a**2) + mean(b**2)) / 2 - mu**2
            cov = mean(a * b) - mu**2
            constant = var < 1e-12  # graycoprops returns 1 for a constant image
            out[prop] = np.where(constant, 1.0, cov / np.where(constant, 1.0, var))
    if {"ASM", "energy", "entropy"} & set(properties):
        out.update(_cell_statistics(a, b, weight, safe, properties))
    return {prop: out[prop] for prop in properties}


def _cell_statistics(
    a: np.ndarray, b: np.ndarray, weight: np.ndarray, total: np.ndarray, properties: tuple
) -> dict[str, np.ndarray]:
    """ASM / energy / entropy from the symmetric co-occurrence counts (one sort of pair codes)."""
    n = len(a)
    image = np.repeat(np.arange(n), a.shape[1])
    ai, bi = a.ravel().astype(np.int64), b.ravel().astype(np.int64)
    keep = weight.ravel() > 0
    # every pair counts once as (a, b) and once as (b, a): the symmetric matrix
    codes = np.concatenate([(image * 256 + ai) * 256 + bi, (image * 256 + bi) * 256 + ai])
    codes = codes[np.concatenate([keep, keep])]
    cells, counts = np.unique(codes, return_counts=True)
    owner = cells // (256 * 256)
    p = counts / (2.0 * total[owner])
    out = {}
    asm = np.bincount(owner, p**2, minlength=n)
    out["ASM"], out["energy"] = asm, np.sqrt(asm)
    out["entropy"] = -np.bincount(owner, p * np.log2(p), minlength=n)
    return {k: v for k, v in out.items() if k in properties}


def _rgb(images: Any) -> np.ndarray:
    arr = _batch(images, 4)
    if arr.shape[-1] != 3:
        raise ValueError(f"images must be RGB with 3 channels last, got shape {arr.shape}")
    return _ubyte_scale(arr).astype(np.float64)


def colorfulness(images: Any) -> np.ndarray:
    """Hasler & Süsstrunk colorfulness ``sigma_rgyb + 0.3 mu_rgyb`` of RGB uint8 images."""
    rgb = _rgb(images)
    rg = np.abs(rgb[..., 0] - rgb[..., 1])
    yb = np.abs(0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2])
    axes = (1, 2)
    std = np.sqrt(rg.std(axis=axes) ** 2 + yb.std(axis=axes) ** 2)
    mean = np.sqrt(rg.mean(axis=axes) ** 2 + yb.mean(axis=axes) ** 2)
    return std + 0.3 * mean


def color_statistics(images: Any, mask: Any = None) -> dict[str, np.ndarray]:
    """First-order colour statistics per image: mean and standard deviation of R, G, B (0-255)
    and of HSV hue, saturation and value (0-1), over the whole image or the masked pixels."""
    from skimage.color import rgb2hsv

    rgb = _rgb(images)
    channels = np.concatenate([rgb, rgb2hsv(rgb / 255.0, channel_axis=-1)], axis=-1)
    if mask is None:
        weight = np.ones(rgb.shape[:3])
    else:
        weight = _batch(mask, 3, "mask").astype(float)
        if weight.shape != rgb.shape[:3]:
            raise ValueError(f"mask shape {weight.shape} must equal image shape {rgb.shape[:3]}")
    count = weight.sum(axis=(1, 2))[:, None]
    safe = np.where(count > 0, count, 1.0)
    mean = np.einsum("nhw,nhwc->nc", weight, channels) / safe
    var = np.einsum("nhw,nhwc->nc", weight, channels**2) / safe - mean**2
    std = np.sqrt(np.clip(var, 0, None))
    out = {}
    for c, name in enumerate(("red", "green", "blue", "hue", "saturation", "value")):
        out[f"{name}_mean"], out[f"{name}_std"] = mean[:, c], std[:, c]
    return out


def hue_share(images: Any, colour: str, mask: Any = None) -> np.ndarray:
    """Share of (masked) pixels whose HSV colour falls in rcvtool's range for ``colour``.

    Hue ranges are OpenCV's 0-180 scale (:data:`HUE_RANGES`); pixels need saturation >= 50 and
    value >= 77 on the 0-255 scale to count as coloured.
    """
    if colour not in HUE_RANGES:
        raise ValueError(f"colour must be one of {sorted(HUE_RANGES)}, got {colour!r}")
    from skimage.color import rgb2hsv

    rgb = _rgb(images)
    hsv = rgb2hsv(rgb / 255.0, channel_axis=-1)
    h, s, v = hsv[..., 0] * 180.0, hsv[..., 1] * 255.0, hsv[..., 2] * 255.0
    lo, hi = HUE_RANGES[colour]
    in_hue = (h >= lo) & (h < hi) if lo < hi else (h >= lo) | (h < hi)
    hit = in_hue & (s >= 50) & (v >= 77)
    if mask is None:
        return hit.mean(axis=(1, 2))
    mask = _batch(mask, 3, "mask").astype(bool)
    count = mask.sum(axis=(1, 2))
    return np.divide((hit & mask).sum(axis=(1, 2)), count, out=np.zeros(len(rgb)), where=count > 0)


def otsu_masks(images: Any) -> np.ndarray:
    """Foreground masks: grey level above each image's Otsu threshold (rcvtool's binarisation)."""
    grey = to_gray_uint8(images)
    grey = grey[None] if grey.ndim == 2 else grey
    # one 256-bin histogram per image keeps the whole batch vectorised
    hist = np.zeros((len(grey), 256))
    np.add.at(hist, (np.arange(len(grey))[:, None], grey.reshape(len(grey), -1)), 1)
    levels = np.arange(256, dtype=float)
    w0 = np.cumsum(hist, axis=1)
    w1 = w0[:, -1:] - w0
    m0 = np.cumsum(hist * levels, axis=1)
    mu0 = np.divide(m0, w0, out=np.zeros_like(m0), where=w0 > 0)
    mu1 = np.divide(m0[:, -1:] - m0, w1, out=np.zeros_like(m0), where=w1 > 0)
    between = w0 * w1 * (mu0 - mu1) ** 2
    # the largest between-class variance, as skimage.filters.threshold_otsu (tested against it)
    thresholds = np.argmax(between, axis=1)
    return grey > thresholds[:, None, None]


def region(masks: Any) -> dict[str, np.ndarray]:
    """Area, perimeter and eccentricity of the foreground of each mask, as ``regionprops`` of
    the whole foreground treated as one region (``perimeter`` with 4-connectivity), and its
    scale: the share of the image it covers."""
    m = _batch(masks, 3, "masks").astype(bool)
    n, h, w = m.shape
    area = m.sum(axis=(1, 2)).astype(float)
    rows, cols = np.mgrid[:h, :w]
    safe = np.where(area > 0, area, 1)
    r_mean = (m * rows).sum(axis=(1, 2)) / safe
    c_mean = (m * cols).sum(axis=(1, 2)) / safe
    dr = rows[None] - r_mean[:, None, None]
    dc = cols[None] - c_mean[:, None, None]
    mu20 = (m * dr**2).sum(axis=(1, 2)) / safe
    mu02 = (m * dc**2).sum(axis=(1, 2)) / safe
    mu11 = (m * dr * dc).sum(axis=(1, 2)) / safe
    common = np.sqrt(((mu20 - mu02) / 2) ** 2 + mu11**2)
    l1 = (mu20 + mu02) / 2 + common
    l2 = (mu20 + mu02) / 2 - common
    ecc = np.sqrt(np.clip(1 - np.divide(l2, l1, out=np.ones_like(l1), where=l1 > 0), 0, 1))
    return {
        "area": area,
        "perimeter": _perimeter(m),
        "eccentricity": np.where(area > 0, ecc, 0),
        "scale": area / (h * w),
    }


def _perimeter(m: np.ndarray) -> np.ndarray:
    """skimage.measure.perimeter (neighbourhood 4) for a batch of masks."""
    from scipy import ndimage

    # Border pixels: the mask minus its erosion by a cross (per image: no coupling across N).
    cross = np.zeros((1, 3, 3), dtype=bool)
    cross[0] = [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    border = m & ~ndimage.binary_erosion(m, structure=cross, border_value=0)
    kernel = np.array([[10, 2, 10], [2, 1, 2], [10, 2, 10]])[None]
    codes = ndimage.convolve(border.astype(np.int64), kernel, mode="constant", cval=0)
    weights = np.zeros(50)
    weights[[5, 7, 15, 17, 25, 27]] = 1
    weights[[21, 33]] = np.sqrt(2)
    weights[[13, 23]] = (1 + np.sqrt(2)) / 2
    codes = np.where(border, codes, 0)
    return weights[np.clip(codes, 0, 49)].sum(axis=(1, 2))
