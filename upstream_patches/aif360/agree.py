"""Agreement: ai4media_ext's AudienceMetricExplainer vs the patched aif360 MetricTextExplainer.

Run in the scratch environment of ``check.py aif360`` (patched AIF360 installed, ai4media-ext
installed with ``--no-deps``). Builds a seeded synthetic credit-style data set and a biased
classifier's predictions, then compares the two explainers' text for every audience, both metric
classes (ClassificationMetric, BinaryLabelDatasetMetric) and every fairness method they word.
Exits 1 on the first mismatch.

Two comparisons per text. Hand-over: on the patched parent the product's class detects that
``MetricTextExplainer`` takes ``audience`` and lets it word the text, so the product's output must
equal the patch's, with the expert annotation once. Own wording: the product's wording (what it
prints on the unpatched 0.6.1 parent), applied by ``AudienceMetricExplainer._word`` to the
audience-independent text (``MetricTextExplainer(metric)``, which ``test_default_text_unchanged``
in the patch pins to 0.6.1's), shares with the patch the value, the threshold verdict and the
expert text. Since #26 (commit 91481d9) the product's plain-language levels word the rest
differently (public: both groups over one common denominator, "Out of every 10 people: 3 in the
women group vs 6 in the men group", where the patch gives each group its own natural frequency,
"About 1 in 3 people in the women vs 6 in 10 in the men"; one decision-maker meaning sentence
says "withholds" for "refuses"), so the own wording is compared on those shared parts: the whole
expert text, the decision-maker's "label: value (verdict)" and the public verdict sentence.
"""

import sys

import numpy as np
import pandas as pd
from aif360.datasets import BinaryLabelDataset
from aif360.explainers import MetricTextExplainer
from aif360.metrics import BinaryLabelDatasetMetric, ClassificationMetric

from ai4media_ext.fairness.explainer import AudienceMetricExplainer

METHODS = (
    "statistical_parity_difference",
    "disparate_impact",
    "equal_opportunity_difference",
    "average_odds_difference",
    "false_positive_rate_difference",
    "false_negative_rate_difference",
    "error_rate_difference",
    "theil_index",
)
DATASET_METHODS = ("statistical_parity_difference", "disparate_impact")


GROUPS = dict(unprivileged_groups=[{"sex": 0}], privileged_groups=[{"sex": 1}])


def shared(ours, theirs, audience):
    """The parts of the product's own wording and the patch's that must be equal."""
    if audience == "decision_maker":  # "<label>: <value> (<verdict>). <meaning>"
        return tuple(t.split(").")[0] for t in (ours, theirs))
    if audience == "public":  # "<rates or value>. <verdict or meaning>."
        return tuple(t.rstrip(".").rsplit(". ", 1)[-1] for t in (ours, theirs))
    return ours, theirs


def datasets(seed, n=2000):
    rng = np.random.default_rng(seed)
    sex = rng.integers(0, 2, n)
    income = rng.normal(0.3 * sex, 1.0)
    label = (income + rng.normal(0, 0.5, n) > 0.2).astype(int)
    pred = (income + 0.4 * sex + rng.normal(0, 0.5, n) > 0.4).astype(int)

    def make(y):
        df = pd.DataFrame({"sex": sex, "income": income, "label": y})
        return BinaryLabelDataset(df=df, label_names=["label"], protected_attribute_names=["sex"])

    return make(label), make(pred)


def main():
    compared = 0
    for seed in (0, 1, 2):
        truth, pred = datasets(seed)
        metrics = [
            (ClassificationMetric(truth, pred, **GROUPS), METHODS),
            (BinaryLabelDatasetMetric(truth, **GROUPS), DATASET_METHODS),
        ]
        for metric, methods in metrics:
            for audience in ("expert", "decision_maker", "public"):
                for names in (("unprivileged group", "privileged group"), ("women", "men")):
                    ours = AudienceMetricExplainer(metric, audience=audience, group_names=names)
                    theirs = MetricTextExplainer(metric, audience=audience, group_names=names)
                    plain = MetricTextExplainer(metric)
                    for method in methods:
                        b = getattr(theirs, method)()
                        handed = getattr(ours, method)()
                        own = ours._word(method, getattr(plain, method)())
                        pairs = (("hand-over", handed, b), ("own wording", *shared(own, b, audience)))
                        for what, a, b in pairs:
                            if a != b:
                                print(f"MISMATCH ({what}) seed={seed} {audience} {method}:")
                                print(f"  product: {a}\n  patch:   {b}")
                                return 1
                        if audience == "expert" and handed.count(" [") != 1:
                            print(f"expert annotation not exactly once: {handed}")
                            return 1
                        compared += 1
    print(
        f"agree: {compared} explanations identical through the hand-over; the product's own "
        "wording has the same values, verdicts and expert text (3 seeds x 3 audiences x 2 "
        "group names)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
