"""Audience-adaptive fairness reports for Adult, German and Bank, before and after Reweighing
(German credit only, from the copy shipped in the package, without a data root)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._core import Experiment, RunContext, save_figure

#: data set -> protected attributes reported (the first is the one Reweighing balances)
DATASETS = {"adult": ("sex", "race"), "german": ("age", "sex"), "bank": ("age",)}
NAMES = {"adult": "Adult census income", "german": "German credit", "bank": "Bank marketing"}
#: the outcome words of the public and decision-maker levels, per data set
OUTCOME_TERMS = {
    "adult": {"favourable": "an income above $50K", "unfavourable": "an income of $50K or less",
              "favourable_verb": "were predicted to earn above $50K",
              "unfavourable_verb": "were predicted to earn $50K or less"},
    "german": {"favourable": "a good credit rating", "unfavourable": "a bad credit rating",
               "favourable_verb": "were rated good credit risks",
               "unfavourable_verb": "were rated bad credit risks"},
    "bank": {"favourable": "a term-deposit subscription", "unfavourable": "no subscription",
             "favourable_verb": "were predicted to subscribe",
             "unfavourable_verb": "were predicted not to subscribe"},
}  # fmt: skip


def logistic_regression(random_state: int) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=2000, random_state=random_state)
    )


def before_after_models(train: Any, attribute: str, seed: int) -> dict[str, Any]:
    """Logistic regression on the training set as is, and on AIF360's Reweighing weights
    (balancing ``attribute`` against the label)."""
    from aif360.algorithms.preprocessing import Reweighing

    before = logistic_regression(seed).fit(train.features, train.labels.ravel())
    i = train.protected_attribute_names.index(attribute)
    rw = Reweighing(
        unprivileged_groups=[{attribute: v} for v in train.unprivileged_protected_attributes[i]],
        privileged_groups=[{attribute: v} for v in train.privileged_protected_attributes[i]],
    )
    weighted = rw.fit_transform(train)
    after = logistic_regression(seed).fit(
        weighted.features,
        weighted.labels.ravel(),
        logisticregression__sample_weight=weighted.instance_weights,
    )
    return {"before": before, "after": after}


class FairnessReportExperiment(Experiment):
    """Fairness reports (expert / decision maker / public) before and after Reweighing."""

    name = "fairness-report"
    title = "Audience-adaptive fairness reports with model probing, before and after Reweighing"
    reference = "AI4Media D4.1 §6.2; Kamiran & Calders (2012) Reweighing via AIF360 0.6.1"
    # Adult and Bank come from the offline AIF360 raw files; German credit is shipped in the
    # package (CC BY 4.0), so without a data root the experiment reports German only.
    needs_data = False

    def run(self, ctx: RunContext) -> dict[str, float]:
        from .. import data as loaders
        from ..fairness import FairnessReport
        from ..fairness._catalog import METRICS

        results: dict[str, Any] = {}
        bars: dict[str, dict[str, float]] = {}
        datasets = DATASETS if ctx.data_root is not None else {"german": DATASETS["german"]}
        for name, attributes in datasets.items():
            ds = loaders.load_aif360(name, ctx.data_root)
            train, test = ds.split([0.7], shuffle=True, seed=ctx.seed)
            models = before_after_models(train, attributes[0], ctx.seed)
            report = FairnessReport(
                n_bootstrap=100 if ctx.quick else 1000,
                random_state=ctx.seed,
                outcome_terms=OUTCOME_TERMS[name],
            ).audit(test, models, protected_attributes=list(attributes), dataset_name=NAMES[name])
            report.write(ctx.out_dir / name, stem=f"{name}_fairness_report")
            for stage in ("before", "after"):
                for a in attributes:
                    m = report.metrics_[stage][a]
                    for metric in METRICS:
                        results[f"{name}_{a}_{metric}_{stage}"] = m[metric]["value"]
                        results[f"{name}_{a}_{metric}_{stage}_ci_low"] = m[metric]["ci_low"]
                        results[f"{name}_{a}_{metric}_{stage}_ci_high"] = m[metric]["ci_high"]
                    results[f"{name}_{a}_accuracy_{stage}"] = m["accuracy"]["value"]
                    probes = report.probes_.get(stage, {}).get(a, {})
                    if probes.get("protected_flip_rate") is not None:
                        results[f"{name}_{a}_protected_flip_rate_{stage}"] = probes[
                            "protected_flip_rate"
                        ]
                    bars.setdefault(f"{name}: {a}", {})[stage] = m["disparate_impact"]["value"]
            results[f"{name}_n_test"] = report.n_records_
        self._plot(ctx, bars)
        return results

    @staticmethod
    def _plot(ctx: RunContext, bars: dict[str, dict[str, float]]) -> None:
        import matplotlib.pyplot as plt

        labels = list(bars)
        x = np.arange(len(labels))
        fig, ax = plt.subplots(figsize=(1.6 * len(labels) + 2, 3.5))
        for j, stage in enumerate(("before", "after")):
            ax.bar(
                x + (j - 0.5) * 0.38,
                [bars[k][stage] for k in labels],
                0.38,
                label=f"{stage} Reweighing",
            )
        ax.axhspan(0.8, 1.25, color="green", alpha=0.12, label="four-fifths band")
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_xticks(x, labels, rotation=20)
        ax.set_ylabel("disparate impact (test set)")
        ax.legend(fontsize=8)
        save_figure(fig, ctx.out_dir / "disparate_impact.png")
