"""Run existing diffprivlib code on floating-point-safe mechanisms, unchanged.

>>> from diffprivlib.models import GaussianNB
>>> from ai4media_ext.privacy import secure_mechanisms
>>> with secure_mechanisms():                      # doctest: +SKIP
...     clf = GaussianNB(epsilon=1.0, bounds=([0, 0], [1, 1])).fit(x, y)

Inside the block, diffprivlib's models and tools (and any code that builds a diffprivlib
mechanism) get the secure drop-in of each mechanism listed in :data:`SECURE_MAPPING`
(:mod:`ai4media_ext.privacy.mechanisms.dropin`); mechanisms without a secure counterpart stay,
listed with the reason in :data:`UNCHANGED`. On exit, even when the block raises, every
diffprivlib name is restored to the *identical* original class.

How: while at least one block is open anywhere, each diffprivlib module attribute that names a
mapped class is replaced by a thin *dispatcher* subclass of the original; constructing it builds
the secure drop-in when the *current context* (thread, or asyncio task) is inside a block and the
original class otherwise. So concurrent threads that are not in a block keep diffprivlib's own
behaviour (the switch never leaks), blocks nest, and installation is reference-counted under a
lock. The names are put back when the last block closes.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import pkgutil
import sys
import threading
from typing import Any

__all__ = [
    "SECURE_MAPPING",
    "UNCHANGED",
    "disable_secure_mechanisms",
    "enable_secure_mechanisms",
    "is_secure",
    "secure_mechanisms",
]

#: diffprivlib mechanism -> (secure drop-in in ``ai4media_ext.privacy.mechanisms.dropin``, why
#: the guarantee holds, who in diffprivlib uses it).
SECURE_MAPPING: dict[str, tuple[str, str]] = {
    "Laplace": (
        "SecureLaplace at diffprivlib's relaxed epsilon - ln(1 - delta): the same guarantee, "
        "now exact as floats (noise scale within 2**-19 above)",
        "models.LinearRegression",
    ),
    "LaplaceTruncated": (
        "the secure Laplace output clamped to [lower, upper]: post-processing of the private "
        "integer, so SecureLaplace's guarantee",
        "models.GaussianNB (means), tools.mean/nanmean/sum/nansum, StandardScaler",
    ),
    "LaplaceFolded": (
        "the secure Laplace output folded into [lower, upper]: post-processing, same guarantee",
        "models.LinearRegression",
    ),
    "LaplaceBoundedDomain": (
        "the exact discrete bounded Laplace, scale set by the discrete form of Holohan et al.'s "
        "(2020) condition: (epsilon, delta)-DP as diffprivlib's",
        "models.GaussianNB (variances), KMeans, PCA (eigenvalues), tools.var/std/nanvar/nanstd",
    ),
    "Gaussian": (
        "the exact discrete Gaussian with sigma >= diffprivlib's classic sigma and >= the CKS20 "
        "Theorem 7 scale for (epsilon, delta): same utility, guarantee now holds as floats",
        "user code",
    ),
    "GaussianAnalytic": (
        "the exact discrete Gaussian calibrated by CKS20 Theorem 7 to (epsilon, delta); noise "
        "within 2**-19 of the analytic Gaussian's",
        "user code",
    ),
}

#: diffprivlib mechanisms left as they are, and why.
UNCHANGED: dict[str, str] = {
    "GaussianDiscrete": "already exact integer sampling (CKS20) on integer values",
    "Geometric": "integer values and outputs: no floating-point addition to attack",
    "GeometricTruncated": "integer outputs (models.GaussianNB counts, tools.histogram*)",
    "GeometricFolded": "integer outputs (models.KMeans counts)",
    "Snapping": "already Mironov's floating-point-safe snapping mechanism",
    "Exponential": "selection among candidates (tools.median/percentile/quantile): no noisy "
    "float is released",
    "ExponentialCategorical": "categorical output, no noisy float",
    "ExponentialHierarchical": "categorical output, no noisy float",
    "PermuteAndFlip": "categorical output (models.RandomForestClassifier)",
    "Binary": "binary output",
    "Vector": "objective perturbation (models.LogisticRegression): no secure counterpart yet",
    "Bingham": "PCA eigenvector sampling (models.PCA): no secure counterpart yet",
    "LaplaceBoundedNoise": "no secure counterpart yet",
    "Staircase": "no secure counterpart yet",
    "Uniform": "no secure counterpart yet",
}

_ACTIVE: contextvars.ContextVar[int] = contextvars.ContextVar("ai4media_secure_depth", default=0)
_LOCK = threading.RLock()
_STATE: dict[str, Any] = {"installs": 0, "patched": [], "dispatchers": {}}


def is_secure() -> bool:
    """Whether diffprivlib mechanisms built in the current context are the secure drop-ins."""
    return _ACTIVE.get() > 0


def _dispatcher(original: type, secure: type) -> type:
    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls is not dispatcher:  # a user subclass created while the switch was installed
            return original.__new__(cls)
        return (secure if _ACTIVE.get() > 0 else original)(*args, **kwargs)

    dispatcher = type(
        original.__name__,
        (original,),
        {
            "__new__": __new__,
            "__module__": original.__module__,
            "__qualname__": original.__qualname__,
            "__doc__": original.__doc__,
            "_ai4media_original": original,
        },
    )
    return dispatcher


def _diffprivlib_modules() -> list[Any]:
    import diffprivlib

    for sub in ("mechanisms", "models", "tools"):
        pkg = importlib.import_module(f"diffprivlib.{sub}")
        for info in pkgutil.walk_packages(pkg.__path__, f"diffprivlib.{sub}."):
            importlib.import_module(info.name)
    del diffprivlib
    return [m for name, m in list(sys.modules.items()) if name.split(".")[0] == "diffprivlib"]


def _install() -> None:
    import diffprivlib.mechanisms as dpm

    from .mechanisms import dropin

    dispatchers = _STATE["dispatchers"]
    originals = {name: getattr(dpm, name) for name in SECURE_MAPPING}
    for name, original in originals.items():
        if name not in dispatchers or dispatchers[name]._ai4media_original is not original:
            dispatchers[name] = _dispatcher(original, getattr(dropin, name))
    patched = []
    for module in _diffprivlib_modules():
        for name, original in originals.items():
            if module.__dict__.get(name) is original:
                setattr(module, name, dispatchers[name])
                patched.append((module, name, original))
    _STATE["patched"] = patched


def _uninstall() -> None:
    for module, name, original in _STATE["patched"]:
        setattr(module, name, original)
    _STATE["patched"] = []


class _SecureBlock(contextlib.ContextDecorator):
    """One ``with secure_mechanisms():`` block (also usable as a decorator)."""

    def __init__(self) -> None:
        self._token: contextvars.Token | None = None

    def _recreate_cm(self) -> _SecureBlock:
        return type(self)()  # a fresh block per decorated call (thread-safe reuse)

    def __enter__(self) -> _SecureBlock:
        if self._token is not None:
            raise RuntimeError("this secure_mechanisms() block is already open")
        with _LOCK:
            if _STATE["installs"] == 0:
                _install()
            _STATE["installs"] += 1
        self._token = _ACTIVE.set(_ACTIVE.get() + 1)
        return self

    def __exit__(self, *exc: Any) -> None:
        token, self._token = self._token, None
        try:
            _ACTIVE.reset(token)
        finally:
            with _LOCK:
                _STATE["installs"] -= 1
                if _STATE["installs"] == 0:
                    _uninstall()


def secure_mechanisms() -> _SecureBlock:
    """Context manager (and decorator) under which diffprivlib draws from secure mechanisms.

    Returns
    -------
    contextlib.ContextDecorator
        ``with secure_mechanisms(): ...`` or ``@secure_mechanisms()``.

    Notes
    -----
    Only mechanisms *constructed* inside the block are secure (diffprivlib's models and tools
    build theirs inside ``fit`` and each call). Mechanism instances built before the block keep
    their class. See :data:`SECURE_MAPPING` and :data:`UNCHANGED`.
    """
    return _SecureBlock()


_OPEN = threading.local()


def enable_secure_mechanisms() -> None:
    """Function form: switch the secure mechanisms on in the current thread until
    :func:`disable_secure_mechanisms` (calls nest)."""
    block = _SecureBlock().__enter__()
    if not hasattr(_OPEN, "blocks"):
        _OPEN.blocks = []
    _OPEN.blocks.append(block)


def disable_secure_mechanisms() -> None:
    """Undo the latest :func:`enable_secure_mechanisms` of this thread.

    Raises
    ------
    RuntimeError
        No :func:`enable_secure_mechanisms` is open in this thread.
    """
    blocks = getattr(_OPEN, "blocks", [])
    if not blocks:
        raise RuntimeError("disable_secure_mechanisms() without enable_secure_mechanisms()")
    blocks.pop().__exit__(None, None, None)
