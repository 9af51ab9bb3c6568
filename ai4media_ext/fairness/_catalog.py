"""What each reported metric is, its threshold, and how to say it to each audience.

One entry per metric, shared by the report and the AIF360 explainer, so a number is worded the
same way wherever it appears. Thresholds follow common practice: the four-fifths (80 %) rule of
the US EEOC Uniform Guidelines for disparate impact, and AIF360's own guidance of |difference| <= 0.1
for the difference metrics; the Theil index has no accepted threshold and gets no verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

AUDIENCES = ("expert", "decision_maker", "public")
#: the FactSheet JSON schema id written by ``FairnessReport.to_dict``
SCHEMA = "ai4media-ext/fairness-factsheet/1"


@dataclass(frozen=True)
class MetricInfo:
    name: str  # AIF360 method name
    label: str  # expert display name
    plain: str  # plain-language name
    definition: str  # formula / precise meaning (expert)
    meaning: str  # what it tells a decision maker
    ideal: float
    threshold: tuple[float, float] | None  # fair band, inclusive
    source: str  # "labels" (ground truth only) or "predictions"


METRICS: dict[str, MetricInfo] = {
    m.name: m
    for m in (
        MetricInfo(
            "base_rate_difference",
            "Base rate difference (labels)",
            "gap in the recorded outcomes",
            "P(Y=fav | unprivileged) - P(Y=fav | privileged), ground-truth labels (AIF360 "
            "BinaryLabelDatasetMetric.statistical_parity_difference on the data set)",
            "How different the historical outcomes in the data already are between the groups, "
            "before any model is involved.",
            0.0,
            (-0.1, 0.1),
            "labels",
        ),
        MetricInfo(
            "statistical_parity_difference",
            "Statistical parity difference",
            "gap in favourable decisions",
            "P(Ŷ=fav | unprivileged) - P(Ŷ=fav | privileged) (AIF360 ClassificationMetric)",
            "The difference in the share of each group that the model gives the favourable outcome.",
            0.0,
            (-0.1, 0.1),
            "predictions",
        ),
        MetricInfo(
            "disparate_impact",
            "Disparate impact",
            "ratio of favourable-decision rates",
            "P(Ŷ=fav | unprivileged) / P(Ŷ=fav | privileged); four-fifths rule: >= 0.8 "
            "(and <= 1.25 for the reverse direction)",
            "The unprivileged group's rate of favourable decisions as a fraction of the privileged "
            "group's. Below 0.8 fails the four-fifths rule used in US employment guidelines.",
            1.0,
            (0.8, 1.25),
            "predictions",
        ),
        MetricInfo(
            "equal_opportunity_difference",
            "Equal opportunity difference",
            "gap in favourable outcomes for those who merit them",
            "TPR(unprivileged) - TPR(privileged)",
            "Among people who really merit the favourable outcome, how much less (or more) often the "
            "model gives it to the unprivileged group.",
            0.0,
            (-0.1, 0.1),
            "predictions",
        ),
        MetricInfo(
            "average_odds_difference",
            "Average odds difference",
            "average gap in both kinds of decisions",
            "((FPR_u - FPR_p) + (TPR_u - TPR_p)) / 2",
            "The average of the gaps in correct and in mistaken favourable decisions.",
            0.0,
            (-0.1, 0.1),
            "predictions",
        ),
        MetricInfo(
            "false_positive_rate_difference",
            "False positive rate difference",
            "gap in mistaken favourable decisions",
            "FPR(unprivileged) - FPR(privileged)",
            "Among people who do not merit the favourable outcome, the difference in how often the "
            "model wrongly gives it.",
            0.0,
            (-0.1, 0.1),
            "predictions",
        ),
        MetricInfo(
            "false_negative_rate_difference",
            "False negative rate difference",
            "gap in favourable outcomes wrongly withheld",
            "FNR(unprivileged) - FNR(privileged)",
            "Among people who merit the favourable outcome, the difference in how often the model "
            "wrongly withholds it.",
            0.0,
            (-0.1, 0.1),
            "predictions",
        ),
        MetricInfo(
            "error_rate_difference",
            "Error rate difference",
            "gap in mistakes",
            "ERR(unprivileged) - ERR(privileged)",
            "The difference in how often the model is wrong for each group.",
            0.0,
            (-0.1, 0.1),
            "predictions",
        ),
        MetricInfo(
            "theil_index",
            "Theil index",
            "unevenness of benefit between individuals",
            "(1/n) sum_i (b_i/mu) ln(b_i/mu), b_i = ŷ_i - y_i + 1 (generalized entropy, alpha = 1)",
            "How unevenly the model's mistakes benefit or harm individuals (0 = perfectly even); "
            "it has no accepted pass/fail threshold.",
            0.0,
            None,
            "predictions",
        ),
    )  # fmt: skip
}

GLOSSARY = {
    "favourable outcome": "The outcome the people concerned would want.",
    "privileged group": "The group that historically received the favourable outcome more often; "
    "it is the reference the other group is compared to.",
    "unprivileged group": "The group compared against the privileged one.",
    "confidence interval": "The range in which the value would most likely fall if the data were "
    "collected again; a wide range means the data are too few to be sure.",
    "four-fifths rule": "A rule of thumb from US employment guidelines: if one group's rate of "
    "favourable decisions is less than 80% of another's, the gap should be investigated.",
    "counterfactual": "The smallest change to a person's record that would change the model's "
    "decision.",
}

CAVEATS = (
    "A gap between groups is a signal to investigate, not proof of discrimination or intent.",
    "The numbers describe groups, not any single person.",
    "They only cover the groups recorded in the data, with the categories the data uses.",
    "Small groups give uncertain numbers: look at the confidence intervals.",
    "Fairness measures can conflict: improving one can worsen another.",
)


def verdict(value: float, ci: tuple[float, float], band: tuple[float, float] | None) -> str:
    """``pass`` / ``fail`` when the value and its whole confidence interval are on one side of the
    threshold, ``borderline`` when the interval crosses it, ``n/a`` without a threshold."""
    if band is None or value != value:
        return "n/a"
    lo, hi = band
    inside = lo <= value <= hi
    ci_inside = lo <= ci[0] and ci[1] <= hi
    ci_outside = ci[1] < lo or ci[0] > hi
    if inside and (ci_inside or ci[0] != ci[0]):
        return "pass"
    if not inside and (ci_outside or ci[0] != ci[0]):
        return "fail"
    return "borderline"


VERDICT_WORDS = {
    "expert": {"pass": "within threshold", "fail": "outside threshold",
               "borderline": "borderline (CI crosses the threshold)", "n/a": "no threshold"},
    "decision_maker": {"pass": "acceptable", "fail": "needs attention",
                       "borderline": "uncertain: collect more evidence", "n/a": "for information"},
    "public": {"pass": "no large gap found", "fail": "a large gap was found",
               "borderline": "the data cannot tell for sure", "n/a": ""},
}  # fmt: skip


def natural_frequency(p: float) -> str:
    """A probability as a natural frequency a lay reader can picture: "about 1 in 4" for small
    rates, "7 in 10" in the middle, "97 in 100" near the ends."""
    if p != p:
        return "no one (no records)"
    if p <= 0:
        return "none"
    if p >= 1:
        return "all"

    def say(k: int, n: int) -> str:
        return f"{'' if abs(k / n - p) <= 0.02 * p else 'about '}{k} in {n}"

    if p < 0.5 and abs(1 / round(1 / p) - p) <= 0.1 * p:
        return say(1, round(1 / p))
    if 0.05 <= p <= 0.95 and 0 < round(10 * p) < 10:
        return say(round(10 * p), 10)
    k = round(100 * p)
    if k == 0:
        return "fewer than 1 in 100"
    if k == 100:
        return "more than 99 in 100"
    return say(k, 100)
