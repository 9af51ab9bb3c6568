"""ResNet-18 in its CIFAR form (He et al., CVPR 2016, §4.2 layout with 3x3 stem, no max-pool)."""

from __future__ import annotations

import numbers

from .._compat import require

require("torch", "art")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from .._validation import Interval, check_params  # noqa: E402

__all__ = ["BasicBlock", "ResNet18CIFAR"]


class BasicBlock(nn.Module):
    """Two 3x3 conv + BatchNorm layers with an identity (or 1x1 projection) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
            if stride != 1 or c_in != c_out
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = nn.functional.relu(self.bn1(self.conv1(x)))
        return nn.functional.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet18CIFAR(nn.Module):
    """ResNet-18 for 32x32 inputs: a 3x3 stride-1 stem and no max-pool, so ``layer4`` works at 4x4.

    Module names follow torchvision's (``conv1``, ``bn1``, ``layer1`` .. ``layer4``, ``fc``), so
    the same layer names work with :class:`~ai4media_ext.robustness.hcp.HCPTrainer`; 11,173,962
    parameters for 10 classes.

    Parameters
    ----------
    num_classes : int, default 10

    Shapes
    ------
    Input ``(N, 3, H, W)`` float32 (pixels in [0, 1]); output ``(N, num_classes)`` float32 logits.

    Raises
    ------
    InvalidParameterError
        ``num_classes`` not an int >= 2.
    """

    _parameter_constraints = {"num_classes": [Interval(numbers.Integral, 2, None, closed="left")]}

    def __init__(self, num_classes: int = 10) -> None:
        check_params(self, {"num_classes": num_classes}, self._parameter_constraints)
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        widths, c_in, layers = (64, 128, 256, 512), 64, []
        for i, width in enumerate(widths):
            layers.append(
                nn.Sequential(
                    BasicBlock(c_in, width, 1 if i == 0 else 2), BasicBlock(width, width, 1)
                )
            )
            c_in = width
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(x.mean(dim=(2, 3)))
