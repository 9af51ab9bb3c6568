"""``result-path``: the ServerApp's final global model written as .npz (atomic, no pickle)."""

import json

import numpy as np
import pytest

pytest.importorskip("flwr")

from flwr.app import ArrayRecord, MetricRecord  # noqa: E402
from flwr.serverapp.strategy import Result  # noqa: E402

from ai4media_ext.apps.secure_fl import DEFAULTS, make_model, save_result, settings  # noqa: E402


def test_save_result_round_trips_the_state_dict_and_metrics(tmp_path):
    cfg = settings({"dataset": "digits"})
    state = make_model(cfg).state_dict()
    result = Result(
        arrays=ArrayRecord(state),
        train_metrics_clientapp={1: MetricRecord({"train-loss": 0.5})},
        evaluate_metrics_clientapp={1: MetricRecord({"accuracy": 0.75})},
    )
    path = save_result(result, tmp_path / "out" / "model.npz")
    with np.load(path, allow_pickle=False) as data:
        for key, value in state.items():
            np.testing.assert_array_equal(data[key], value.numpy())
        metrics = json.loads(str(data["__round_metrics__"]))
    assert metrics["train_metrics_clientapp"]["1"]["train-loss"] == 0.5
    assert metrics["evaluate_metrics_clientapp"]["1"]["accuracy"] == 0.75
    assert [p.name for p in path.parent.iterdir()] == ["model.npz"]  # no temporary left


def test_result_path_is_a_run_config_key_of_the_app():
    from pathlib import Path

    import tomllib

    app = Path(__file__).resolve().parents[2] / "plugins" / "flower_secure_fl" / "pyproject.toml"
    config = tomllib.loads(app.read_text())["tool"]["flwr"]["app"]["config"]
    assert set(config) == set(DEFAULTS) and DEFAULTS["result-path"] == ""
