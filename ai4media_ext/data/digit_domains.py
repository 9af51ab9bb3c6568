"""Digit domains for a re-ID analogue: font-rendered (virtual), MNIST-M style and upscaled digits.

Person re-ID sets (Market-1501, DukeMTMC, MSMT17, PersonX) are not available offline, so the
MetaAttack experiment reproduces the method's structure on digit retrieval, where a real source
domain (handwritten MNIST), a *virtual* domain (digits rendered from the TrueType fonts that
matplotlib ships, the PersonX analogue) and unseen target domains (MNIST-M style blends over
CIFAR-10 crops, scikit-learn's 8x8 digits upscaled) all exist offline. Without the data root,
:func:`photo_backgrounds` (tiles of the photographs in scikit-image's wheel) replaces CIFAR-10 as
the backgrounds of the same blend. Every function returns
``float32`` images of shape ``(n, 3, side, side)`` in ``[0, 1]`` (PyTorch / ART layout) and
``int64`` labels ``(n,)`` (the digit, i.e. the "identity").
"""

from __future__ import annotations

import numbers
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from .._compat import require
from .._validation import Interval, InvalidParameterError, check_generator, check_params
from ._paths import DataNotFoundError

#: matplotlib's TrueType files whose glyphs 0-9 are real, distinct digits (wave-2 feasibility
#: §2.1: checked by character map, bitmaps and a contact sheet; cmmi10 has old-style figures;
#: cmsy10, cmex10, LastResortHE, the *Display and STIX symbol fonts are excluded).
FONT_FILES = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf", "STIXGeneral.ttf", "STIXGeneralBol.ttf",
    "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf", "cmr10.ttf", "cmb10.ttf", "cmss10.ttf",
    "cmtt10.ttf", "cmti10.ttf", "cmmi10.ttf",
)  # fmt: skip
STROKE_WIDTHS = (0, 1, 2)
_CANVAS = 64
_GLYPH_SIZE = 40

__all__ = [
    "FONT_FILES",
    "font_digits",
    "font_dir",
    "gray_to_rgb",
    "PHOTO_NAMES",
    "mnist_m",
    "photo_backgrounds",
    "upscaled_digits",
]

#: the colour photographs shipped inside scikit-image's wheel (``skimage/data/*.png|jpg``), which
#: ``skimage.data`` loads with no download: the backgrounds of the digits-M blends.
PHOTO_NAMES = ("astronaut", "chelsea", "coffee", "rocket")


def font_dir() -> Path:
    """The folder of matplotlib's bundled TrueType fonts."""
    matplotlib = require("matplotlib", "data")
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@lru_cache(maxsize=2)
def _glyph_masks(folder: str) -> np.ndarray:
    """Glyph masks ``(fonts, strokes, 10, 64, 64)`` float32 in [0, 1], each digit centred."""
    require("PIL", "data")
    from PIL import Image, ImageDraw, ImageFont

    masks = np.zeros((len(FONT_FILES), len(STROKE_WIDTHS), 10, _CANVAS, _CANVAS), dtype=np.float32)
    for f, name in enumerate(FONT_FILES):
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            raise DataNotFoundError(f"missing font file {name!r}: expected it at {path}")
        font = ImageFont.truetype(path, _GLYPH_SIZE)
        for s, stroke in enumerate(STROKE_WIDTHS):
            for d in range(10):
                img = Image.new("L", (_CANVAS, _CANVAS), 0)
                draw = ImageDraw.Draw(img)
                text = str(d)
                left, top, right, bottom = draw.textbbox((0, 0), text, font=font,
                                                         stroke_width=stroke)  # fmt: skip
                xy = ((_CANVAS - (right - left)) / 2 - left, (_CANVAS - (bottom - top)) / 2 - top)
                draw.text(xy, text, fill=255, font=font, stroke_width=stroke, stroke_fill=255)
                masks[f, s, d] = np.asarray(img, dtype=np.float32) / 255.0
    return masks


def font_digits(
    n: int, *, side: int = 28, random_state: object = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Digits rendered from matplotlib's TrueType fonts: the virtual (synthetic) domain.

    Each sample draws a digit (balanced: ``i % 10`` before shuffling), one of the 22
    :data:`FONT_FILES`, a stroke width (0, 1 or 2 px at the 40 px glyph size), a random affine
    (rotation +-15 deg, shear +-0.3, scale 0.85-1.15 per axis, shift +-4 px of 64), foreground
    and background RGB colours at least 80 grey levels apart in mean intensity, and Gaussian
    pixel noise (sigma = 6 grey levels), as in wave-2 feasibility §2.1. Glyphs are rendered once
    with PIL; the affine warps and colouring are batched in torch (``grid_sample``, then an
    antialiased resize to ``side``).

    Parameters
    ----------
    n : int
        Number of images (>= 1).
    side : int
        Output height and width in pixels.
    random_state : None, int, numpy Generator or RandomState
        Seed; the same seed gives the same images.

    Returns
    -------
    x : numpy.ndarray
        float32 ``(n, 3, side, side)`` in [0, 1].
    y : numpy.ndarray
        int64 ``(n,)`` digit labels.
    font : numpy.ndarray
        int64 ``(n,)`` index into :data:`FONT_FILES` (a "camera"/style id).

    Raises
    ------
    InvalidParameterError
        ``n`` or ``side`` not a positive int.
    DataNotFoundError
        A font file is missing from matplotlib's installation (the message names it).
    """
    check_params("font_digits", {"n": n, "side": side},
                 {"n": [Interval(numbers.Integral, 1, None, closed="left")],
                  "side": [Interval(numbers.Integral, 8, None, closed="left")]})  # fmt: skip
    import torch
    import torch.nn.functional as F

    rng = check_generator(random_state)
    masks = _glyph_masks(str(font_dir()))
    y = rng.permutation(np.arange(n) % 10).astype(np.int64)
    font = rng.integers(0, len(FONT_FILES), n)
    stroke = rng.integers(0, len(STROKE_WIDTHS), n)
    glyphs = torch.from_numpy(masks[font, stroke, y][:, None])  # (n, 1, 64, 64)

    angle = np.deg2rad(rng.uniform(-15, 15, n))
    shear = rng.uniform(-0.3, 0.3, n)
    scale = rng.uniform(0.85, 1.15, (n, 2))
    shift = rng.uniform(-4, 4, (n, 2)) * 2 / _CANVAS  # normalised coordinates
    cos, sin = np.cos(angle), np.sin(angle)
    # forward map A = R @ Shear @ S; grid_sample needs the inverse (output -> input coordinates)
    fwd = np.empty((n, 2, 2))
    fwd[:, 0, 0] = cos * scale[:, 0]
    fwd[:, 0, 1] = (cos * shear - sin) * scale[:, 1]
    fwd[:, 1, 0] = sin * scale[:, 0]
    fwd[:, 1, 1] = (sin * shear + cos) * scale[:, 1]
    inv = np.linalg.inv(fwd)
    theta = np.concatenate([inv, -(inv @ shift[:, :, None])], axis=2)
    grid = F.affine_grid(torch.from_numpy(theta).float(), [n, 1, _CANVAS, _CANVAS],
                         align_corners=False)  # fmt: skip
    warped = F.grid_sample(glyphs, grid, mode="bilinear", padding_mode="zeros",
                           align_corners=False)  # fmt: skip
    mask = F.interpolate(warped, size=(side, side), mode="bilinear", antialias=True,
                         align_corners=False).clamp(0, 1).numpy()  # fmt: skip

    fg = rng.uniform(0, 255, (n, 3))
    bg = rng.uniform(0, 255, (n, 3))
    low = np.abs(fg.mean(1) - bg.mean(1)) < 80
    while low.any():  # redraw the background until the contrast is enough (few rounds)
        bg[low] = rng.uniform(0, 255, (int(low.sum()), 3))
        low = np.abs(fg.mean(1) - bg.mean(1)) < 80
    img = bg[:, :, None, None] + mask * (fg - bg)[:, :, None, None]
    img = img + rng.normal(0, 6, img.shape)
    return (np.clip(img, 0, 255) / 255.0).astype(np.float32), y, font.astype(np.int64)


def gray_to_rgb(x: np.ndarray) -> np.ndarray:
    """uint8 grey images ``(n, h, w)`` (0-255) -> float32 ``(n, 3, h, w)`` in [0, 1]."""
    arr = np.asarray(x, dtype=np.float32) / 255.0
    if arr.ndim != 3:
        raise InvalidParameterError(f"x must have shape (n, h, w), got {arr.shape}")
    return np.repeat(arr[:, None], 3, axis=1)


def mnist_m(
    digits: np.ndarray, backgrounds: np.ndarray, *, random_state: object = None
) -> np.ndarray:
    """MNIST-M style blends: ``|crop - digit|`` per channel (Ganin & Lempitsky, ICML 2015).

    Each digit is blended with a random ``h x w`` crop of a random background image: the output
    is the absolute difference of the RGB crop and the grey digit, channel by channel.
    Vectorised over the batch (``sliding_window_view`` plus one fancy index).

    Parameters
    ----------
    digits : numpy.ndarray
        uint8 grey digits ``(n, h, w)``, 0-255 (e.g. :func:`ai4media_ext.data.load_mnist_test`).
    backgrounds : numpy.ndarray
        uint8 RGB images ``(m, H, W, 3)`` with ``H >= h`` and ``W >= w`` (e.g. CIFAR-10 from
        :func:`ai4media_ext.data.load_cifar10`).
    random_state : None, int, numpy Generator or RandomState

    Returns
    -------
    numpy.ndarray
        float32 ``(n, 3, h, w)`` in [0, 1]; the inputs are not modified.

    Raises
    ------
    InvalidParameterError
        Wrong shapes or backgrounds smaller than the digits.
    """
    digits = np.asarray(digits)
    backgrounds = np.asarray(backgrounds)
    if digits.ndim != 3:
        raise InvalidParameterError(f"digits must have shape (n, h, w), got {digits.shape}")
    if backgrounds.ndim != 4 or backgrounds.shape[-1] != 3 or len(backgrounds) == 0:
        raise InvalidParameterError(
            f"backgrounds must have shape (m, H, W, 3) with m >= 1, got {backgrounds.shape}"
        )
    n, h, w = digits.shape
    big_h, big_w = backgrounds.shape[1:3]
    if big_h < h or big_w < w:
        raise InvalidParameterError(
            f"backgrounds ({big_h}x{big_w}) must be at least as large as the digits ({h}x{w})"
        )
    rng = check_generator(random_state)
    which = rng.integers(0, len(backgrounds), n)
    oy = rng.integers(0, big_h - h + 1, n)
    ox = rng.integers(0, big_w - w + 1, n)
    windows = np.lib.stride_tricks.sliding_window_view(backgrounds, (h, w), axis=(1, 2))
    crops = windows[which, oy, ox].astype(np.int16)  # (n, 3, h, w)
    blend = np.abs(crops - digits[:, None].astype(np.int16))
    return (blend / 255.0).astype(np.float32)


def upscaled_digits(side: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1797 real 8x8 digits, bilinearly upscaled to ``side x side``, grey as RGB.

    Returns
    -------
    x : numpy.ndarray
        float32 ``(1797, 3, side, side)`` in [0, 1].
    y : numpy.ndarray
        int64 ``(1797,)``.
    """
    check_params("upscaled_digits", {"side": side},
                 {"side": [Interval(numbers.Integral, 8, None, closed="left")]})  # fmt: skip
    import torch
    import torch.nn.functional as F

    from .images import load_digits

    x, y = load_digits()
    t = torch.from_numpy(np.asarray(x, dtype=np.float32) / 16.0)[:, None]
    up = F.interpolate(t, size=(side, side), mode="bilinear", align_corners=False)
    return up.clamp(0, 1).repeat(1, 3, 1, 1).numpy(), y


def photo_backgrounds(tile: int = 32, scale: float = 0.5) -> np.ndarray:
    """Tiles of the real photographs shipped inside scikit-image's wheel (:data:`PHOTO_NAMES`).

    Each photograph is downscaled by ``scale`` (PIL, antialiased, so a tile holds a scene part
    of a size comparable to a CIFAR-10 image) and cut into non-overlapping ``tile x tile``
    tiles; the backgrounds of :func:`mnist_m` when the offline data root (CIFAR-10) is absent.
    No file is downloaded: the images are read from scikit-image's installation.

    Returns
    -------
    numpy.ndarray
        uint8 ``(m, tile, tile, 3)``; ``m`` is 206 for the defaults.

    Raises
    ------
    InvalidParameterError
        ``tile`` not an int >= 8 or ``scale`` outside (0, 1].
    DataNotFoundError
        A photograph is missing from scikit-image's installation (the message names it).
    """
    check_params("photo_backgrounds", {"tile": tile, "scale": scale},
                 {"tile": [Interval(numbers.Integral, 8, None, closed="left")],
                  "scale": [Interval(numbers.Real, 0, 1, closed="right")]})  # fmt: skip
    skdata = require("skimage.data", "xai")
    require("PIL", "data")
    from PIL import Image

    tiles = []
    for name in PHOTO_NAMES:
        try:
            img = np.asarray(getattr(skdata, name)())
        except Exception as exc:  # a trimmed installation: pooch download or missing file
            raise DataNotFoundError(
                f"scikit-image's in-wheel photograph {name!r} (skimage.data.{name}) could not be "
                f"loaded offline ({type(exc).__name__}: {exc}); reinstall scikit-image>=0.24"
            ) from exc
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise DataNotFoundError(
                f"skimage.data.{name} is not a uint8 RGB photograph (shape {img.shape})"
            )
        h, w = (max(tile, round(d * scale)) for d in img.shape[:2])
        small = np.asarray(Image.fromarray(img).resize((w, h), Image.Resampling.LANCZOS))
        rows, cols = h // tile, w // tile
        grid = small[: rows * tile, : cols * tile].reshape(rows, tile, cols, tile, 3)
        tiles.append(grid.transpose(0, 2, 1, 3, 4).reshape(-1, tile, tile, 3))
    return np.concatenate(tiles)
