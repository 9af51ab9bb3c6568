import numpy as np
import pytest
import torch

from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.robustness.hcp import HCPLiteralLoss, HCPLiteralTrainer, HCPLoss, HCPTrainer


@pytest.fixture
def digits_classifier_factory():
    from ai4media_ext.data.splits import digits_split
    from ai4media_ext.zoo import SmallCNN, art_classifier

    _, x, y, _, _ = digits_split(0, n_train=600)

    def make():
        torch.manual_seed(0)
        return art_classifier(SmallCNN(1, 8), (1, 8, 8)), x, y

    return make


def _toy(c=2.0):
    loss = HCPLiteralLoss(2, 2, c=c, e=1e-3)
    with torch.no_grad():
        loss.prototypes.copy_(torch.tensor([[0.0, 0.0], [2.0, 0.0]]))
        loss.radii.copy_(torch.tensor([1.0, 1.0]))
    return loss, torch.tensor([[1.5, 0.0], [2.0, 2.0]]), torch.tensor([0, 1])


def test_literal_terms_by_hand():
    loss, h, y = _toy(c=2.0)
    t = loss.terms(h, y)
    # own d = [2.25, 4], r^2 = 1: max(2, 1.25) = 2 (the printed floor), max(2, 3) = 3
    assert t["L_M"].item() == pytest.approx(1.0 + (2.0 + 3.0) / 2)
    assert t["L_P"].item() == pytest.approx((2.25 + 4.0) / 1.001 / 2)
    # other d = [0.25, 8]: r_j^2 / (d_ij + e), summed over the other class, averaged over samples
    assert t["L_NP"].item() == pytest.approx((1 / 0.251 + 1 / 8.001) / 2)
    assert loss(h, y).item() == pytest.approx(sum(v.item() for v in t.values()))
    # the default variant on the same toy case differs in L_M and L_NP only
    default = HCPLoss(2, 2, c=2.0)
    default.load_state_dict(loss.state_dict())
    d = default.terms(h, y)
    assert d["L_P"].item() == pytest.approx(t["L_P"].item())
    assert d["L_M"].item() == pytest.approx(1.0 + 2.0 * (1.25 + 3.0) / 2)
    assert d["L_NP"].item() == pytest.approx((1 - 0.25 / 1.001) / 2)


def test_literal_terms_match_a_loop_with_five_classes():
    torch.manual_seed(0)
    loss = HCPLiteralLoss(5, 7, c=0.5)
    with torch.no_grad():
        loss.prototypes.normal_()
        loss.radii.uniform_(0.5, 2.0)
    h, y = torch.randn(20, 7), torch.randint(0, 5, (20,))
    a, r2 = loss.prototypes.detach(), loss.radii.detach() ** 2
    dist = lambda i, j: float((h[i] - a[j]).pow(2).sum())  # noqa: E731
    l_m = float(r2.mean()) + np.mean([max(0.5, dist(i, y[i]) - float(r2[y[i]])) for i in range(20)])
    l_np = np.mean([
        sum(float(r2[j]) / (dist(i, j) + 1e-3) for j in range(5) if j != y[i]) for i in range(20)
    ])  # fmt: skip
    t = loss.terms(h, y)
    assert t["L_M"].item() == pytest.approx(l_m, rel=1e-5)
    assert t["L_NP"].item() == pytest.approx(l_np, rel=1e-5)


def test_floor_blocks_the_enclosure_gradient():
    loss, h, y = _toy(c=10.0)  # d - r^2 < c for both samples: L_M's slack part is constant
    h.requires_grad_(True)
    loss.terms(h, y)["L_M"].backward()
    assert torch.all(h.grad == 0)


def test_literal_trainer_defaults_and_training(digits_classifier_factory):
    clf, x, y = digits_classifier_factory()
    trainer = HCPLiteralTrainer(clf, ["fc1"], verbose=False)
    assert isinstance(trainer, HCPTrainer)
    assert (trainer.weight, trainer.c, trainer.warmup_epochs) == (1.0, 1.0, 0)
    assert trainer.layers == ["fc1", "output"]
    x0 = x.copy()
    trainer.fit(x, y, nb_epochs=2, batch_size=128)
    assert isinstance(trainer.losses_["fc1"], HCPLiteralLoss)
    assert len(trainer.history_) == 2 and np.isfinite(trainer.history_[-1]["aux"])
    np.testing.assert_array_equal(x, x0)
    assert clf.predict(x[:5]).shape == (5, 10)


@pytest.mark.parametrize("kw", [{"c": 0.0}, {"weight": -1.0}, {"warmup_epochs": -1}])
def test_literal_trainer_bad_parameters(digits_classifier_factory, kw):
    clf, _, _ = digits_classifier_factory()
    with pytest.raises(InvalidParameterError, match=next(iter(kw))):
        HCPLiteralTrainer(clf, ["fc1"], **kw)
