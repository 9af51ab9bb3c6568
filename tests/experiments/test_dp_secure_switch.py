"""dp-secure-switch: its models fit under both variants; the full --quick run is slow-marked."""

import json

import numpy as np
import pytest

from ai4media_ext import registry
from ai4media_ext.experiments import run_experiments
from ai4media_ext.experiments.dp_secure_switch import (
    DATASETS,
    MODELS,
    QUICK_EPSILONS,
    VARIANTS,
    _load,
    _model,
)
from ai4media_ext.privacy import secure_mechanisms


@pytest.mark.parametrize("model", MODELS)
def test_models_fit_on_iris_with_and_without_the_switch(model):
    x, y = _load("iris", None)
    bounds = (x.min(axis=0), x.max(axis=0))
    scores = {}
    for variant in VARIANTS:
        clf = _model(model, 50.0, bounds, 0)
        if variant == "secure":
            with secure_mechanisms():
                clf.fit(x, y)
        else:
            clf.fit(x, y)
        scores[variant] = float((clf.predict(x) == y).mean())
    assert min(scores.values()) > 0.6, scores


def test_loader_uses_the_project_data_root(data_root):
    x, y = _load("german", data_root)
    assert x.shape == (1000, 58) and set(np.unique(y)) == {1, 2}


@pytest.mark.slow
def test_quick_run_keys(tmp_path, data_root):
    exp = registry.load("ai4media_ext.experiments", "dp-secure-switch")()
    (path,) = run_experiments([exp], tmp_path, quick=True, data_root=data_root)
    res = json.loads(path.read_text())
    for model in MODELS:
        for dataset in DATASETS:
            for variant in VARIANTS:
                for eps in QUICK_EPSILONS:
                    key = f"{model}_{dataset}_acc_{variant}_eps_{eps:g}"
                    assert 0.0 <= res[key] <= 1.0 and res[f"{key}_std"] >= 0.0
    assert (tmp_path / "dp-secure-switch" / "accuracy_original_vs_secure.png").exists()
