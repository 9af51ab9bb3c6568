"""Least-squares fitting of regression concept vectors, with degenerate concepts reported."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import Tensor


class DegenerateConceptWarning(UserWarning):
    """A concept whose regression is undefined: a constant measure, or activations that do not
    vary over its examples (e.g. all examples identical). Its RCV is the zero vector and its
    :math:`R^2`, scores and Br are NaN."""


def pool(activation: Tensor | tuple[Tensor, ...]) -> Tensor:
    """Global average pooling over every dimension after the channel one (conv layers); a
    tuple (a layer's several inputs) is pooled per tensor and concatenated."""
    if isinstance(activation, tuple | list):
        return torch.cat([pool(a) for a in activation], dim=1)
    return activation.flatten(2).mean(dim=2) if activation.dim() > 2 else activation


def sum_spatial(grad: Tensor | tuple[Tensor, ...]) -> Tensor:
    """Gradients summed over spatial positions (the derivative along a pooled direction)."""
    if isinstance(grad, tuple | list):
        return torch.cat([sum_spatial(g) for g in grad], dim=1)
    return grad.flatten(2).sum(dim=2) if grad.dim() > 2 else grad


def r2_score(y: Tensor, pred: Tensor) -> Tensor:
    """Coefficient of determination; NaN when ``y`` is constant (undefined)."""
    tss = ((y - y.mean()) ** 2).sum()
    if tss > 0:
        return 1 - ((y - pred) ** 2).sum() / tss
    return torch.tensor(float("nan"), dtype=y.dtype)


def least_squares(a: Tensor, y: Tensor, ridge: float = 0.0) -> tuple[Tensor, Tensor]:
    """Least squares with an unpenalised intercept: ``(coefficients, intercept)``.

    ``ridge = 0`` is ordinary least squares (minimum-norm solution when the activations are
    rank deficient, singular values below ``1e-6`` of the largest treated as zero); ``ridge > 0``
    adds ``ridge * mean(diag(A_c^T A_c)) * I`` to the normal equations of the centred
    activations ``A_c`` — a scale-free ridge penalty.
    """
    a_mean, y_mean = a.mean(dim=0), y.mean()
    ac, yc = a - a_mean, y - y_mean
    if ridge > 0:
        gram = ac.T @ ac
        penalty = ridge * gram.diagonal().mean().clamp_min(1e-12)
        coef = torch.linalg.solve(gram + penalty * torch.eye(len(gram), dtype=a.dtype), ac.T @ yc)
    else:
        # Activations come from float32 models: directions with singular values below float32
        # resolution are rounding noise, not signal.
        coef = torch.linalg.lstsq(ac, yc[:, None], rcond=1e-6, driver="gelsd").solution[:, 0]
    return coef, y_mean - a_mean @ coef


def degeneracy(a: Tensor, y: Tensor) -> str | None:
    """Why the regression of ``y`` (N,) on ``a`` (N, F) is undefined, or ``None``.

    A measure is constant when its range is at most ``1e-12`` of its scale; activations are
    constant when no feature varies by more than ``1e-6`` (float32 resolution) of the largest
    activation magnitude over the examples.
    """
    if float(y.max() - y.min()) <= 1e-12 * max(1.0, float(y.abs().max())):
        return "constant measure"
    spread = float((a - a.mean(dim=0)).abs().max()) if a.numel() else 0.0
    if spread <= 1e-6 * float(a.abs().max()) or spread == 0.0:
        return "constant activations"
    return None


def fit_direction(
    a: Tensor, y: Tensor, n_splits: int, ridge: float, seed: int | None, label: str = "concept"
) -> dict:
    """Regress measures ``y`` (N,) on activations ``a`` (N, F): the unit RCV, the coefficients
    and intercept of the fit on all examples, and the k-fold held-out :math:`R^2` (folds
    shuffled with ``seed``; a fold whose held-out measures are constant is left out of the
    mean). A degenerate regression (:func:`degeneracy`) warns with
    :class:`DegenerateConceptWarning` naming ``label`` and returns a zero direction, NaN
    :math:`R^2` and ``"degenerate"``: the reason."""
    n = len(y)
    if n < 2 * n_splits:
        raise ValueError(f"need at least {2 * n_splits} concept examples, got {n}")
    reason = degeneracy(a, y)
    if reason is not None:
        warnings.warn(
            f"{label}: {reason} over its {n} examples; its regression concept vector is "
            "undefined (zero direction, R^2 and scores NaN)",
            DegenerateConceptWarning,
            stacklevel=3,
        )
        nan = torch.tensor(float("nan"), dtype=a.dtype)
        zeros = torch.zeros(a.shape[1], dtype=a.dtype)
        return {
            "direction": zeros, "coefficients": zeros.clone(), "intercept": y.mean().to(a.dtype),
            "r2_folds": nan.repeat(n_splits), "r2": nan, "degenerate": reason,
        }  # fmt: skip
    order = torch.from_numpy(np.random.default_rng(seed).permutation(n))
    folds = torch.tensor_split(order, n_splits)
    r2 = []
    for k, test in enumerate(folds):
        train = torch.cat([f for j, f in enumerate(folds) if j != k])
        coef, intercept = least_squares(a[train], y[train], ridge)
        r2.append(r2_score(y[test], a[test] @ coef + intercept))
    coef, intercept = least_squares(a, y, ridge)
    norm = coef.norm()
    r2_folds = torch.stack(r2)
    return {
        "direction": coef / norm if norm > 0 else coef,
        "coefficients": coef,
        "intercept": intercept,
        "r2_folds": r2_folds,
        "r2": r2_folds.nanmean(),
    }


def scores(sensitivity: Tensor, r2: Tensor) -> dict[str, Tensor]:
    """Scores of one concept from its sensitivities ``(N,)`` and :math:`R^2`: ``sign_count``
    (TCAV's share of positive sensitivities; also ``tcav``), ``magnitude`` (mean sensitivity, as
    captum's TCAV), ``br_score`` (:math:`R^2 \\mu / \\sigma`). NaN when :math:`R^2` is NaN (a
    degenerate concept)."""
    if torch.isnan(r2):
        nan = torch.full((), float("nan"), dtype=sensitivity.dtype)
        sign, magnitude, br = nan, nan.clone(), nan.clone()
    else:
        std = sensitivity.std()
        sign = (sensitivity > 0).to(sensitivity.dtype).mean()
        magnitude = sensitivity.mean()
        br = r2 * magnitude / std if std > 0 else torch.zeros((), dtype=r2.dtype)
    return {
        "sensitivity": sensitivity, "sign_count": sign, "magnitude": magnitude,
        "tcav": sign, "br_score": br, "r2": r2,
    }  # fmt: skip
