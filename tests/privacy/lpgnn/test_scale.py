"""LPGNN at scale (#22): sparse multi-bit features, project-then-propagate, stacked training,
the authors' epoch selection and the hyper-parameter warning."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")

from diffprivlib.accountant import BudgetAccountant  # noqa: E402
from torch_geometric.data import Data  # noqa: E402
from torch_geometric.utils import coalesce  # noqa: E402

from ai4media_ext._validation import InvalidParameterError  # noqa: E402
from ai4media_ext.privacy.lpgnn import (  # noqa: E402
    LPGNN,
    FeaturePerturbation,
    LabelPerturbation,
    LPGNNTrainer,
)
from ai4media_ext.privacy.lpgnn.hparams import hyperparameters  # noqa: E402
from ai4media_ext.privacy.lpgnn.trainer import select_epoch  # noqa: E402
from ai4media_ext.privacy.mechanisms import MultiBit  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
BACKBONES = ("gcn", "sage", "gat")


def _graph(n=40, d=30, e=160, seed=0, directed=True):
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, d, generator=g) > 0.75).float()
    ei = torch.randint(0, n, (2, e), generator=g)
    ei = ei[:, ei[0] != ei[1]]
    if not directed:
        ei = torch.cat([ei, ei.flip(0)], 1)
    ei = coalesce(ei, num_nodes=n)
    y = torch.randint(0, 3, (n,), generator=g)
    perm = torch.randperm(n, generator=g)
    masks = [torch.zeros(n, dtype=torch.bool) for _ in range(3)]
    masks[0][perm[: n // 2]] = True
    masks[1][perm[n // 2 : 3 * n // 4]] = True
    masks[2][perm[3 * n // 4 :]] = True
    return Data(x=x, edge_index=ei, y=y, train_mask=masks[0], val_mask=masks[1],
                test_mask=masks[2])  # fmt: skip


def _private(data, eps_x, eps_y, seed, sparse):
    acc = BudgetAccountant()
    data = FeaturePerturbation(eps_x, random_state=seed, sparse=sparse, accountant=acc)(
        data.clone()
    )
    return LabelPerturbation(eps_y, num_classes=3, random_state=seed + 1, accountant=acc)(data)


@pytest.mark.parametrize("value", ["dense", "scipy"])
def test_multibit_sparse_equals_dense(value):
    import scipy.sparse as sp

    x = np.random.default_rng(0).random((50, 20))
    x[x < 0.6] = 0.0
    for eps in (0.5, 9.0):  # m = 1 and m = 4
        dense = MultiBit(epsilon=eps, random_state=3, accountant=BudgetAccountant()).randomise(x)
        mech = MultiBit(epsilon=eps, random_state=3, accountant=BudgetAccountant())
        out = mech.randomise_sparse(sp.csr_array(x) if value == "scipy" else x)
        np.testing.assert_array_equal(out.toarray(), dense)
        assert out.nnz == 50 * mech.sampled_features(20)


@pytest.mark.parametrize("eps", [1.0, 7.0, math.inf])
@pytest.mark.parametrize("layout", ["dense", "sparse"])
def test_sparse_features_equal_dense(eps, layout):
    data = _graph()
    data.x[:, 3] = 2.0  # a constant column is dropped on both paths
    if layout == "sparse":
        data.x = data.x.to_sparse_csr()
    dense = FeaturePerturbation(eps, random_state=5, accountant=BudgetAccountant())(data.clone())
    sparse = FeaturePerturbation(eps, random_state=5, sparse=True, accountant=BudgetAccountant())(
        data.clone()
    )
    assert sparse.x.layout == torch.sparse_csr and sparse.x_offset.shape == (dense.x.size(1),)
    torch.testing.assert_close(sparse.x.to_dense() + sparse.x_offset, dense.x, atol=1e-5, rtol=0)
    if eps < 3:  # m = 1: one stored entry per node
        assert sparse.x._nnz() == data.num_nodes


@pytest.mark.parametrize("backbone", BACKBONES)
def test_model_outputs_and_gradients_sparse_equal_dense(backbone):
    data = _graph()
    dense = _private(data, 1.0, 2.0, 0, sparse=False)
    sparse = _private(data, 1.0, 2.0, 0, sparse=True)
    model = LPGNN(30, 3, backbone=backbone, x_steps=2, y_steps=2, random_state=0)
    grads = []
    for d, off in ((dense, None), (sparse, sparse.x_offset)):
        model.zero_grad()
        model.eval()
        out = model(d.x, d.edge_index, off)
        model.drop_loss(out, d, d.edge_index).backward()
        grads.append((out.detach(), [p.grad.clone() for p in model.parameters()]))
    torch.testing.assert_close(grads[0][0], grads[1][0], atol=1e-5, rtol=1e-5)
    for a, b in zip(grads[0][1], grads[1][1], strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("backbone", BACKBONES)
@pytest.mark.parametrize("directed", [True, False])
@pytest.mark.parametrize("x_steps", [0, 3])
def test_project_then_propagate_equals_propagate_then_project(backbone, directed, x_steps):
    data = _graph(directed=directed)
    first = LPGNN(30, 3, backbone=backbone, x_steps=x_steps, random_state=1).eval()
    ref = LPGNN(30, 3, backbone=backbone, x_steps=x_steps, random_state=1, project_first=False)
    ref.eval()
    assert all(torch.equal(a, b) for a, b in zip(first.parameters(), ref.parameters(), strict=True))
    torch.testing.assert_close(
        first(data.x, data.edge_index), ref(data.x, data.edge_index), atol=1e-5, rtol=1e-5
    )


@pytest.mark.parametrize("backbone", BACKBONES)
@pytest.mark.parametrize("directed", [True, False])
def test_project_then_propagate_gradients_equal_pyg(backbone, directed):
    """Same parameter gradients as PyG's own convolutions (GAT: the CSR attention product)."""
    data = _graph(directed=directed)
    grads = []
    for project_first in (True, False):
        model = LPGNN(30, 3, backbone=backbone, x_steps=2, random_state=1,
                      project_first=project_first).eval()  # fmt: skip
        out = model(data.x, data.edge_index)
        (out.log_softmax(-1)[torch.arange(40), data.y].sum()).backward()
        grads.append([p.grad for p in model.parameters()])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_attention_aggregation_matches_gather_scatter():
    """``AttentionPattern.aggregate`` = sum_j alpha_ji x_j per head (duplicate edges and self
    loops included), with gradients for alpha and x (float64 gradcheck)."""
    from ai4media_ext.privacy.lpgnn._ops import AttentionPattern

    g = torch.Generator().manual_seed(0)
    n, b, c = 7, 3, 4
    ei = torch.cat([torch.randint(0, n, (2, 20), generator=g), torch.arange(n).repeat(2, 1),
                    torch.tensor([[1, 1], [2, 2]])], 1)  # fmt: skip
    alpha = torch.rand(ei.size(1), b, generator=g, dtype=torch.float64, requires_grad=True)
    x = torch.randn(n, b, c, generator=g, dtype=torch.float64, requires_grad=True)
    pattern = AttentionPattern(ei, n, b)
    ref = torch.zeros(n, b, c, dtype=torch.float64).index_add(
        0, ei[1], alpha[:, :, None] * x[ei[0]]
    )

    def aggregate(alpha, x):  # coefficients given in edge_index order
        return pattern.aggregate(alpha[pattern.order], x)

    torch.testing.assert_close(aggregate(alpha, x), ref)
    torch.autograd.gradcheck(aggregate, (alpha, x))
    with torch.no_grad():
        torch.testing.assert_close(aggregate(alpha, x), ref.detach())


@pytest.mark.parametrize("backbone", BACKBONES)
def test_stacked_training_equals_separate_runs(backbone):
    data = _graph(n=60, e=300)
    jobs = [(1.0, 1.0, 0), (1.0, 1.0, 1), (2.0, 3.0, 2)]
    datas = [_private(data, ex, ey, s, sparse=True) for ex, ey, s in jobs]

    def models():
        return [LPGNN(30, 3, backbone=backbone, x_steps=2, y_steps=2, dropout=0.5,
                      random_state=s) for _, _, s in jobs]  # fmt: skip

    stacked = models()
    fitted = LPGNNTrainer(epochs=25, lr=0.02).fit_many(stacked, datas)
    for i, model in enumerate(models()):
        alone = LPGNNTrainer(epochs=25, lr=0.02).fit(model, datas[i])
        assert alone.best_epoch_ == fitted[i].best_epoch_
        for a, b in zip(alone.validation_, fitted[i].validation_, strict=True):
            assert a["val_acc"] == b["val_acc"] and a["train_acc"] == b["train_acc"]
            assert a["val_loss"] == pytest.approx(b["val_loss"], abs=1e-5)
        for a, b in zip(model.parameters(), stacked[i].parameters(), strict=True):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def _reference_rule(trace):
    """sisaman/LPGNN trainer.py's condition, transcribed on its metric names."""
    best = None
    for m in trace:
        metrics = {"epoch": m["epoch"], "val/loss": m["val_loss"], "val/acc": m["val_acc"],
                   "train/acc": m["train_acc"], "train/maxacc": m["max_acc"]}  # fmt: skip
        if best is None or (
            metrics["val/loss"] < best["val/loss"]
            and best["val/acc"] < metrics["val/acc"] <= metrics["train/maxacc"]
            and best["train/acc"] < metrics["train/acc"] <= 1.05 * metrics["train/maxacc"]
        ):
            best = metrics
    return best["epoch"]


def test_epoch_selection_follows_the_authors_rule():
    # Known answer: epoch 2 improves all three; epoch 3 has the lowest loss but no accuracy
    # gain (the old lowest-loss rule took it); epoch 4 is over the cap; epoch 5 improves.
    trace = [
        {"epoch": 1, "val_loss": 1.0, "val_acc": 30.0, "train_acc": 30.0, "max_acc": 50.0},
        {"epoch": 2, "val_loss": 0.9, "val_acc": 35.0, "train_acc": 35.0, "max_acc": 50.0},
        {"epoch": 3, "val_loss": 0.5, "val_acc": 35.0, "train_acc": 40.0, "max_acc": 50.0},
        {"epoch": 4, "val_loss": 0.4, "val_acc": 51.0, "train_acc": 45.0, "max_acc": 50.0},
        {"epoch": 5, "val_loss": 0.8, "val_acc": 40.0, "train_acc": 36.0, "max_acc": 50.0},
    ]
    assert select_epoch(trace) == _reference_rule(trace) == 5
    # A recorded trace: the trainer keeps the epoch the reference rule picks from it.
    data = _private(_graph(n=80, e=400), 1.0, 1.0, 0, sparse=True)
    trainer = LPGNNTrainer(epochs=60).fit(LPGNN(30, 3, y_steps=2, random_state=0), data)
    assert [r["epoch"] for r in trainer.validation_] == list(range(1, 61))
    assert trainer.best_epoch_ == select_epoch(trainer.validation_)
    assert trainer.best_epoch_ == _reference_rule(trainer.validation_)
    with pytest.raises(InvalidParameterError, match="empty"):
        select_epoch([])


def test_hyperparameters_warn_for_untuned_settings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert hyperparameters("cora", 1.0, 1.0)["x_steps"] == 2
    with pytest.warns(UserWarning, match="'pubmed'.*untuned defaults"):
        hp = hyperparameters("pubmed", 1.0, 1.0)
    assert hp == {"x_steps": 2, "y_steps": 2, "lr": 0.01, "weight_decay": 0.001, "dropout": 0.5}
    with pytest.warns(UserWarning, match="'cora'"):
        hyperparameters("cora", 0.5, 1.0)  # a budget the authors did not tune


def test_bad_inputs_are_rejected():
    data = _private(_graph(), 1.0, 1.0, 0, sparse=True)
    model = LPGNN(30, 3)
    with pytest.raises(InvalidParameterError, match="x_offset"):
        model(data.x, data.edge_index, torch.zeros(5))
    trainer = LPGNNTrainer(epochs=2)
    with pytest.raises(InvalidParameterError, match="as many"):
        trainer.fit_many([model], [data, data])
    with pytest.raises(InvalidParameterError, match="same architecture"):
        trainer.fit_many([model, LPGNN(30, 3, x_steps=4)], [data, data])
    other = data.clone()
    other.edge_index = other.edge_index[:, :-1]
    with pytest.raises(InvalidParameterError, match="edge_index"):
        trainer.fit_many([model, LPGNN(30, 3)], [data, other])
    with pytest.raises(InvalidParameterError, match="project_first"):
        trainer.fit_many([LPGNN(30, 3, project_first=False)] * 2, [data, data])
    with pytest.raises(InvalidParameterError, match="random_state"):
        LPGNN(30, 3, random_state=-1)
