"""Fairness on AIF360: audience-adaptive reports, an audience-aware metric explainer, probing.

The explainer imports AIF360, so it loads on first use (the sub-packages' re-export pattern,
:func:`ai4media_ext._compat.lazy_exports`).
"""

from .._compat import lazy_exports
from ._catalog import AUDIENCES, METRICS, SCHEMA, natural_frequency
from .report import FairnessReport

__all__ = [
    "AUDIENCES",
    "METRICS",
    "SCHEMA",
    "AudienceMetricExplainer",
    "FairnessReport",
    "natural_frequency",
]

__getattr__, __dir__ = lazy_exports(__name__, {"AudienceMetricExplainer": "explainer"})
