"""Small reference CNNs: ``SmallCNN`` (three conv blocks, two dense layers) and LeNet-5."""

from __future__ import annotations

import numbers

from .._compat import require

require("torch", "art")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from .._validation import Interval, check_params  # noqa: E402

__all__ = ["LeNet5", "SmallCNN"]

_SHAPE_CONSTRAINTS = {
    "in_channels": [Interval(numbers.Integral, 1, None, closed="left")],
    "num_classes": [Interval(numbers.Integral, 2, None, closed="left")],
}


class SmallCNN(nn.Module):
    """Three 3x3 conv blocks (16, 32, 64 channels, ReLU, 2x2 max-pool) and two dense layers.

    Module names ``conv1``, ``conv2``, ``conv3``, ``fc1`` (128 units), ``fc2`` (the logits) are the
    layers the RCV and HCP experiments read.

    Parameters
    ----------
    in_channels : int
        Input channels (1 grey, 3 RGB).
    side : int
        Input height = width in pixels, >= 8 (the three pools divide it by 8).
    num_classes : int, default 10

    Shapes
    ------
    Input ``(N, in_channels, side, side)`` float32 (pixels in [0, 1]); output ``(N, num_classes)``
    float32 logits.

    Raises
    ------
    InvalidParameterError
        A parameter outside the ranges above (a ``ValueError`` and ``TypeError``).
    """

    _parameter_constraints = {
        **_SHAPE_CONSTRAINTS,
        "side": [Interval(numbers.Integral, 8, None, closed="left")],
    }

    def __init__(self, in_channels: int, side: int, num_classes: int = 10) -> None:
        check_params(
            self,
            {"in_channels": in_channels, "side": side, "num_classes": num_classes},
            self._parameter_constraints,
        )
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.relu = nn.ReLU()
        self.fc1 = nn.Linear(64 * (side // 8) ** 2, 128)
        self.fc2 = nn.Linear(128, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = self.pool(self.relu(self.conv3(x)))
        return self.fc2(self.relu(self.fc1(x.flatten(1))))


class LeNet5(nn.Sequential):
    """LeNet-5 (LeCun et al., Proc. IEEE 1998) with ReLU and max pooling, for ``side x side``
    inputs (an ``nn.Sequential``: module names ``"0"`` .. ``"12"``).

    Parameters
    ----------
    in_channels : int, default 1
    side : int, default 28
        Input height = width in pixels, >= 12.
    num_classes : int, default 10

    Shapes
    ------
    Input ``(N, in_channels, side, side)`` float32; output ``(N, num_classes)`` float32 logits.

    Raises
    ------
    InvalidParameterError
        A parameter outside the ranges above.
    """

    _parameter_constraints = {
        **_SHAPE_CONSTRAINTS,
        "side": [Interval(numbers.Integral, 12, None, closed="left")],
    }

    def __init__(self, in_channels: int = 1, side: int = 28, num_classes: int = 10) -> None:
        check_params(
            self,
            {"in_channels": in_channels, "side": side, "num_classes": num_classes},
            self._parameter_constraints,
        )
        flat = 16 * ((side // 2 - 4) // 2) ** 2
        super().__init__(
            nn.Conv2d(in_channels, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(flat, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, num_classes),
        )  # fmt: skip
