"""Scoring a reconstruction: images paired with their originals, then PSNR and SSIM (scikit-image)."""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from ..._validation import Interval, InvalidParameterError, check_array, check_params

__all__ = ["Matched", "match_reconstructions"]

_CONSTRAINTS = {"data_range": [Interval(numbers.Real, 0, None, closed="neither")]}


class Matched(NamedTuple):
    """Per-original scores of a reconstruction (a tuple: ``psnr, ssim, order``).

    ``psnr`` (dB) and ``ssim`` are float64 ``(n,)``, one per original image; ``order[i]`` is the
    index of the reconstruction paired with original ``i``.
    """

    psnr: np.ndarray
    ssim: np.ndarray
    order: np.ndarray


def match_reconstructions(
    originals: np.ndarray, reconstructions: np.ndarray, data_range: float = 1.0
) -> Matched:
    """Pair each original with one reconstruction and score the pairs.

    A batch is reconstructed in no particular order, so the originals are paired with the
    reconstructions by the assignment of least total mean squared error (Hungarian algorithm,
    ``scipy.optimize.linear_sum_assignment``), as Geiping et al. (2020, §6) order a batch before
    scoring it. PSNR is ``10 log10(data_range^2 / MSE)`` (``skimage.metrics.peak_signal_noise_ratio``'s
    formula, from the pairing's MSE) and SSIM
    ``skimage.metrics.structural_similarity`` (Wang et al. 2004; 7 x 7 window, or the largest odd
    window that fits a smaller image; channels first).

    Parameters
    ----------
    originals : numpy.ndarray
        ``(n, C, H, W)`` images.
    reconstructions : numpy.ndarray
        ``(m, C, H, W)`` images, ``m >= n``.
    data_range : float, default 1.0
        Maximum minus minimum possible pixel value.

    Returns
    -------
    Matched

    Raises
    ------
    InvalidParameterError
        Not 4-d, different image shapes, fewer reconstructions than originals, NaN/inf, or
        ``data_range`` not > 0.
    """
    from scipy.optimize import linear_sum_assignment
    from skimage.metrics import structural_similarity

    check_params("match_reconstructions", {"data_range": data_range}, _CONSTRAINTS)
    a = check_array(originals, name="originals", ndim=4, dtype=np.float64)
    b = check_array(reconstructions, name="reconstructions", ndim=4, dtype=np.float64)
    if a.shape[1:] != b.shape[1:] or len(b) < len(a):
        raise InvalidParameterError(
            f"reconstructions of shape {b.shape} cannot be paired with originals of shape "
            f"{a.shape}: same image shape and at least as many reconstructions needed"
        )
    flat_a, flat_b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    mse = (
        (flat_a**2).mean(1)[:, None]
        + (flat_b**2).mean(1)[None]
        - 2 * flat_a @ flat_b.T / flat_a.shape[1]
    )
    rows, cols = linear_sum_assignment(mse)
    order = cols[np.argsort(rows)]
    psnr = 10.0 * np.log10(data_range**2 / np.maximum(mse[np.arange(len(a)), order], 1e-300))
    # one SSIM call over every channel of every pair (channels last); the per-pair score is the
    # mean of its channels' SSIM maps over the pixels skimage keeps (a border of win // 2 cropped)
    side = min(a.shape[2], a.shape[3], 7)
    win = side if side % 2 else side - 1
    stack = lambda v: v.reshape(-1, *v.shape[2:]).transpose(1, 2, 0)  # noqa: E731
    _, ssim_map = structural_similarity(
        stack(a), stack(b[order]), data_range=data_range, channel_axis=-1, win_size=win, full=True
    )
    pad = (win - 1) // 2
    cropped = ssim_map[pad : ssim_map.shape[0] - pad, pad : ssim_map.shape[1] - pad]
    ssim = cropped.mean(axis=(0, 1)).reshape(len(a), a.shape[1]).mean(axis=1)
    return Matched(psnr, ssim, order)
