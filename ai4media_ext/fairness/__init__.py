"""Fairness: AIF360 metrics, explainers and reports (host: AIF360, extra ``[aif360]``)."""
