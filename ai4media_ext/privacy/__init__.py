"""Privacy: diffprivlib mechanisms, LPGNN on torch-geometric, Flower strategies.

Each sub-package imports its own host; this package itself imports nothing heavy.
"""

from .secure_switch import (  # noqa: E402
    disable_secure_mechanisms,
    enable_secure_mechanisms,
    is_secure,
    secure_mechanisms,
)

__all__ = [
    "disable_secure_mechanisms",
    "enable_secure_mechanisms",
    "is_secure",
    "secure_mechanisms",
]
