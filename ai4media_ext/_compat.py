"""Import guards: a missing host toolkit raises an ImportError that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise an ImportError telling which ``ai4media-ext`` extra provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{module!r} is required here but could not be imported ({exc}). "
            f'Install it with: pip install "ai4media-ext[{extra}]"'
        ) from exc
