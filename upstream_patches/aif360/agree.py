"""Agreement: ai4media_ext's AudienceMetricExplainer vs the patched aif360 MetricTextExplainer.

Run in the scratch environment of ``check.py aif360`` (patched AIF360 installed, ai4media-ext
installed with ``--no-deps``). Builds a seeded synthetic credit-style data set and a biased
classifier's predictions, then compares the two explainers' text for every audience, both metric
classes (ClassificationMetric, BinaryLabelDatasetMetric) and every fairness method they word.
Exits 1 on the first mismatch.

The product's class subclasses ``MetricTextExplainer`` and appends the expert annotation to the
parent's text itself. On the patched parent (which annotates too once ``self.audience`` is set)
the expert text would be annotated twice, so the product class is run here on the parent's
0.6.1 behaviour: ``_ReleaseParent`` switches the patch's audience step off for it (the
release's audience-independent text, which ``test_default_text_unchanged`` in the patch pins).
Once the patch is merged upstream the product's class reduces to the upstream one.
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


class _ReleaseParent(AudienceMetricExplainer):
    """The product's explainer on top of the unpatched (0.6.1) parent text."""

    def _for_audience(self, name, value, text, rate=None):
        return text


GROUPS = dict(unprivileged_groups=[{"sex": 0}], privileged_groups=[{"sex": 1}])


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
                    ours = _ReleaseParent(metric, audience=audience, group_names=names)
                    theirs = MetricTextExplainer(metric, audience=audience, group_names=names)
                    for method in methods:
                        a, b = getattr(ours, method)(), getattr(theirs, method)()
                        if a != b:
                            print(f"MISMATCH seed={seed} {audience} {method}:\n  {a}\n  {b}")
                            return 1
                        compared += 1
    print(f"agree: {compared} explanations identical (3 seeds x 3 audiences x 2 group names)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
