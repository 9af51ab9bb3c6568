"""Explainability: captum-style interpreters and torch-geometric models (extra ``[xai]``)."""
