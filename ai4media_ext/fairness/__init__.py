"""Fairness on AIF360: audience-adaptive reports, an audience-aware metric explainer, probing."""

from ._catalog import AUDIENCES, METRICS, natural_frequency
from .report import FairnessReport

__all__ = ["AUDIENCES", "METRICS", "AudienceMetricExplainer", "FairnessReport", "natural_frequency"]


def __getattr__(name: str):  # the explainer imports aif360; load it only when asked for
    if name == "AudienceMetricExplainer":
        from .explainer import AudienceMetricExplainer

        return AudienceMetricExplainer
    raise AttributeError(name)
