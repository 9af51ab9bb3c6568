"""ObjectGraphs (eq. (9)) and its Weighted-in-Degree captum attribution (eq. (10))."""

import inspect

import numpy as np
import pytest
import torch
from captum.attr import Attribution, IntegratedGradients, Saliency

from ai4media_ext import registry
from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.explainability.objectgraphs import (
    ObjectGraphs,
    WeightedInDegree,
    pool_per_label,
    rank_objects,
)

B, Q, K, F, FF = 3, 4, 6, 10, 7


@pytest.fixture
def model():
    torch.manual_seed(0)
    return ObjectGraphs(F, 5, frame_channels=FF, hidden_channels=12).eval()


@pytest.fixture
def inputs():
    g = torch.Generator().manual_seed(1)
    return torch.randn(B, Q, K, F, generator=g), torch.randn(B, Q, FF, generator=g)


def test_adjacency_is_row_stochastic_in_unit_interval(model, inputs):
    x, _ = inputs
    a = model.adjacency(x)
    assert a.shape == (B, Q, K, K)
    assert (a >= 0).all() and (a <= 1).all()
    torch.testing.assert_close(a.sum(-1), torch.ones(B, Q, K))
    mask = torch.rand(B, Q, K, generator=torch.Generator().manual_seed(2)) > 0.4
    mask[..., 0] = True
    am = model.adjacency(x, mask)
    torch.testing.assert_close(am.sum(-1), mask.float())  # present rows 1, absent rows 0
    assert (am.masked_select(~mask[..., None, :].expand_as(am)) == 0).all()


def test_adjacency_follows_eq9_by_hand(model, inputs):
    x, _ = inputs
    xn = x.double().numpy()
    wq, bq = model.query.weight.double().detach().numpy(), model.query.bias.double().detach()
    wk, bk = model.key.weight.double().detach().numpy(), model.key.bias.double().detach()
    s = (xn @ wq.T + bq.numpy()) @ np.swapaxes(xn @ wk.T + bk.numpy(), -1, -2)
    expected = s**2 / (s**2).sum(-1, keepdims=True)
    np.testing.assert_allclose(model.adjacency(x).detach().numpy(), expected, rtol=1e-4)


class _ToyModel(torch.nn.Module):
    """A fixed adjacency, to check WiD against hand-computed column sums."""

    def __init__(self, adj):
        super().__init__()
        self.adj = adj

    def adjacency(self, x, mask=None):
        return self.adj.expand(*x.shape[:2], *self.adj.shape)

    def forward(self, x, x_frame, mask=None):
        return x.sum((1, 2))


def test_wid_equals_hand_column_sums():
    adj = torch.tensor([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    wid = WeightedInDegree(_ToyModel(adj))
    x = torch.zeros(2, 1, 3, 4)
    got = wid.attribute_objects(x)
    torch.testing.assert_close(got, torch.tensor([1.7, 0.8, 0.5]).expand(2, 1, 3))
    full = wid.attribute(x)
    assert full.shape == x.shape
    torch.testing.assert_close(full[..., 2], got)


def test_wid_on_objectgraphs_is_column_sum_and_sums_to_k(model, inputs):
    x, xf = inputs
    gamma = WeightedInDegree(model).attribute_objects(x, (xf,))
    torch.testing.assert_close(gamma, model.adjacency(x).sum(-2).detach())
    torch.testing.assert_close(gamma.sum(-1), torch.full((B, Q), float(K)))


def test_permuting_objects_permutes_wid_and_keeps_logits(model, inputs):
    x, xf = inputs
    perm = torch.randperm(K, generator=torch.Generator().manual_seed(3))
    xp = x.clone()
    xp[1, 2] = x[1, 2, perm]
    wid = WeightedInDegree(model)
    g, gp = wid.attribute_objects(x), wid.attribute_objects(xp)
    torch.testing.assert_close(gp[1, 2], g[1, 2, perm])
    torch.testing.assert_close(gp[0], g[0])
    with torch.no_grad():
        torch.testing.assert_close(model(xp, xf), model(x, xf), atol=1e-5, rtol=1e-5)


def test_mask_equals_removing_the_objects(model, inputs):
    x, xf = inputs
    keep = torch.tensor([0, 2, 3, 5])
    mask = torch.zeros(B, Q, K, dtype=torch.bool)
    mask[..., keep] = True
    with torch.no_grad():
        torch.testing.assert_close(model(x, xf, mask), model(x[:, :, keep], xf))
    gamma = WeightedInDegree(model).attribute_objects(x, (xf, mask))
    assert (gamma[~mask] == 0).all()
    torch.testing.assert_close(
        gamma[..., keep], WeightedInDegree(model).attribute_objects(x[:, :, keep])
    )


def test_no_graph_baseline_is_mean_of_features(inputs):
    x, xf = inputs
    base = ObjectGraphs(F, 5, frame_channels=FF, num_layers=0).eval()
    emb = base.frame_embeddings(x, xf)
    torch.testing.assert_close(emb, torch.cat([x.mean(2), xf], -1))
    assert base(x, xf).shape == (B, 5)


def test_captum_attribution_conformance(model, inputs):
    x, xf = inputs
    wid = WeightedInDegree(model)
    assert isinstance(wid, Attribution) and wid.forward_func is model
    assert not wid.has_convergence_delta() and not wid.multiplies_by_inputs
    params = list(inspect.signature(wid.attribute).parameters)
    assert params[:3] == ["inputs", "target", "additional_forward_args"]
    # Same call pattern as captum's own gradient attributions, same output shape.
    out = wid.attribute(x, target=0, additional_forward_args=(xf,))
    for other in (IntegratedGradients(model), Saliency(model)):
        ref = other.attribute(x, target=0, additional_forward_args=(xf,))
        assert ref.shape == out.shape == x.shape
    tup = wid.attribute((x, xf))
    assert isinstance(tup, tuple) and tup[0].shape == x.shape and (tup[1] == 0).all()
    assert not x.requires_grad


def test_explain_maps_ranks_to_labels_and_boxes(model, inputs):
    x, xf = inputs
    labels = torch.arange(B * Q * K).reshape(B, Q, K) % 4
    boxes = torch.arange(B * Q * K * 4).reshape(B, Q, K, 4)
    out = WeightedInDegree(model).explain(x, (xf,), labels=labels, boxes=boxes, num_labels=5)
    g = out["wid"]
    top = g.argsort(-1, descending=True)[..., :3]
    torch.testing.assert_close(out["top"], top)
    torch.testing.assert_close(out["top_labels"], labels.gather(-1, top))
    torch.testing.assert_close(out["bottom_boxes"][1, 2, 0], boxes[1, 2, g[1, 2].argmin()])
    assert out["video_mean"].shape == (B, 5) and torch.isnan(out["video_mean"][:, 4]).all()


def test_pool_per_label_hand_values():
    scores = torch.tensor([[[1.0, 2.0], [3.0, 6.0]]])
    labels = torch.tensor([[[0, 1], [1, 1]]])
    mean, amax = pool_per_label(scores, labels, 3)
    torch.testing.assert_close(mean, torch.tensor([[1.0, 11 / 3, float("nan")]]), equal_nan=True)
    torch.testing.assert_close(amax, torch.tensor([[1.0, 6.0, float("nan")]]), equal_nan=True)
    mask = torch.tensor([[[True, True], [True, False]]])
    torch.testing.assert_close(pool_per_label(scores, labels, 3, mask)[1][0, 1], torch.tensor(3.0))
    ranks = rank_objects(scores, 1, mask)
    assert ranks["top"].tolist() == [[[1], [0]]] and ranks["bottom"].tolist() == [[[0], [0]]]


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda x, xf: (x[:, :, :0], xf, None), "at least one"),
        (lambda x, xf: (x, xf[:, :-1], None), "frames"),
        (lambda x, xf: (x.index_put((torch.tensor([0]),), torch.tensor(float("nan"))), xf, None), "NaN"),
        (lambda x, xf: (x, xf.index_put((torch.tensor([1]),), torch.tensor(float("inf"))), None), "NaN"),
        (lambda x, xf: (x, xf, torch.ones(B, Q, K)), "bool"),
        (lambda x, xf: (x, xf, torch.ones(B, Q, K + 1, dtype=torch.bool)), "mask"),
        (lambda x, xf: (x[0], xf, None), "shape"),
        (lambda x, xf: (x[..., :-1], xf, None), "features"),
    ],
)  # fmt: skip
def test_bad_inputs_raise_clear_errors(model, inputs, make, match):
    x, xf, mask = make(*inputs)
    with pytest.raises((ValueError, TypeError), match=match):
        model(x, xf, mask)
    if x.dim() == 4 and x.shape[-1] == F:
        with pytest.raises((ValueError, TypeError), match=match):
            WeightedInDegree(model).attribute(x, additional_forward_args=(xf, mask))


@pytest.mark.parametrize(
    "param, value",
    [("in_channels", 0), ("num_classes", 1), ("num_layers", -1), ("hidden_channels", 2.5),
     ("dropout", 1.0), ("frame_channels", 0), ("lstm_channels", "big")],
)  # fmt: skip
def test_invalid_params_name_the_parameter(param, value):
    with pytest.raises(InvalidParameterError, match=param):
        ObjectGraphs(**{"in_channels": 8, "num_classes": 3, param: value})


def test_wid_rejects_a_model_without_adjacency():
    with pytest.raises(InvalidParameterError, match="forward_func"):
        WeightedInDegree(torch.nn.Linear(3, 2))
    with pytest.raises(InvalidParameterError, match="forward_func"):
        WeightedInDegree(3)


def test_registered_under_pyg_models_and_captum_attributions():
    assert registry.load("ai4media_ext.pyg.models", "objectgraphs") is ObjectGraphs
    assert (
        registry.load("ai4media_ext.captum.attributions", "weighted_in_degree") is WeightedInDegree
    )
    built = registry.build(
        "ai4media_ext.pyg.models", "objectgraphs", {"in_channels": 8, "num_classes": 3}
    )
    assert isinstance(built, ObjectGraphs) and built.num_layers == 2
