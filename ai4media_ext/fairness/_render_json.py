"""FactSheet / model-card JSON of a fitted FairnessReport (schema ``SCHEMA``)."""

from __future__ import annotations

from typing import Any

from ._catalog import AUDIENCES, CAVEATS, METRICS, SCHEMA
from ._render_text import _clean, findings, glossary, probe_sentences
from ._strings import to_text


def factsheet(report: Any) -> dict[str, Any]:
    models = []
    for model in report.models_:
        fairness = {}
        for a in report.protected_attributes_:
            fairness[a] = {
                "metrics": report.metrics_[model][a],
                "groups": report.group_stats_[model][a],
                "explanations": {
                    aud: [
                        to_text(s)
                        for s in findings(report, model, a, aud)
                        + probe_sentences(report, model, a, aud)
                    ]
                    for aud in AUDIENCES
                },
            }
        accuracy = report.metrics_[model][report.protected_attributes_[0]]["accuracy"]["value"]
        models.append(
            {
                "name": model,
                "performance": {"accuracy": accuracy},
                "fairness": fairness,
                "probes": report.probes_.get(model, {}),
            }
        )
    return _clean(
        {
            "schema": SCHEMA,
            "dataset": {
                "name": report.dataset_name_,
                "n_records": report.n_records_,
                "favourable_outcome": report.favourable_outcome_,
                "outcome_terms": report.outcome_terms_,
                "categorical_features": report.categorical_features_,
                "protected_attributes": {
                    a: {k: v for k, v in g.items() if k != "column"}
                    for a, g in report.groups_.items()
                },
            },
            "models": models,
            "methodology": {
                "metrics": {
                    k: {
                        "label": v.label,
                        "definition": v.definition,
                        "ideal": v.ideal,
                        "threshold": report.band(k),
                        "source": v.source,
                    }
                    for k, v in METRICS.items()
                },  # fmt: skip
                "bootstrap_resamples": report.n_bootstrap,
                "confidence_level": report.confidence_level,
                "verdicts": "pass/fail when the value and its whole interval are on one side of "
                "the threshold, borderline when the interval crosses it",
                "metric_implementation": "AIF360 0.6.1 definitions (instance-weighted confusion "
                "counts; Theil index unweighted), vectorised over bootstrap resamples",
            },
            "considerations": {
                "caveats": list(CAVEATS),
                "glossary": {k: to_text(v) for k, v in glossary(report).items()},
            },
        }
    )
