"""Issue 15 on LPGNN: directed graphs, KProp's caches, integer features, the default accountant."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from diffprivlib.accountant import BudgetAccountant
from diffprivlib.utils import BudgetError
from torch_geometric.data import Data

from ai4media_ext.privacy.lpgnn import LPGNN, FeaturePerturbation, KProp, LabelPerturbation

# 12 nodes, directed: node 0 has no in-edges, node 11 no out-edges, a few one-way chains.
DIRECTED = torch.tensor(
    [
        [0, 0, 1, 2, 3, 4, 4, 5, 6, 7, 8, 9, 10, 2, 6],
        [1, 2, 3, 3, 4, 5, 6, 7, 8, 9, 10, 11, 11, 5, 1],
    ]
)


def reference_forward(model: LPGNN, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    """The same model evaluated by plain PyG message passing on edge_index (no fast path)."""
    h = KProp(model.x_prop.steps)(x, edge_index)
    h = (
        F.selu(model.conv1(h, edge_index))
        if model.backbone != "sage"
        else F.selu(
            model.conv1.lin_l(model.conv1.propagate(edge_index, x=(h, h), size=None))
            + model.conv1.lin_r(h)
        )
    )
    return model.conv2(h, edge_index)


@pytest.mark.parametrize("backbone", ["gcn", "sage", "gat"])
def test_fast_path_equals_message_passing_on_a_directed_graph(backbone):
    torch.manual_seed(0)
    x = torch.rand(12, 6)
    model = LPGNN(6, 3, backbone=backbone, x_steps=2).eval()
    with torch.no_grad():
        out = model(x, DIRECTED)
        # an independent second instance with the same weights, fast path never used
        fresh = LPGNN(6, 3, backbone=backbone, x_steps=2).eval()
        fresh.load_state_dict(model.state_dict())
        expected = reference_forward(fresh, x, DIRECTED)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)


def test_a_node_without_in_edges_receives_nothing():
    x = torch.rand(12, 4)
    out = KProp(1)(x, DIRECTED)
    assert torch.equal(out[0], torch.zeros(4))
    csr = LPGNN(4, 2, x_steps=1)._csr(DIRECTED, 12)
    torch.testing.assert_close(torch.sparse.mm(csr, x), KProp(1, normalize=False)(x, DIRECTED))


def test_kprop_follows_edge_direction_against_a_dense_matrix():
    x = torch.rand(12, 3, dtype=torch.float64)
    a = torch.zeros(12, 12, dtype=torch.float64)
    a[DIRECTED[1], DIRECTED[0]] = 1.0  # a[target, source]
    deg = a.sum(dim=1)  # in-degree, as gcn_norm
    d = torch.where(deg > 0, deg.pow(-0.5), 0.0)
    torch.testing.assert_close(KProp(1)(x, DIRECTED), (d[:, None] * a * d[None, :]) @ x)


# --- item 3: KProp never serves a normalisation or output computed for another graph ---------


@pytest.mark.parametrize("cached", [False, True])
def test_kprop_same_edge_index_on_a_larger_graph(cached):
    edge_index = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
    conv = KProp(1, add_self_loops=True, cached=cached)
    conv(torch.rand(5, 2), edge_index)
    x7 = torch.rand(7, 2)
    out = conv(x7, edge_index)
    torch.testing.assert_close(out, KProp(1, add_self_loops=True)(x7, edge_index))
    # the isolated nodes 5 and 6 keep their own features through their self loops
    torch.testing.assert_close(out[5:], x7[5:])


@pytest.mark.parametrize("cached", [False, True])
def test_kprop_edge_index_modified_in_place(cached):
    edge_index = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
    x = torch.rand(5, 2)
    conv = KProp(1, add_self_loops=True, cached=cached)
    conv(x, edge_index)
    edge_index[1, 0] = 3  # the user edits the graph in place
    torch.testing.assert_close(conv(x, edge_index), KProp(1, add_self_loops=True)(x, edge_index))


def test_lpgnn_caches_follow_the_graph():
    torch.manual_seed(0)
    x = torch.rand(12, 5)
    model = LPGNN(5, 2, backbone="gcn", x_steps=1).eval()
    with torch.no_grad():
        model(x, DIRECTED)
        reversed_graph = DIRECTED.flip(0)
        out = model(x, reversed_graph)
        fresh = LPGNN(5, 2, backbone="gcn", x_steps=1).eval()
        fresh.load_state_dict(model.state_dict())
        torch.testing.assert_close(out, fresh(x, reversed_graph))


# --- item 4: integer features are never truncated -------------------------------------------


def _counts(n=200, d=6, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 4, size=(n, d)))


def test_integer_features_give_float_estimates_at_infinite_epsilon():
    x = _counts()
    out = FeaturePerturbation(math.inf, accountant=BudgetAccountant())(Data(x=x)).x
    assert out.dtype == torch.get_default_dtype()
    lo, hi = x.min(0).values, x.max(0).values
    torch.testing.assert_close(out, (x - lo).float() / (hi - lo).float())


def test_integer_features_rectified_without_truncation():
    x = _counts(n=400)
    out = FeaturePerturbation(8.0, random_state=0, accountant=BudgetAccountant())(Data(x=x)).x
    assert out.is_floating_point()
    assert not torch.equal(out, out.round())  # unbiased estimates are not integers


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.float32, torch.float64])
def test_feature_perturbation_dtypes(dtype):
    x = _counts().to(dtype)
    out = FeaturePerturbation(2.0, random_state=0, accountant=BudgetAccountant())(Data(x=x)).x
    expected = dtype if dtype.is_floating_point else torch.get_default_dtype()
    assert out.dtype == expected and torch.isfinite(out).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_kprop_and_lpgnn_float_dtypes(dtype):
    x = torch.rand(12, 4, dtype=dtype)
    assert KProp(2)(x, DIRECTED).dtype == dtype
    model = LPGNN(4, 2, x_steps=1).to(dtype).eval()
    assert model(x, DIRECTED).dtype == dtype


def test_integer_inputs_to_kprop_and_lpgnn_are_refused_naming_x():
    x = torch.ones(12, 4, dtype=torch.int64)
    with pytest.raises(TypeError, match="x must be"):
        KProp(1)(x, DIRECTED)
    with pytest.raises(TypeError, match="x must be"):
        LPGNN(4, 2)(x, DIRECTED)


def test_bad_edge_index_is_refused_naming_it():
    x = torch.rand(3, 2)
    with pytest.raises(ValueError, match="edge_index"):
        KProp(1)(x, torch.tensor([[0, 1], [1, 5]]))
    with pytest.raises(TypeError, match="edge_index"):
        KProp(1)(x, torch.tensor([[0.0, 1.0], [1.0, 2.0]]))


@pytest.mark.parametrize("y", [torch.tensor([0.0, 1.0, 1.0]), torch.tensor([[0], [1], [1]])])
def test_label_perturbation_refuses_non_index_labels(y):
    mask = torch.tensor([True, True, False])
    data = Data(y=y, train_mask=mask, val_mask=~mask, num_nodes=3)
    with pytest.raises(ValueError, match="data.y"):
        LabelPerturbation(1.0, accountant=BudgetAccountant())(data)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8])
def test_label_perturbation_integer_dtypes(dtype):
    y = torch.tensor([0, 1, 2, 1], dtype=dtype)
    mask = torch.tensor([True, True, False, False])
    data = Data(y=y, train_mask=mask, val_mask=mask.flip(0), num_nodes=4)
    out = LabelPerturbation(1.0, random_state=0, accountant=BudgetAccountant())(data)
    assert out.y.dtype == dtype and int(out.y.max()) <= 2


# --- item 9: the default accountant ----------------------------------------------------------


def _labelled():
    mask = torch.tensor([True, False, True, False])
    return Data(x=torch.rand(4, 3), y=torch.tensor([0, 1, 2, 1]), train_mask=mask, val_mask=~mask)


@pytest.mark.parametrize(
    "transform", [lambda: FeaturePerturbation(2.0), lambda: LabelPerturbation(2.0)]
)
def test_transforms_charge_the_default_accountant(transform):
    data = _labelled()
    with BudgetAccountant(epsilon=1):
        with pytest.raises(BudgetError):
            transform()(data)
    with BudgetAccountant(epsilon=5) as acc:
        transform()(data)
    assert acc.total()[0] == 2.0


def test_raw_features_charge_infinity():
    with BudgetAccountant(epsilon=10):
        with pytest.raises(BudgetError):
            FeaturePerturbation(math.inf)(_labelled())
    acc = BudgetAccountant()
    FeaturePerturbation(math.inf, accountant=acc)(_labelled())
    assert acc.total()[0] == math.inf


def test_transforms_never_modify_the_callers_data():
    data = _labelled()
    x, y = data.x.clone(), data.y.clone()
    acc = BudgetAccountant()
    FeaturePerturbation(1.0, random_state=0, accountant=acc)(data)
    LabelPerturbation(0.1, random_state=0, accountant=acc)(data)
    assert torch.equal(data.x, x) and torch.equal(data.y, y)


def test_trainer_refuses_labels_outside_the_models_classes():
    from ai4media_ext.privacy.lpgnn import LPGNNTrainer

    data = _labelled()
    data.edge_index = torch.tensor([[0, 1, 2], [1, 2, 3]])
    with pytest.raises(ValueError, match="data.y holds labels in \\[0, 2\\]"):
        LPGNNTrainer(epochs=1).fit(LPGNN(3, 2), data)
    data.y = data.y.float()
    with pytest.raises(TypeError, match="data.y must be 1-D integer"):
        LPGNNTrainer(epochs=1).fit(LPGNN(3, 3), data)
