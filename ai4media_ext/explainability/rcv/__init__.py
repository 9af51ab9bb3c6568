"""Regression Concept Vectors (RCV-tool) in captum's concept API (extra ``[xai]``)."""

from ..._compat import require

require("captum", "xai")
require("skimage", "xai")

from . import measures  # noqa: E402
from ._core.concept import RegressionConcept  # noqa: E402
from ._core.fit import DegenerateConceptWarning, least_squares  # noqa: E402
from ._core.rcv import RCV  # noqa: E402

__all__ = ["RCV", "DegenerateConceptWarning", "RegressionConcept", "least_squares", "measures"]
