"""Robustness: ART attacks, defences/trainers, estimators and metrics (host: ART, extra ``[art]``)."""
