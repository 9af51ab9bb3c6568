"""Differentiable complex-wavelet structural similarity (CW-SSIM) in torch.

Sampat, Wang, Gupta, Bovik & Markey, "Complex wavelet structural similarity: a new image
similarity index", IEEE TIP 2009. Images are decomposed by an undecimated complex steerable
pyramid built in the Fourier domain (log-raised-cosine radial bands one octave apart, one-sided
``cos^(n)`` angular windows, so every subband is complex/analytic); for each subband and each
local window the index is

.. math:: \\tilde S = \\frac{2 |\\sum_i c_{x,i} c^*_{y,i}| + K}{\\sum_i |c_{x,i}|^2
          + \\sum_i |c_{y,i}|^2 + K},

averaged over positions and subbands. It is insensitive to the small translations, scalings
and rotations that change the phase of the coefficients consistently within a window, unlike
SSIM, and it is differentiable, so it can serve as an attack's visual-similarity term.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .._validation import InvalidParameterError


def _filters(h: int, w: int, scales: int, orientations: int, device, dtype) -> Tensor:
    """Fourier-domain complex steerable filters ``(scales * orientations, h, w)``."""
    fy = torch.fft.fftfreq(h, device=device, dtype=dtype) * 2 * math.pi
    fx = torch.fft.fftfreq(w, device=device, dtype=dtype) * 2 * math.pi
    wy, wx = torch.meshgrid(fy, fx, indexing="ij")
    radius = torch.sqrt(wx**2 + wy**2)
    angle = torch.atan2(wy, wx)
    log_r = torch.log2(radius.clamp_min(1e-12) / math.pi)
    bank = []
    order = orientations - 1
    for j in range(scales):
        # log-raised cosine centred at pi / 2**(j+1), one octave either side
        t = (log_r + (j + 1)).clamp(-1, 1)
        radial = torch.where((log_r > -(j + 2)) & (log_r < -j), torch.cos(t * math.pi / 2), 0)
        for k in range(orientations):
            theta = math.pi * k / orientations
            delta = torch.remainder(angle - theta + math.pi, 2 * math.pi) - math.pi
            angular = torch.where(delta.abs() < math.pi / 2, torch.cos(delta) ** order, 0)
            bank.append(radial * angular)
    return torch.stack(bank)


def cw_ssim(
    x: Tensor,
    y: Tensor,
    *,
    scales: int = 3,
    orientations: int = 4,
    window: int = 7,
    k: float = 1e-6,
) -> Tensor:
    """CW-SSIM of each image pair: ``(N,)`` values in ``[0, 1]`` (1 for identical images).

    Args:
        x, y (Tensor): images ``(N, C, H, W)`` (or ``(N, H, W)``); colour channels are averaged
            to luminance first.
        scales (int): pyramid levels (octaves). (default: 3)
        orientations (int): orientations per level. (default: 4)
        window (int): side of the local averaging window. (default: 7)
        k (float): small stabilising constant :math:`K`. (default: 1e-6)

    Returns:
        Tensor: ``(N,)`` in the dtype of ``x`` (float32 or float64).

    Raises:
        InvalidParameterError: (a ``ValueError`` and ``TypeError``) for non-floating or
            non-finite images, different shapes or too small images, naming ``x``/``y``.
    """
    for name, t in (("x", x), ("y", y)):
        if not isinstance(t, Tensor) or not t.is_floating_point():
            raise InvalidParameterError(
                f"{name} must be a floating-point tensor, got "
                f"{getattr(t, 'dtype', type(t).__name__)}; convert integer images with .float()"
            )
        if not torch.isfinite(t.detach()).all():
            raise InvalidParameterError(f"{name} must be finite (no NaN or inf)")
    if x.shape != y.shape:
        raise InvalidParameterError(
            f"x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if x.dim() == 3:
        x, y = x[:, None], y[:, None]
    if x.dim() != 4:
        raise InvalidParameterError(
            f"x and y must be images (N, C, H, W) or (N, H, W), got shape {tuple(x.shape)}"
        )
    if scales < 1 or orientations < 1 or window < 1:
        raise ValueError("scales, orientations and window must be >= 1")
    h, w = x.shape[-2:]
    if min(h, w) < window:
        raise InvalidParameterError(
            f"x and y: images of {h}x{w} pixels are smaller than the {window}-pixel window"
        )
    lum_x, lum_y = x.mean(dim=1), y.mean(dim=1)
    bank = _filters(h, w, scales, orientations, x.device, lum_x.dtype)
    cx = torch.fft.ifft2(torch.fft.fft2(lum_x)[:, None] * bank)  # (N, B, H, W) complex
    cy = torch.fft.ifft2(torch.fft.fft2(lum_y)[:, None] * bank)
    cross = cx * cy.conj()

    def local_sum(t: Tensor) -> Tensor:
        return F.avg_pool2d(t, window, stride=1) * window * window

    num = 2 * torch.sqrt(local_sum(cross.real) ** 2 + local_sum(cross.imag) ** 2 + 1e-30) + k
    den = local_sum(cx.abs() ** 2) + local_sum(cy.abs() ** 2) + k
    return (num / den).flatten(1).mean(dim=1)
