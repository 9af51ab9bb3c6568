"""diffprivlib mechanisms: a floating-point-safe vectorised Laplace, LPGNN's multi-bit and k-RR.

Requires the ``[dp]`` extra (diffprivlib).
"""

from ..._compat import require

require("diffprivlib", "dp")

from .laplace import SecureLaplace  # noqa: E402
from .multibit import MultiBit  # noqa: E402
from .randomized_response import GeneralizedRandomizedResponse  # noqa: E402

__all__ = ["GeneralizedRandomizedResponse", "MultiBit", "SecureLaplace"]
from .gaussian import SecureGaussian  # noqa: E402
from .laplace_bounded import SecureLaplaceBoundedDomain  # noqa: E402
from .laplace_variants import SecureLaplaceFolded, SecureLaplaceTruncated  # noqa: E402

__all__ += [
    "SecureGaussian",
    "SecureLaplaceBoundedDomain",
    "SecureLaplaceFolded",
    "SecureLaplaceTruncated",
]
