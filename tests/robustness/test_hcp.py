import numpy as np
import pytest
import torch
from art.attacks.evasion import FastGradientMethod
from art.defences.trainer import Trainer

from ai4media_ext.robustness.hcp import (
    CenterLossTrainer,
    HCPLoss,
    HCPTrainer,
    PCLTrainer,
    PrototypeConformityLoss,
)


def _toy_loss():
    loss = HCPLoss(2, 2, c=1.0, e=1e-3)
    with torch.no_grad():
        loss.prototypes.copy_(torch.tensor([[0.0, 0.0], [2.0, 0.0]]))
        loss.radii.copy_(torch.tensor([1.0, 1.0]))
    h = torch.tensor([[1.5, 0.0], [2.0, 2.0]])
    y = torch.tensor([0, 1])
    return loss, h, y


def test_terms_on_hand_computed_toy_case():
    loss, h, y = _toy_loss()
    t = loss.terms(h, y)
    # d(own) = [2.25, 4]; d(other) = [0.25, 8]; r^2 = 1
    assert t["L_M"].item() == pytest.approx(1.0 + 1.0 * (1.25 + 3.0) / 2)
    assert t["L_P"].item() == pytest.approx((2.25 + 4.0) / 1.001 / 2)
    assert t["L_NP"].item() == pytest.approx((1 - 0.25 / 1.001) / 2)
    assert loss(h, y).item() == pytest.approx(sum(v.item() for v in t.values()))


def test_vectorised_terms_match_a_loop():
    torch.manual_seed(0)
    loss = HCPLoss(5, 7, c=3.0)
    with torch.no_grad():
        loss.prototypes.normal_()
        loss.radii.uniform_(0.5, 2.0)
    h, y = torch.randn(20, 7), torch.randint(0, 5, (20,))
    t = loss.terms(h, y)
    a, r2 = loss.prototypes.detach(), loss.radii.detach() ** 2
    l_m = r2.mean() + 3.0 * np.mean(
        [max(0.0, float((h[i] - a[y[i]]).pow(2).sum() - r2[y[i]])) for i in range(20)]
    )
    l_p = np.mean([float((h[i] - a[y[i]]).pow(2).sum() / (r2[y[i]] + 1e-3)) for i in range(20)])
    l_np = np.mean([
        sum(max(0.0, float(1 - (h[i] - a[j]).pow(2).sum() / (r2[j] + 1e-3))) for j in range(5) if j != y[i]) / 4
        for i in range(20)
    ])  # fmt: skip
    assert t["L_M"].item() == pytest.approx(float(l_m), rel=1e-5)
    assert t["L_P"].item() == pytest.approx(l_p, rel=1e-5)
    assert t["L_NP"].item() == pytest.approx(l_np, rel=1e-5)


def test_gradients_reach_prototypes_and_radii():
    loss, h, y = _toy_loss()
    h.requires_grad_(True)
    loss(h, y).backward()
    assert loss.prototypes.grad.abs().sum() > 0 and loss.radii.grad.abs().sum() > 0
    assert h.grad.abs().sum() > 0


def test_pcl_on_hand_computed_toy_case():
    loss = PrototypeConformityLoss(2, 2, push_weight=0.1)
    with torch.no_grad():
        loss.centers.copy_(torch.tensor([[0.0, 0.0], [2.0, 0.0]]))
    h = torch.tensor([[1.0, 0.0], [2.0, 1.0]], requires_grad=True)
    y = torch.tensor([0, 1])
    # sample 0: own 1, push (1 + 4) / 1 -> 1 - 0.5; sample 1: own 1, push (5 + 4) -> 1 - 0.9
    value = loss(h, y)
    assert value.item() == pytest.approx((0.5 + 0.1) / 2)
    value.backward()
    assert h.grad is not None and loss.centers.grad is not None
    assert loss.centers.grad.abs().sum() > 0 and torch.isfinite(loss.centers.grad).all()
    # the paper's unit push weight: 1 - 5 and 1 - 9
    loss.push_weight = 1.0
    assert loss(h, y).item() == pytest.approx((-4 - 8) / 2)


def test_bad_loss_parameters():
    with pytest.raises(ValueError, match="n_classes"):
        HCPLoss(1, 4)
    with pytest.raises(ValueError, match="'c' parameter"):
        HCPLoss(3, 4, c=0)
    with pytest.raises(ValueError, match="push_weight"):
        PrototypeConformityLoss(3, 4, push_weight=-0.1)
    with pytest.raises(ValueError, match="n_classes"):
        PrototypeConformityLoss(1, 4)


@pytest.fixture
def digits_data():
    from ai4media_ext.data import load_digits

    x, y = load_digits()
    x = (x / 16.0).astype(np.float32)[:, None]
    order = np.random.default_rng(0).permutation(len(y))
    return x[order[:1400]], y[order[:1400]], x[order[1400:]], y[order[1400:]]


def _classifier():
    from ai4media_ext.zoo import SmallCNN, art_classifier

    torch.manual_seed(0)
    return art_classifier(SmallCNN(1, 8), (1, 8, 8), "cpu")


def test_trainer_end_to_end_on_real_digits(digits_data):
    x, y, x_te, y_te = digits_data
    keep = x.copy()
    clf = _classifier()
    trainer = HCPTrainer(clf, ["conv3", "fc1"], verbose=False)
    assert isinstance(trainer, Trainer)
    trainer.fit(x, y, nb_epochs=8, batch_size=128)
    assert np.array_equal(x, keep)
    assert set(trainer.losses_.keys()) == {"conv3", "fc1", "output"}
    assert trainer.history_[-1]["ce"] < trainer.history_[0]["ce"]
    trained = trainer.get_classifier()
    assert (trained.predict(x_te).argmax(1) == y_te).mean() > 0.85
    # hooks are gone: no leak into later use of the model
    assert all(not m._forward_hooks for m in trained.model.modules())
    # any ART attack runs on the trained classifier out of the box
    x_adv = FastGradientMethod(trained, eps=0.1).generate(x_te[:50])
    assert x_adv.shape == x_te[:50].shape and 0 <= x_adv.min() and x_adv.max() <= 1


def test_warmup_epochs_are_cross_entropy_only(digits_data):
    x, y, _, _ = digits_data
    trainer = HCPTrainer(_classifier(), ["fc1"], warmup_epochs=2, verbose=False)
    trainer.fit(x, y, nb_epochs=3)
    # the warm-up epochs are counted in nb_epochs and logged nowhere; HCP epochs are
    assert len(trainer.history_) == 1 and trainer.history_[0]["aux"] > 0
    # a second fit continues with the placed prototypes: no second warm-up
    trainer.fit(x, y, nb_epochs=2)
    assert len(trainer.history_) == 3


@pytest.mark.parametrize("trainer_cls", [CenterLossTrainer, PCLTrainer])
def test_baseline_trainers_run(digits_data, trainer_cls):
    x, y, x_te, y_te = digits_data
    clf = _classifier()
    trainer = trainer_cls(clf, ["fc1"], verbose=False)
    trainer.fit(x, y, nb_epochs=8)
    assert (clf.predict(x_te).argmax(1) == y_te).mean() > 0.8
    assert all(not m._forward_hooks for m in clf.model.modules())


def test_bad_trainer_arguments(digits_data):
    clf = _classifier()
    with pytest.raises(ValueError, match="valid names: .*conv1"):
        HCPTrainer(clf, ["conv9"])
    with pytest.raises(TypeError, match="PyTorchClassifier"):
        HCPTrainer(object(), ["fc1"])
    with pytest.raises(TypeError, match="module names"):
        HCPTrainer(clf, "fc1")
    with pytest.raises(ValueError, match="'c' parameter"):
        HCPTrainer(clf, ["fc1"], c=-1.0)
    with pytest.raises(ValueError, match="weight"):
        HCPTrainer(clf, ["fc1"], weight=-1.0)
    with pytest.raises(ValueError, match="warmup_epochs"):
        HCPTrainer(clf, ["fc1"], warmup_epochs=-1)
    with pytest.raises(ValueError, match="warmup_epochs"):
        CenterLossTrainer(clf, ["fc1"], warmup_epochs=1.5)
    with pytest.raises(ValueError, match="push_weight"):
        PCLTrainer(clf, ["fc1"], push_weight=-1)
    with pytest.raises(ValueError, match="valid names"):
        PCLTrainer(clf, ["nope"])
    x, y, _, _ = digits_data
    with pytest.raises(ValueError, match="nb_epochs"):
        HCPTrainer(clf, ["fc1"], verbose=False).fit(x, y, nb_epochs=0)
    with pytest.raises(ValueError, match="labels"):
        HCPTrainer(clf, ["fc1"], verbose=False).fit(x, y[:10])


def test_registered_as_art_defence():
    from ai4media_ext import registry

    assert registry.load("ai4media_ext.art.defences", "hcp") is HCPTrainer
    assert registry.load("ai4media_ext.art.defences", "center_loss") is CenterLossTrainer
    assert registry.load("ai4media_ext.art.defences", "pcl") is PCLTrainer
    import ai4media_ext.robustness as robustness

    assert robustness.HCPTrainer is HCPTrainer and "HCPLoss" in robustness.__all__
    with pytest.raises(AttributeError):
        robustness.NoSuchDefence  # noqa: B018


def test_hcp_experiment_embedded(tmp_path):
    import json

    from ai4media_ext.experiments import run_experiments
    from ai4media_ext.experiments.hcp import ATTACKS, METHODS, HCPExperiment

    (path,) = run_experiments([HCPExperiment()], tmp_path, quick=True)
    res = json.loads(path.read_text())
    for method in METHODS:
        for attack in ATTACKS:
            assert 0.0 <= res[f"digits_{method}_{attack}"] <= 1.0
    for method in METHODS:  # attacks hurt every model
        assert res[f"digits_{method}_bim"] < res[f"digits_{method}_clean"]
    assert (tmp_path / "hcp" / "digits_robust_accuracy.png").exists()


def test_resnet18_cifar_takes_hcp_layer_names():
    from ai4media_ext.zoo import ResNet18CIFAR, art_classifier

    torch.manual_seed(0)
    model = ResNet18CIFAR()
    assert sum(p.numel() for p in model.parameters()) == 11_173_962  # the CIFAR ResNet-18
    clf = art_classifier(model, (3, 32, 32), "cpu")
    assert clf.predict(np.zeros((2, 3, 32, 32), np.float32)).shape == (2, 10)
    HCPTrainer(clf, ["layer3", "layer4"])  # torchvision-style names validate


def test_cifar10_split_shuffles_the_class_ordered_zips(data_root):
    from ai4media_ext.data.splits import cifar10_split

    name, x_tr, y_tr, x_te, y_te = cifar10_split(data_root, 0)
    assert name == "cifar10" and x_tr.shape == x_te.shape == (10_000, 3, 32, 32)
    assert 0.0 <= x_te.min() and x_te.max() <= 1.0
    # any prefix (what the experiment attacks) holds every class
    assert len(np.unique(y_te[:100])) == 10 and len(np.unique(y_tr[:100])) == 10


def test_column_labels_are_index_labels_as_in_art(digits_data):
    """Issue 15, item 5: (n, 1) labels are index labels (ART's convention), not one-hot of
    width 1; the same seed gives the same model as with (n,) labels."""
    x, y, x_te, y_te = digits_data
    preds = []
    for labels in (y, y.reshape(-1, 1), np.eye(10)[y]):
        clf = _classifier()
        torch.manual_seed(1)
        HCPTrainer(clf, ["fc1"], verbose=False).fit(x, labels, nb_epochs=6, batch_size=64)
        preds.append(clf.predict(x_te).argmax(1))
    assert (preds[1] == y_te).mean() > 0.8  # one class only: 0.1
    assert np.array_equal(preds[0], preds[1]) and np.array_equal(preds[0], preds[2])


def test_bad_labels_raise_naming_y(digits_data):
    from ai4media_ext._validation import InvalidParameterError

    x, y, _, _ = digits_data
    trainer = HCPTrainer(_classifier(), ["fc1"], verbose=False)
    bad = y.copy()
    bad[0] = 10  # == nb_classes: torch would raise an IndexError deep inside
    with pytest.raises(InvalidParameterError, match=r"y holds the label 10.*\[0, 10\)"):
        trainer.fit(x, bad, nb_epochs=1)
    with pytest.raises(InvalidParameterError, match="y .* one-hot"):
        trainer.fit(x, np.eye(9)[y % 9], nb_epochs=1)
    with pytest.raises(ValueError, match="y holds the label -1"):
        trainer.fit(x, y - 1, nb_epochs=1)


def test_art_fit_keywords_apply_and_unknown_ones_raise(digits_data):
    """Issue 15, item 12: drop_last and scheduler act as in ART's fit; an unknown keyword is a
    TypeError, never swallowed."""
    x, y, _, _ = digits_data
    from torch import nn

    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
        nn.Linear(8 * 64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 10),
    )  # fmt: skip
    from ai4media_ext.zoo import art_classifier

    clf = art_classifier(model, (1, 8, 8), "cpu")
    n = 129  # batch 128 leaves a last batch of one sample, which BatchNorm1d refuses in training
    trainer = HCPTrainer(clf, ["5"], warmup_epochs=0, verbose=False)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        trainer.fit(x[:n], y[:n], nb_epochs=1, batch_size=128)
    trainer = HCPTrainer(clf, ["5"], warmup_epochs=0, verbose=False)
    trainer.fit(x[:n], y[:n], nb_epochs=1, batch_size=128, drop_last=True)
    sched = torch.optim.lr_scheduler.StepLR(clf.optimizer, step_size=1, gamma=0.5)
    lr = clf.optimizer.param_groups[0]["lr"]
    trainer.fit(x[:n], y[:n], nb_epochs=2, batch_size=64, drop_last=True, scheduler=sched)
    assert clf.optimizer.param_groups[0]["lr"] == pytest.approx(lr / 4)
    with pytest.raises(TypeError, match="unexpected keyword argument 'dropLast'"):
        trainer.fit(x, y, nb_epochs=1, dropLast=True)
    with pytest.raises(ValueError, match="'drop_last' parameter"):
        trainer.fit(x, y, nb_epochs=1, drop_last="yes")
