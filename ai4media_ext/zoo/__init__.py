"""Reference networks shared by methods, experiments, apps, tests and benchmarks (host: PyTorch).

``SmallCNN``, ``LeNet5`` and ``ResNet18CIFAR`` are plain ``torch.nn.Module`` classes;
:func:`art_classifier` wraps one in ART's ``PyTorchClassifier`` and :func:`train_epochs` is the one
local training loop. Names load on first use (torch and ART are optional extras), the re-export
pattern of every sub-package.
"""

from __future__ import annotations

from .._compat import lazy_exports

__all__ = ["LeNet5", "ResNet18CIFAR", "SmallCNN", "art_classifier", "train_epochs"]

_LAZY = {
    "LeNet5": "cnn",
    "ResNet18CIFAR": "resnet",
    "SmallCNN": "cnn",
    "art_classifier": "art",
    "train_epochs": "training",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
