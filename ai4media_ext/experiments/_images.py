"""Deprecated location: the image splits moved to :mod:`ai4media_ext.data.splits` (kept as a
re-export for this release)."""

from ..data.splits import cifar10_split, digits_split, mnist_split

__all__ = ["cifar10_split", "digits_split", "mnist_split"]
