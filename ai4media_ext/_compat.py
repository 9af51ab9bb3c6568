"""Import guards: a missing host toolkit raises an ImportError that names the extra to install."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise an ImportError telling which ``ai4media-ext`` extra provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{module!r} is required here but could not be imported ({exc}). "
            f'Install it with: pip install "ai4media-ext[{extra}]"'
        ) from exc


def lazy_exports(
    package: str, names: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The one re-export pattern of the sub-packages: ``__getattr__`` and ``__dir__`` for a
    package whose public names load on first use.

    ``names`` maps each public name to the module (relative to ``package``) that defines it, so
    ``import ai4media_ext.<pkg>`` stays light and a host toolkit is imported only when one of its
    names is used. Usage in ``__init__.py``::

        __getattr__, __dir__ = lazy_exports(__name__, {"HCPTrainer": "hcp", ...})

    Raises (from ``__getattr__``): ``AttributeError`` for a name not in ``names``; the
    ``ImportError`` of a missing host, naming the extra to install.
    """

    def __getattr__(name: str) -> Any:
        if name in names:
            return getattr(importlib.import_module(f".{names[name]}", package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        module = importlib.import_module(package)
        return sorted({*vars(module), *names})

    return __getattr__, __dir__
