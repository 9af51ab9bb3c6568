"""Issue 26 items 8-10: RCV takes captum TCAV's call shapes and options; degenerate concepts."""

import math
import os

import numpy as np
import pytest
import torch
from captum.attr import LayerIntegratedGradients
from torch import nn
from torch.utils.data import DataLoader

from ai4media_ext.explainability.rcv import RCV, DegenerateConceptWarning, RegressionConcept


class Toy(nn.Module):
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


def _concept(id_, name, values, measures=None):
    m = torch.as_tensor(values, dtype=torch.float32)[:, None]
    return RegressionConcept(
        id_, name, DataLoader(m, batch_size=32), m.flatten() if measures is None else measures
    )


@pytest.fixture
def concepts():
    gen = torch.Generator().manual_seed(0)
    x = torch.linspace(-2, 2, 60)
    return {
        "up": _concept(0, "up", x),
        "down": _concept(1, "down", x, -(x**3)),
        "noise": _concept(2, "noise", x, torch.randn(60, generator=gen)),
    }


# --- item 8: experimental_sets, nested sets, processes ----------------------------------------


def test_nested_experimental_sets_give_tcav_keys_in_set_order(toy, concepts):
    up, down, noise = concepts["up"], concepts["down"], concepts["noise"]
    inputs = torch.randn(7, 1, generator=torch.Generator().manual_seed(3))
    flat = RCV(toy, ["embed", "head"]).interpret(inputs, [up, down, noise], target=1)
    out = RCV(toy, ["embed", "head"]).interpret(
        inputs, experimental_sets=[[up, down], [noise, up]], target=1
    )
    assert set(out) == {"0-1", "2-0"}
    for key, members in (("0-1", [up, down]), ("2-0", [noise, up])):
        for layer in ("embed", "head"):
            res = out[key][layer]
            assert res["sign_count"].shape == res["magnitude"].shape == (2,)
            assert res["sensitivity"].shape == (7, 2)
            for j, c in enumerate(members):
                single = flat[c.identifier][layer]
                for k in ("sign_count", "magnitude", "br_score", "r2", "tcav"):
                    torch.testing.assert_close(res[k][j], single[k])
                torch.testing.assert_close(res["sensitivity"][:, j], single["sensitivity"])
                # magnitude is captum TCAV's: the mean directional derivative
                torch.testing.assert_close(single["magnitude"], single["sensitivity"].mean())


def test_processes_fit_in_threads_with_identical_results(toy, concepts):
    sets = [[concepts["up"], concepts["down"]], [concepts["noise"]]]
    inputs = torch.randn(5, 1)
    one = RCV(toy, ["embed", "head"]).interpret(inputs, sets, target=0)
    three = RCV(toy, ["embed", "head"]).interpret(inputs, sets, target=0, processes=3)
    for key in one:
        for layer in one[key]:
            for k, v in one[key][layer].items():
                torch.testing.assert_close(three[key][layer][k], v)
    with pytest.raises(ValueError, match="processes"):
        RCV(toy, "embed").interpret(inputs, sets, target=0, processes=0)


@pytest.mark.parametrize(
    "bad, match",
    [
        ([], "at least one"),
        ([[]], "non-empty"),
        ("up", "experimental_sets"),
        (None, "experimental_sets"),
    ],
)
def test_malformed_experimental_sets_are_refused(toy, bad, match):
    with pytest.raises(ValueError, match=match):
        RCV(toy, "embed").interpret(torch.randn(3, 1), bad, target=0)


def test_mixed_flat_and_nested_sets_are_refused(toy, concepts):
    with pytest.raises(TypeError, match="mixes"):
        RCV(toy, "embed").interpret(torch.randn(3, 1), [concepts["up"], [concepts["down"]]])


def test_repeated_id_across_sets_is_refused_as_tcav(toy, concepts):
    other = _concept(0, "striped2", torch.linspace(0, 1, 60))
    with pytest.raises(ValueError, match="share the id 0"):
        RCV(toy, "embed").compute_rcvs([[concepts["up"], concepts["down"]], [other]])


def test_layer_attr_method_and_kwargs_reach_it(toy, concepts):
    inputs = torch.randn(4, 1)
    rcv = RCV(toy, "embed", layer_attr_method=LayerIntegratedGradients(toy, None))
    out = rcv.interpret(inputs, [concepts["up"]], target=2, n_steps=8)
    lig = LayerIntegratedGradients(toy, toy.embed).attribute(inputs, target=2, n_steps=8)
    v = rcv.rcvs[("up-0", "embed")]["direction"]
    torch.testing.assert_close(out["up-0"]["embed"]["sensitivity"], lig.double() @ v)
    with pytest.raises(TypeError, match="constructor"):
        rcv.interpret(inputs, [concepts["up"]], target=2, attribute_to_layer_input=True)


# --- item 9: model_id, save_path, attribute_to_layer_input -------------------------------------


class Counting(Toy):
    calls = 0

    def forward(self, x):
        Counting.calls += 1
        return super().forward(x)


def test_save_path_persists_and_reloads_the_vectors(tmp_path, concepts):
    torch.manual_seed(0)
    model = Counting()
    sets = [[concepts["up"], concepts["down"]]]
    inputs = torch.randn(6, 1)
    first = RCV(model, ["embed", "head"], model_id="toy", save_path=tmp_path).interpret(
        inputs, sets, target=0
    )
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == [
        f"toy/{kind}/{layer}/{c}.npz"
        for kind in ("av", "rcv")
        for layer in ("embed", "head")
        for c in ("down-1", "up-0")
    ]
    Counting.calls = 0
    again = RCV(model, ["embed", "head"], model_id="toy", save_path=str(tmp_path))
    second = again.interpret(inputs, sets, target=0)
    assert Counting.calls == 1  # one gradient pass for both layers; no concept example ran
    for layer in ("embed", "head"):
        for k, v in first["0-1"][layer].items():
            torch.testing.assert_close(second["0-1"][layer][k], v)
    # the store is plain npz: loads without pickle
    with np.load(tmp_path / "toy/rcv/embed/up-0.npz", allow_pickle=False) as data:
        assert {"direction", "r2", "r2_folds", "intercept", "coefficients"} <= set(data.files)


def test_changed_settings_or_measures_are_recomputed_not_reused(tmp_path, toy, concepts):
    up = concepts["up"]
    base = RCV(toy, "embed", save_path=tmp_path).compute_rcvs([up])[("up-0", "embed")]
    ridged = RCV(toy, "embed", ridge=10.0, save_path=tmp_path).compute_rcvs([up])
    assert ridged[("up-0", "embed")]["coefficients"].norm() < base["coefficients"].norm()
    shuffled = up.measures[torch.randperm(60, generator=torch.Generator().manual_seed(0))]
    other = RegressionConcept(0, "up", up.data_iter, shuffled)
    refit = RCV(toy, "embed", save_path=tmp_path).compute_rcvs([other])[("up-0", "embed")]
    assert refit["r2"] < 0.5 < base["r2"]
    forced = RCV(toy, "embed", save_path=tmp_path)
    forced.compute_rcvs([up], force_train=True)
    torch.testing.assert_close(forced.rcvs[("up-0", "embed")]["direction"], base["direction"])


def test_model_ids_get_separate_stores_and_hostile_names_stay_inside(tmp_path, toy):
    evil = _concept(0, "../../evil/..", torch.linspace(-2, 2, 60))
    store = tmp_path / "a" / "store"
    for model_id in ("m1", "../m2"):
        RCV(toy, "embed", model_id=model_id, save_path=store).compute_rcvs([evil])
    written = list(tmp_path.rglob("*.npz"))
    assert len(written) == 4 and all(store in p.parents for p in written)
    assert {p.relative_to(store).parts[0] for p in written} == {"m1", "..%2Fm2"}
    assert not list(tmp_path.rglob("*.tmp"))  # atomic writes leave no partial file
    with pytest.raises(ValueError, match="model_id"):
        RCV(toy, "embed", model_id="")
    with pytest.raises(TypeError, match="model_id"):
        RCV(toy, "embed", model_id=3)


def test_no_save_path_writes_nothing(tmp_path, toy, concepts, monkeypatch):
    monkeypatch.chdir(tmp_path)
    RCV(toy, "embed").interpret(torch.randn(3, 1), [[concepts["up"]]], target=0)
    assert os.listdir(tmp_path) == []


def test_attribute_to_layer_input(toy):
    m = torch.linspace(-2, 2, 90)[:, None]
    h = toy.embed(m).detach()
    head_input = (torch.tanh(h) + h).double()
    measure = head_input @ torch.arange(8.0, dtype=torch.float64)  # linear in the head's input
    concept = RegressionConcept(0, "lin", DataLoader(m, batch_size=40), measure)
    rcv = RCV(toy, "head", attribute_to_layer_input=True)
    torch.testing.assert_close(rcv.activations(concept.data_iter, "head"), head_input)
    fit = rcv.compute_rcvs([concept])[("lin-0", "head")]
    assert fit["r2"] > 0.999
    inputs = torch.randn(5, 1)
    out = rcv.interpret(inputs, [concept], target=1)["lin-0"]["head"]
    grad = toy.head.weight[1].detach().double()  # d out_1 / d head input
    torch.testing.assert_close(out["sensitivity"], (grad @ fit["direction"]).expand(5))
    # the output side differs: activations of head are the logits
    assert RCV(toy, "head").activations(concept.data_iter, "head").shape == (90, 3)


# --- item 10: degenerate concepts ---------------------------------------------------------------


def test_identical_examples_warn_and_give_nan(toy):
    same = _concept(0, "same", torch.full((60,), 0.7), torch.linspace(0, 1, 60))
    rcv = RCV(toy, ["embed", "head"])
    with pytest.warns(DegenerateConceptWarning, match="constant activations"):
        out = rcv.interpret(torch.randn(4, 1), [same], target=0)
    for layer in ("embed", "head"):
        res = out["same-0"][layer]
        for k in ("r2", "sign_count", "magnitude", "br_score", "tcav"):
            assert math.isnan(float(res[k])), k
        assert torch.equal(res["sensitivity"], torch.zeros(4, dtype=torch.float64))
        assert rcv.rcvs[("same-0", layer)]["degenerate"] == "constant activations"


def test_constant_measure_warns_and_gives_nan(tmp_path, toy):
    flat = _concept(0, "flat", torch.linspace(-2, 2, 60), torch.full((60,), 3.0))
    with pytest.warns(DegenerateConceptWarning, match="constant measure"):
        out = RCV(toy, "embed", save_path=tmp_path).interpret(torch.randn(4, 1), [[flat]], target=0)
    assert torch.isnan(out["0"]["embed"]["r2"]).all()
    # the stored degenerate fit warns again when it is reused
    with pytest.warns(DegenerateConceptWarning, match="constant measure"):
        RCV(toy, "embed", save_path=tmp_path).compute_rcvs([flat])


def test_a_healthy_concept_does_not_warn(toy, concepts, recwarn):
    RCV(toy, "embed").interpret(torch.randn(4, 1), [concepts["up"]], target=0)
    assert not [w for w in recwarn if issubclass(w.category, DegenerateConceptWarning)]


def test_a_failed_concept_can_be_fixed_under_its_id(toy):
    m = torch.linspace(-2, 2, 60)[:, None]
    rcv = RCV(toy, "embed")
    with pytest.raises(ValueError, match="measures"):
        rcv.compute_rcvs([RegressionConcept(0, "c", DataLoader(m), m[:10].flatten())])
    fixed = RegressionConcept(0, "c", DataLoader(m, batch_size=30), m.flatten())
    assert rcv.compute_rcvs([fixed])[("c-0", "embed")]["r2"] > 0.99
