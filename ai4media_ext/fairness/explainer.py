"""An AIF360 explainer that words each metric for an audience: expert, decision maker or public."""

from __future__ import annotations

import inspect
from typing import Any

from .._compat import require

require("aif360", "aif360")

from aif360.explainers import MetricTextExplainer  # noqa: E402
from aif360.metrics import ClassificationMetric, Metric  # noqa: E402

from .._validation import Options, check_params  # noqa: E402
from ._catalog import AUDIENCES, METRICS, VERDICT_WORDS, verdict  # noqa: E402
from ._strings import to_text  # noqa: E402
from ._wording import compare  # noqa: E402

_NAN = (float("nan"), float("nan"))
# per-group rate behind each metric's "public" wording ("favourable": selection rate of a
# ClassificationMetric, base rate of a dataset metric)
_RATE = {
    "statistical_parity_difference": "favourable",
    "disparate_impact": "favourable",
    "equal_opportunity_difference": "true_positive_rate",
    "average_odds_difference": None,
    "false_positive_rate_difference": "false_positive_rate",
    "false_negative_rate_difference": "false_negative_rate",
    "error_rate_difference": "error_rate",
    "theil_index": None,
}


class AudienceMetricExplainer(MetricTextExplainer):
    """Drop-in replacement for AIF360's ``MetricTextExplainer`` with audience levels.

    Every method of ``MetricTextExplainer`` keeps its name and signature. For the fairness
    metrics the report covers (statistical parity difference, disparate impact, equal
    opportunity, average odds, false positive/negative rate and error rate differences, Theil
    index) the text depends on ``audience``: ``"expert"`` gives AIF360's sentence plus the
    definition and the threshold verdict, ``"decision_maker"`` the value, its verdict and what
    it means, ``"public"`` both groups' counts over one common denominator ("Out of every 10
    people: 6 in the women group vs 8 in the men group") and a plain verdict. The value
    is always the wrapped metric's own. Other metrics fall back to AIF360's text.

    On an AIF360 whose ``MetricTextExplainer.__init__`` takes ``audience`` itself (the audience
    levels of ``upstream_patches/aif360/0001-audience-levels.patch``), the parent words the
    text and this class hands over to it, so the expert annotation appears once.

    Args:
        metric (aif360.metrics.Metric): The metric to explain.
        audience (str): ``"expert"``, ``"decision_maker"`` or ``"public"``.
        group_names (tuple of str): Display names of the (unprivileged, privileged) groups, each
            read as "the <name> group" (default ("unprivileged", "privileged")).

    Raises:
        InvalidParameterError: (a ``ValueError`` and ``TypeError``) ``metric`` not an AIF360
            ``Metric``, an unknown ``audience``, ``group_names`` not a tuple or list.
        TypeError: ``group_names`` not two strings.
    """

    _parameter_constraints = {
        "metric": [Metric],
        "audience": [Options(str, AUDIENCES)],
        "group_names": [tuple, list],
    }

    def __init__(
        self,
        metric: Any,
        audience: str = "expert",
        group_names: tuple[str, str] = ("unprivileged", "privileged"),
    ) -> None:
        check_params(
            self,
            {"metric": metric, "audience": audience, "group_names": group_names},
            self._parameter_constraints,
        )
        if len(group_names) != 2 or not all(isinstance(g, str) for g in group_names):
            raise TypeError("group_names must be two strings: (unprivileged, privileged)")
        # An AIF360 with audience levels (upstream_patches/aif360) words the text itself once
        # ``self.audience`` is set: hand over to it rather than annotate twice.
        self._parent_words = "audience" in inspect.signature(super().__init__).parameters
        if self._parent_words:
            super().__init__(metric, audience=audience, group_names=tuple(group_names))
        else:
            super().__init__(metric)
        self.audience = audience
        self.group_names = tuple(group_names)

    def _explain(self, name: str, value: float, expert_text: str, rate: str | None) -> str:
        info = METRICS[name]
        v = verdict(float(value), _NAN, info.threshold)
        words = VERDICT_WORDS[self.audience][v]
        if self.audience == "expert":
            return f"{expert_text} [{info.definition}; threshold {info.threshold}: {words}]"
        if self.audience == "decision_maker":
            return f"{info.label}: {value:.3f} ({words}). {info.meaning}"
        u, p = self.group_names
        if rate is None:
            return f"{info.plain.capitalize()}: {value:.3f}. {info.meaning}"
        rates = [getattr(self.metric, rate)(privileged=priv) for priv in (False, True)]
        what = {
            "selection_rate": "How many got the favourable outcome?",
            "base_rate": "How many had the favourable outcome in the data?",
            "true_positive_rate": "Of those who merited the favourable outcome, how many got it?",
            "false_positive_rate": "Of those who did not merit it, how many got it by mistake?",
            "false_negative_rate": "Of those who merited it, how many had it withheld by mistake?",
            "error_rate": "How many were misjudged by the model?",
        }[rate]
        # one common denominator for both groups ("out of every 10 people: 6 vs 8")
        text = f"{what} {to_text(compare(rates[0], rates[1], u, p))}."
        return f"{text} {words.capitalize()}." if words else text

    def _say(self, name: str) -> str:
        text = getattr(super(), name)()
        if self._parent_words:  # the parent already worded ``text`` for self.audience
            return text
        return self._word(name, text)

    def _word(self, name: str, text: str) -> str:
        """Word the audience-independent ``text`` of metric ``name`` (AIF360 0.6.1's own text)."""
        rate = _RATE[name]
        if rate == "favourable":
            classif = isinstance(self.metric, ClassificationMetric)
            rate = "selection_rate" if classif else "base_rate"
        rate = rate if rate is not None and hasattr(self.metric, rate) else None
        return self._explain(name, getattr(self.metric, name)(), text, rate)

    def statistical_parity_difference(self) -> str:
        return self._say("statistical_parity_difference")

    def disparate_impact(self) -> str:
        return self._say("disparate_impact")

    def equal_opportunity_difference(self) -> str:
        return self._say("equal_opportunity_difference")

    def average_odds_difference(self) -> str:
        return self._say("average_odds_difference")

    def false_positive_rate_difference(self) -> str:
        return self._say("false_positive_rate_difference")

    def false_negative_rate_difference(self) -> str:
        return self._say("false_negative_rate_difference")

    def error_rate_difference(self) -> str:
        return self._say("error_rate_difference")

    def theil_index(self) -> str:
        return self._say("theil_index")
