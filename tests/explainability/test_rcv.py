"""RCV on a toy network with a known answer, controls, captum interoperability, bad input."""

import json

import numpy as np
import pytest
import torch
from captum.concept import TCAV, Concept, ConceptInterpreter
from captum.concept._utils.classifier import DefaultClassifier
from captum.testing.helpers.basic_models import BasicModel_ConvNet
from torch import nn
from torch.utils.data import DataLoader

from ai4media_ext.experiments import run_experiments
from ai4media_ext.experiments.rcv import RCVExperiment
from ai4media_ext.explainability.rcv import RCV, RegressionConcept, least_squares


class Toy(nn.Module):
    """Activations of ``embed`` are exactly ``m * w + b`` for the scalar input ``m``."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(1, 8)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        h = self.embed(x)
        return self.head(torch.tanh(h) + h)


@pytest.fixture
def toy():
    torch.manual_seed(0)
    return Toy()


def test_recovers_the_direction_and_r2(toy):
    m = torch.linspace(-2, 2, 300)[:, None]
    concept = RegressionConcept(0, "m", DataLoader(m, batch_size=64), m.flatten())
    rcv = RCV(toy, "embed")
    fit = rcv.compute_rcvs([concept])[("m-0", "embed")]
    w = toy.embed.weight.detach().double().flatten()
    cosine = torch.dot(fit["direction"], w / w.norm())
    assert cosine > 0.99
    assert fit["r2"] > 0.999 and fit["r2_folds"].min() > 0.999


def test_sensitivity_is_the_directional_derivative(toy):
    m = torch.linspace(-2, 2, 120)[:, None]
    concept = RegressionConcept(0, "m", DataLoader(m, batch_size=50), m.flatten())
    rcv = RCV(toy, ["embed"])
    inputs = torch.randn(10, 1)
    out = rcv.interpret(inputs, [concept], target=2)["m-0"]["embed"]
    v = rcv.rcvs[("m-0", "embed")]["direction"]
    # d out_2 / d embed = head.weight[2] * (1 - tanh^2(embed) + 1)
    act = toy.embed(inputs).detach().double()
    grad = toy.head.weight[2].detach().double() * (2 - torch.tanh(act) ** 2)
    torch.testing.assert_close(out["sensitivity"], grad @ v)
    s = out["sensitivity"]
    assert out["tcav"] == (s > 0).double().mean()
    assert out["br_score"] == pytest.approx(float(out["r2"] * s.mean() / s.std()))


def test_shuffled_measure_has_no_r2(toy):
    m = torch.linspace(-2, 2, 300)[:, None]
    shuffled = m.flatten()[torch.randperm(300, generator=torch.Generator().manual_seed(1))]
    concept = RegressionConcept(0, "shuffled", DataLoader(m, batch_size=64), shuffled)
    fit = RCV(toy, "embed").compute_rcvs([concept])[("shuffled-0", "embed")]
    assert fit["r2"] < 0.05


def test_least_squares_known_answer():
    a = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [2.0, 1.0]], dtype=torch.float64)
    y = a @ torch.tensor([2.0, -1.0], dtype=torch.float64) + 0.5
    coef, intercept = least_squares(a, y)
    torch.testing.assert_close(coef, torch.tensor([2.0, -1.0], dtype=torch.float64))
    assert float(intercept) == pytest.approx(0.5)
    shrunk, _ = least_squares(a, y, ridge=10.0)
    assert shrunk.norm() < coef.norm()


def test_runs_where_captum_tcav_runs(tmp_path):
    """Same model, layer and Concept data as captum's own TCAV tests."""
    torch.manual_seed(0)
    model = BasicModel_ConvNet().eval()
    images = torch.rand(40, 1, 10, 10)
    stripes, random = images[:20], images[20:]
    c0 = Concept(0, "stripes", DataLoader(stripes, batch_size=10))
    c1 = Concept(1, "random", DataLoader(random, batch_size=10))
    tcav = TCAV(model, ["conv2"], classifier=DefaultClassifier(), save_path=str(tmp_path))
    inputs = torch.rand(6, 1, 10, 10)
    tcav_out = tcav.interpret(inputs, [[c0, c1]], target=0)
    assert "0-1" in tcav_out and "conv2" in tcav_out["0-1"]

    brightness = images.mean(dim=(1, 2, 3))
    r0 = RegressionConcept(0, "brightness", c0.data_iter, brightness[:20])
    r1 = RegressionConcept(1, "brightness_random", c1.data_iter, brightness[20:])
    rcv = RCV(model, ["conv2"])
    assert isinstance(rcv, ConceptInterpreter) and isinstance(r0, Concept)
    out = rcv.interpret(inputs, [r0, r1], target=0)
    assert set(out) == {"brightness-0", "brightness_random-1"}
    assert out["brightness-0"]["conv2"]["sensitivity"].shape == (6,)


def test_bad_inputs(toy):
    with pytest.raises(ValueError, match="valid layer names.*embed"):
        RCV(toy, ["conv9"])
    with pytest.raises(ValueError, match="n_splits"):
        RCV(toy, "embed", n_splits=1)
    with pytest.raises(ValueError, match="ridge"):
        RCV(toy, "embed", ridge=-1)
    m = torch.linspace(0, 1, 30)[:, None]
    with pytest.raises(TypeError, match="RegressionConcept"):
        RCV(toy, "embed").compute_rcvs([Concept(0, "plain", DataLoader(m))])
    with pytest.raises(ValueError, match="measures"):
        RCV(toy, "embed").compute_rcvs([RegressionConcept(0, "c", DataLoader(m), m[:10])])
    with pytest.raises(ValueError, match="finite"):
        RegressionConcept(0, "c", DataLoader(m), np.full(30, np.nan))


def test_experiment_embedded_default(tmp_path):
    (path,) = run_experiments([RCVExperiment()], tmp_path, quick=True)
    res = json.loads(path.read_text())
    assert res["dataset"] == "digits" and res["cnn_test_accuracy"] > 0.85
    for concept in ("contrast", "area", "eccentricity"):
        for layer in ("conv1", "conv2", "conv3", "fc1"):
            assert f"{concept}_{layer}_r2" in res
            assert res[f"shuffled_{concept}_{layer}_r2"] < 0.1
        for cls in map(str, range(10)):
            assert 0 <= res[f"{concept}_{cls}_tcav"] <= 1
            assert f"{concept}_{cls}_br" in res and f"random_{concept}_{cls}_br" in res
        # the concept is found at some layer far better than its shuffled control
        best = max(res[f"{concept}_{layer}_r2"] for layer in ("conv2", "conv3", "fc1"))
        assert best > 0.3
    assert (tmp_path / "rcv" / "r2_per_layer.png").exists()
    assert (tmp_path / "rcv" / "br_per_class.png").exists()


# --- issue 15 ---------------------------------------------------------------------------------


def _concept(id_, name, values):
    m = torch.as_tensor(values, dtype=torch.float32)[:, None]
    return RegressionConcept(id_, name, DataLoader(m, batch_size=64), m.flatten())


def test_two_different_concepts_with_one_identifier_are_refused(toy):
    m = torch.linspace(-2, 2, 60)
    noise = torch.randn(60, generator=torch.Generator().manual_seed(0))
    a, b = _concept(0, "c", m), _concept(0, "c", noise)
    rcv = RCV(toy, "embed")
    with pytest.raises(ValueError, match="identifier 'c-0'"):
        rcv.interpret(torch.randn(4, 1), [a, b], target=0)
    assert rcv.rcvs == {}  # refused before anything is fitted


def test_a_new_concept_never_reuses_a_fitted_identifier(toy):
    m = torch.linspace(-2, 2, 60)
    rcv = RCV(toy, "embed")
    rcv.interpret(torch.randn(4, 1), [_concept(0, "c", m)], target=0)
    shuffled = m[torch.randperm(60, generator=torch.Generator().manual_seed(1))]
    other = RegressionConcept(0, "c", DataLoader(m[:, None], batch_size=64), shuffled)
    with pytest.raises(ValueError, match="identifier 'c-0'"):
        rcv.interpret(torch.randn(4, 1), [other], target=0)
    assert rcv.rcvs[("c-0", "embed")]["r2"] > 0.99  # the fitted concept is kept, not mixed
    # a fresh interpreter fits the other concept for what it is: no signal
    assert RCV(toy, "embed").compute_rcvs([other])[("c-0", "embed")]["r2"] < 0.5


def test_the_same_concept_again_is_served_its_fit(toy):
    c = _concept(0, "c", torch.linspace(-2, 2, 60))
    rcv = RCV(toy, "embed")
    first = rcv.interpret(torch.randn(4, 1), [c], target=0)
    again = rcv.interpret(torch.randn(4, 1), [c, c], target=0)
    assert set(again) == {"c-0"} and first["c-0"]["embed"]["r2"] == again["c-0"]["embed"]["r2"]


def test_layers_as_modules_or_names(toy):
    c = _concept(0, "c", torch.linspace(-2, 2, 60))
    inputs = torch.randn(5, 1)
    by_name = RCV(toy, ["embed"]).interpret(inputs, [c], target=1)
    for layers in (toy.embed, [toy.embed], ["embed", toy.embed]):
        rcv = RCV(toy, layers)
        assert rcv.layers == ["embed"]
        out = rcv.interpret(inputs, [c], target=1)
        torch.testing.assert_close(
            out["c-0"]["embed"]["sensitivity"], by_name["c-0"]["embed"]["sensitivity"]
        )
    seq = nn.Sequential(nn.Linear(1, 4), nn.ReLU(), nn.Linear(4, 2))
    assert RCV(seq, seq[0]).layers == ["0"]  # the case of the issue


@pytest.mark.parametrize(
    "layers, error, match",
    [
        (nn.Linear(1, 8), ValueError, "not a submodule"),
        (3, TypeError, "layers"),
        ([3], TypeError, "layers"),
        ([], ValueError, "at least one layer"),
        ("conv9", ValueError, "unknown layer"),
    ],
)
def test_bad_layers_name_the_argument(toy, layers, error, match):
    with pytest.raises(error, match=match):
        RCV(toy, layers)


@pytest.mark.parametrize("dtype", [torch.int64, torch.float32, torch.float64])
def test_measures_any_real_dtype_inputs_floating(toy, dtype):
    m = torch.arange(60).to(dtype)
    c = RegressionConcept(0, "c", DataLoader(torch.linspace(-2, 2, 60)[:, None], batch_size=64), m)
    assert c.measures.dtype == torch.float64
    rcv = RCV(toy, "embed")
    with pytest.raises(TypeError, match="inputs must be floating"):
        rcv.interpret(torch.ones(3, 1, dtype=torch.int64), [c], target=0)
    with pytest.raises(ValueError, match="finite"):
        rcv.interpret(torch.full((3, 1), float("nan")), [c], target=0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        rcv.interpret(torch.ones(3, 1), [c], target=0, bogus=2)
