"""Audience-adaptive fairness report over AIF360 data sets: metrics, bootstrap intervals,
verdicts, per-group confusion matrices and model probing, as HTML, Markdown and FactSheet JSON."""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._compat import require
from .._io import write_text_atomic
from .._validation import Interval, check_params
from . import _stats, _wording
from ._catalog import AUDIENCES, METRICS, SCHEMA, verdict  # noqa: F401 (SCHEMA re-exported)
from .probing import probe_attribute

__all__ = ["FairnessReport"]


class FairnessReport:
    """Fairness audit of one or more models on an AIF360 ``BinaryLabelDataset``, readable by
    experts, decision makers and the public.

    For each protected attribute and model it computes AIF360's dataset and classification
    metrics (vectorised over bootstrap resamples, equal to AIF360's own values on the data),
    percentile bootstrap confidence intervals, a verdict per metric against documented thresholds
    (four-fifths rule for disparate impact, ``|difference| <= 0.1`` otherwise; a verdict is
    ``borderline`` when the interval crosses the threshold), per-group confusion matrices and,
    for scikit-learn models, probes of individual records (nearest decision-flipping
    counterfactual, effect of flipping only the protected attribute).

    The audience changes wording and depth, never the numbers: every output is rendered from the
    same fitted attributes.

    Parameters
    ----------
    n_bootstrap : int, default 200
        Bootstrap resamples for the confidence intervals (0 disables them).
    confidence_level : float, default 0.95
        Coverage of the intervals, in (0, 1).
    thresholds : dict, optional
        Overrides of the fair band ``(low, high)`` per metric name (``None`` removes the verdict).
    n_probes : int, default 3
        Records probed per protected attribute (unprivileged records with an unfavourable
        decision) when a model is a fitted classifier; 0 disables probing.
    random_state : int or numpy Generator, optional
        Seeds the bootstrap and the choice of probed records.
    outcome_terms : dict, optional
        The outcome words of the public and decision-maker levels: ``"favourable"`` and
        ``"unfavourable"`` (nouns, default "the favourable outcome" / "the unfavourable
        outcome"), ``"favourable_verb"`` and ``"unfavourable_verb"`` (verb phrases that fit
        "How many ...?", default "got <noun>"), e.g. ``{"favourable": "a loan",
        "unfavourable": "a refusal", "favourable_verb": "were granted a loan"}``.
    feature_descriptions : dict, optional
        Plain descriptions of features (``{"priors_count": "number of prior offences"}``) and of
        category values (key ``"feature=value"``), over those of the data set's metadata
        (``feature_descriptions`` / ``category_descriptions``, set by
        :func:`ai4media_ext.data.load_aif360`). Raw names appear only at the expert level.

    Attributes
    ----------
    dataset_name_, favourable_outcome_, n_records_ : str, str, int
    protected_attributes_ : list of str
    groups_ : dict
        Per attribute: privileged / unprivileged values, display names and sizes.
    models_ : list of str
    metrics_ : dict
        ``metrics_[model][attribute][metric]`` = ``{"value", "ci_low", "ci_high", "verdict",
        "threshold"}``.
    group_stats_ : dict
        ``group_stats_[model][attribute][group]`` = rates (with intervals) and confusion counts.
    probes_ : dict
        ``probes_[model][attribute]`` = protected-flip rate and probed records.
    """

    _parameter_constraints = {
        "n_bootstrap": [Interval(numbers.Integral, 0, None, closed="left")],
        "confidence_level": [Interval(numbers.Real, 0, 1, closed="neither")],
        "thresholds": [Mapping, None],
        "n_probes": [Interval(numbers.Integral, 0, None, closed="left")],
        "random_state": [
            Interval(numbers.Integral, 0, None, closed="left"),
            np.random.Generator,
            None,
        ],
        "outcome_terms": [Mapping, None],
        "feature_descriptions": [Mapping, None],
    }

    def __init__(
        self,
        *,
        n_bootstrap: int = 200,
        confidence_level: float = 0.95,
        thresholds: Mapping[str, tuple[float, float] | None] | None = None,
        n_probes: int = 3,
        random_state: int | np.random.Generator | None = None,
        outcome_terms: Mapping[str, str] | None = None,
        feature_descriptions: Mapping[str, str] | None = None,
    ) -> None:
        self.n_bootstrap = n_bootstrap
        self.confidence_level = confidence_level
        self.thresholds = thresholds
        self.n_probes = n_probes
        self.random_state = random_state
        self.outcome_terms = outcome_terms
        self.feature_descriptions = feature_descriptions
        self._check_params()

    def _check_params(self) -> None:
        check_params(
            self,
            {name: getattr(self, name) for name in self._parameter_constraints},
            self._parameter_constraints,
        )
        for metric, band in (self.thresholds or {}).items():
            if metric not in METRICS:
                raise ValueError(f"thresholds: unknown metric {metric!r}; valid: {sorted(METRICS)}")
            if band is not None and (len(band) != 2 or not band[0] <= band[1]):
                raise ValueError(f"thresholds[{metric!r}] must be (low, high) with low <= high")
        _wording.check_terms(self.outcome_terms)

    def band(self, metric: str) -> tuple[float, float] | None:
        if self.thresholds and metric in self.thresholds:
            return self.thresholds[metric]
        return METRICS[metric].threshold

    # ------------------------------------------------------------------ audit
    def audit(
        self,
        dataset: Any,
        predictions: Any,
        *,
        features: np.ndarray | None = None,
        protected_attributes: Sequence[str] | None = None,
        dataset_name: str | None = None,
        favourable_outcome: str | None = None,
        categorical_features: Sequence[str] | None = None,
    ) -> FairnessReport:
        """Compute everything the report shows.

        Parameters
        ----------
        dataset : aif360.datasets.BinaryLabelDataset
            Ground truth: labels, protected attributes and instance weights.
        predictions : BinaryLabelDataset, array-like, fitted classifier, or a mapping of those
            The model's decisions: a copy of ``dataset`` with predicted labels, an array of
            predicted labels, or a fitted scikit-learn classifier (applied to ``features``).
            A mapping ``{"model name": predictions}`` audits several models side by side (e.g.
            before and after a mitigation).
        features : ndarray, optional
            Inputs of the classifiers (default ``dataset.features``).
        protected_attributes : list of str, optional
            Subset of ``dataset.protected_attribute_names`` (default all).
        dataset_name, favourable_outcome : str, optional
            Display names (default from the data set's class and label map).
        categorical_features : list of str, optional
            Features one-hot encoded as ``name=value`` columns (default the data set's
            ``metadata["categorical_features"]``, else none: column names are never parsed to
            guess a group).
        """
        require("aif360", "aif360")
        from aif360.datasets import BinaryLabelDataset

        if not isinstance(dataset, BinaryLabelDataset):
            raise TypeError(
                f"dataset must be an aif360 BinaryLabelDataset, got {type(dataset).__name__}"
            )
        n = dataset.labels.shape[0]
        if n == 0:
            raise ValueError("dataset has no records")
        names = list(dataset.protected_attribute_names)
        attrs = list(names if protected_attributes is None else protected_attributes)
        for a in attrs:
            if a not in names:
                raise ValueError(
                    f"protected attribute {a!r} is not in the data set; valid: {names}"
                )
        if not attrs:
            raise ValueError("protected_attributes must name at least one attribute")
        x = dataset.features if features is None else np.asarray(features, dtype=float)
        if x.shape[0] != n:
            raise ValueError(f"features have {x.shape[0]} rows, the data set has {n} records")
        meta = dataset.metadata or {}
        label_map = (meta.get("label_maps") or [None])[0] or {}
        fav = dataset.favorable_label
        self.dataset_name_ = str(dataset_name or type(dataset).__name__.replace("Dataset", ""))
        self.favourable_outcome_ = str(favourable_outcome or label_map.get(fav, f"label {fav:g}"))
        self._wording_attributes(meta, categorical_features)
        self.n_records_ = int(n)
        self.protected_attributes_ = attrs
        self.groups_, group_codes = {}, {}
        for a in attrs:
            self.groups_[a], group_codes[a] = _stats.attribute_groups(dataset, a)
        self._audit_models(dataset, predictions, x, group_codes, BinaryLabelDataset)
        return self

    def _wording_attributes(self, meta: Mapping, categorical: Sequence[str] | None) -> None:
        """``outcome_terms_``, ``feature_descriptions_``, ``category_descriptions_`` and
        ``categorical_features_`` from the parameters and the data set's metadata."""
        self.outcome_terms_ = _wording.resolve_terms(self.outcome_terms)
        self.feature_descriptions_ = {
            **{str(k): str(v) for k, v in (meta.get("feature_descriptions") or {}).items()},
            **{str(k): str(v) for k, v in (self.feature_descriptions or {}).items()},
        }
        self.category_descriptions_ = dict(meta.get("category_descriptions") or {})
        chosen = meta.get("categorical_features") if categorical is None else categorical
        self.categorical_features_ = [str(c) for c in (chosen or [])]

    def _audit_models(
        self, dataset: Any, predictions: Any, x: np.ndarray, group_codes: dict, bld: type
    ) -> None:
        """Metrics, group statistics and probes of every model (one bootstrap stream)."""
        n, fav = self.n_records_, dataset.favorable_label
        y_true = dataset.labels.ravel() == fav
        weights = np.asarray(dataset.instance_weights, dtype=float).ravel()
        models = predictions if isinstance(predictions, Mapping) else {"model": predictions}
        if not models:
            raise ValueError("predictions must hold at least one model")
        rng = np.random.default_rng(self.random_state)
        self.models_ = [str(m) for m in models]
        self.metrics_, self.group_stats_, self.probes_ = {}, {}, {}
        for model, pred in models.items():
            model = str(model)
            y_pred, clf = self._model_decisions(pred, x, n, fav, model, bld)
            self.metrics_[model], self.group_stats_[model] = {}, {}
            for a in self.protected_attributes_:
                cells = _stats.cell_ids(y_true, y_pred, group_codes[a])
                sums, counts = _stats.replicate_counts(cells, weights, self.n_bootstrap, rng)
                self.metrics_[model][a] = self._metric_entries(sums, counts)
                self.group_stats_[model][a] = self._group_entries(sums)
            if clf is not None and self.n_probes:
                self.probes_[model] = {
                    a: probe_attribute(
                        clf, x, dataset, a, self.groups_[a], group_codes[a], y_pred, fav, rng,
                        self.n_probes, self.categorical_features_,
                    )
                    for a in self.protected_attributes_
                }  # fmt: skip

    @staticmethod
    def _model_decisions(
        pred: Any, x: np.ndarray, n: int, fav: float, model: str, bld: type
    ) -> tuple[np.ndarray, Any]:
        clf = None
        if isinstance(pred, bld):
            labels = pred.labels.ravel()
        elif hasattr(pred, "predict") and hasattr(pred, "fit"):
            clf = pred
            labels = np.asarray(pred.predict(x)).ravel()
        else:
            labels = np.asarray(pred)
            if labels.ndim == 2 and labels.shape[1] == 1:
                labels = labels.ravel()
            if labels.ndim != 1:
                raise ValueError(
                    f"predictions for {model!r} must be 1-D labels, got shape {labels.shape}"
                )
        if labels.shape[0] != n:
            raise ValueError(
                f"predictions for {model!r} have {labels.shape[0]} entries, "
                f"the data set has {n} records"
            )
        return labels == fav, clf

    def _metric_entries(self, sums: np.ndarray, counts: np.ndarray) -> dict[str, dict]:
        table = _stats.metric_table(sums, counts)
        out = {}
        for name in METRICS:
            samples = table[name]
            value = float(samples[0])
            ci = (
                _stats.percentile_interval(samples[1:], self.confidence_level)
                if self.n_bootstrap
                else (float("nan"), float("nan"))
            )
            band = self.band(name)
            out[name] = {
                "value": value,
                "ci_low": ci[0],
                "ci_high": ci[1],
                "threshold": list(band) if band else None,
                "verdict": verdict(value, ci, band),
            }
        out["accuracy"] = {"value": float(table["accuracy"][0])}
        return out

    def _group_entries(self, sums: np.ndarray) -> dict[str, dict]:
        rates = _stats.group_rates(sums)
        out = {}
        for g, key in ((1, "privileged"), (0, "unprivileged")):
            entry: dict[str, Any] = {
                "confusion": {c: float(sums[0, g * 4 + j]) for j, c in enumerate(_stats.CELLS)}
            }
            for name, arr in rates.items():
                if name == "num_instances":
                    entry[name] = float(arr[0, g])
                    continue
                ci = (
                    _stats.percentile_interval(arr[1:, g], self.confidence_level)
                    if self.n_bootstrap
                    else (float("nan"), float("nan"))
                )
                entry[name] = {"value": float(arr[0, g]), "ci_low": ci[0], "ci_high": ci[1]}
            out[key] = entry
        return out

    # ------------------------------------------------------------------ outputs
    def _check_fitted(self) -> None:
        if not hasattr(self, "metrics_"):
            raise RuntimeError("call audit(dataset, predictions) before rendering the report")

    def to_dict(self) -> dict[str, Any]:
        """The report as a FactSheet / model-card-like structure (numbers plus the wording for
        every audience)."""
        self._check_fitted()
        from ._render import factsheet

        return factsheet(self)

    def to_markdown(self, audience: str = "expert") -> str:
        self._check_fitted()
        _check_audience(audience)
        from ._render import markdown

        return markdown(self, audience)

    def to_html(self, audience: str = "public") -> str:
        """One self-contained offline page (plotly embedded) with an audience switch; ``audience``
        is the level shown first."""
        self._check_fitted()
        _check_audience(audience)
        from ._render import html_page

        return html_page(self, audience)

    def write(
        self, directory: str | os.PathLike[str], stem: str | None = None, audience: str = "public"
    ) -> dict[str, Path]:
        """Write ``<stem>.html``, ``<stem>.json`` and ``<stem>.<audience>.md`` for every audience,
        each atomically (a failure never leaves a half-written file)."""
        import json

        self._check_fitted()
        _check_audience(audience)
        directory = Path(directory)
        stem = stem or "fairness_report"
        texts = {
            f"{stem}.html": self.to_html(audience),
            f"{stem}.json": json.dumps(self.to_dict(), indent=2, allow_nan=False, default=str),
            **{f"{stem}.{a}.md": self.to_markdown(a) for a in AUDIENCES},
        }
        return {name: write_text_atomic(directory / name, text) for name, text in texts.items()}


def _check_audience(audience: str) -> None:
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {AUDIENCES}, got {audience!r}")
