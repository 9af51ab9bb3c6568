"""Deprecated location: the secure-FL Flower App moved to :mod:`ai4media_ext.apps.secure_fl`.

Kept as a re-export for this release (an allowed upward import, listed in the layering test's
``DEPRECATED_SHIMS``); import from ``ai4media_ext.apps.secure_fl``.
"""

from ...apps.secure_fl import (  # noqa: F401
    DEFAULTS,
    load_partition,
    make_client_app,
    make_model,
    make_server_app,
    settings,
)

__all__ = [
    "DEFAULTS",
    "load_partition",
    "make_client_app",
    "make_model",
    "make_server_app",
    "settings",
]
