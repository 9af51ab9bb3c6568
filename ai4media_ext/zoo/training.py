"""The one local training loop: mini-batch cross-entropy epochs over in-memory tensors."""

from __future__ import annotations

import numbers
from typing import Any

from .._compat import require
from .._validation import Interval, check_params

require("torch", "art")

import torch  # noqa: E402

__all__ = ["train_epochs"]

_CONSTRAINTS = {
    "epochs": [Interval(numbers.Integral, 0, None, closed="left")],
    "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
    "hflip": ["boolean"],
}


def train_epochs(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    batch_size: int,
    generator: torch.Generator | None = None,
    hflip: bool = False,
    progress: Any = None,
) -> float:
    """Train ``model`` in place for ``epochs`` passes of shuffled mini-batches.

    Each epoch draws one permutation (``torch.randperm`` with ``generator``, the global torch
    generator when ``None``), splits it into batches of ``batch_size`` (the last may be smaller)
    and takes one ``optimizer`` step on the mean cross-entropy of each batch.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``x[idx]`` to ``(B, C)`` logits; left in ``train()`` mode.
    x : torch.Tensor
        ``(N, ...)`` float32 inputs, on the model's device.
    y : torch.Tensor
        ``(N,)`` int64 class indices in ``[0, C)``, on the same device.
    optimizer : torch.optim.Optimizer
    epochs, batch_size : int
    generator : torch.Generator, optional
        Source of the shuffles and flips (on ``x``'s device).
    hflip : bool, default False
        Flip each image horizontally (last axis) with probability 1/2: light augmentation for
        RGB images.
    progress : callable, optional
        Wraps the epoch range (e.g. ``functools.partial(tqdm, desc=...)``).

    Returns
    -------
    float
        Mean cross-entropy over every sample of every epoch (0.0 when ``epochs`` is 0).

    Raises
    ------
    InvalidParameterError
        ``epochs`` < 0, ``batch_size`` < 1, or ``x`` and ``y`` of different lengths.
    """
    check_params(
        "train_epochs",
        {"epochs": epochs, "batch_size": batch_size, "hflip": hflip},
        _CONSTRAINTS,
    )
    if len(x) != len(y):
        from .._validation import InvalidParameterError

        raise InvalidParameterError(f"y has {len(y)} labels but x has {len(x)} samples")
    loss_sum = 0.0
    epoch_range = range(epochs) if progress is None else progress(range(epochs))
    for _ in epoch_range:
        model.train()
        for idx in torch.randperm(len(x), device=x.device, generator=generator).split(batch_size):
            xb = x[idx]
            if hflip:
                flip = torch.rand(len(xb), device=x.device, generator=generator) < 0.5
                xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xb), y[idx])
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(idx)
    return loss_sum / max(1, len(x) * epochs)
