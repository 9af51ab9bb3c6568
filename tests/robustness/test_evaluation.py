"""RobustnessEvaluation: the masking checks on hand-made accuracy tables, and end to end on
real digits: an undefended CNN is not flagged, the same CNN behind a non-differentiable input
quantisation or a saturated softmax looks robust to white-box attacks and is flagged."""

import numpy as np
import pytest
import torch
from art.estimators.classification import PyTorchClassifier

from ai4media_ext import registry
from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.robustness.evaluation import ATTACKS, CHECKS, RobustnessEvaluation, checks

EPS = 0.1
FAST = {"eps": EPS, "max_iter": 10, "square_iter": 150, "targets": 2, "random_state": 0}


class Quantised(torch.nn.Module):
    """Rounds pixels to 1/8 steps before the network: the gradient through round is zero."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(torch.round(x * 8) / 8)


class Saturated(torch.nn.Module):
    """Logits x 1000: the softmax saturates and the cross-entropy gradient underflows to 0."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return 1000 * self.net(x)


def _art(model):
    return PyTorchClassifier(model, torch.nn.CrossEntropyLoss(), input_shape=(1, 8, 8),
                             nb_classes=10, clip_values=(0.0, 1.0))  # fmt: skip


@pytest.fixture(scope="module")
def digits():
    from ai4media_ext.data.splits import digits_split
    from ai4media_ext.zoo import SmallCNN, art_classifier

    _, x_tr, y_tr, x_te, y_te = digits_split(0)
    nets = []
    for seed, epochs in ((0, 8), (1, 5)):  # the model and an independently trained surrogate
        torch.manual_seed(seed)
        np.random.seed(seed)  # noqa: NPY002 (ART's shuffles)
        clf = art_classifier(SmallCNN(1, 8), (1, 8, 8))
        clf.fit(x_tr, y_tr, nb_epochs=epochs, batch_size=64, verbose=False)
        nets.append(clf)
    return nets[0], nets[1], x_te[:80], y_te[:80]


def test_undefended_model_is_not_flagged(digits, tmp_path):
    clf, surrogate, x, y = digits
    x0 = x.copy()
    ev = RobustnessEvaluation(clf, surrogate=surrogate, **FAST)
    out = ev.evaluate(x, y)
    np.testing.assert_array_equal(x, x0)
    assert not out["masked"], ev.summary()
    assert set(ev.checks_) == set(CHECKS) and all(c["evaluated"] for c in ev.checks_.values())
    assert ev.clean_accuracy_ > 0.9
    assert ev.table_["pgd"][EPS] < 0.5 * ev.clean_accuracy_  # attacks work on this model
    # the worst case is no better than any single attack, and it never rises with the budget
    assert ev.worst_case_ <= min(c[EPS] for c in ev.table_.values()) + 1e-12
    curve = [ev.worst_case_curve_[e] for e in sorted(ev.worst_case_curve_)]
    assert curve == sorted(curve, reverse=True) and curve[-1] == 0.0
    flat = ev.to_dict(prefix="digits_sm_")
    assert flat["digits_sm_worst_case"] == ev.worst_case_
    assert {f"digits_sm_{a}" for a in ATTACKS} <= set(flat)
    assert all(flat[f"digits_sm_masking_{c}"] == 0 for c in CHECKS)
    ev.plot(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert "no masking flagged" in ev.summary()


def test_quantised_model_looks_robust_and_is_flagged(digits):
    clf, surrogate, x, y = digits
    masked = _art(Quantised(clf.model))
    ev = RobustnessEvaluation(masked, surrogate=surrogate, **FAST)
    ev.evaluate(x, y)
    for attack in ("fgsm", "pgd", "mim", "apgd_ce"):  # white-box numbers look robust
        assert ev.table_[attack][EPS] >= ev.clean_accuracy_ - 0.05, ev.summary()
    assert ev.masked_
    for check in ("gradients", "unbounded_budget", "blackbox_stronger"):
        assert ev.checks_[check]["flag"], ev.summary()
    assert ev.worst_case_ < ev.table_["pgd"][EPS] - 0.2  # Square / transfer see through it


def test_saturated_softmax_looks_robust_and_is_flagged(digits):
    clf, _, x, y = digits
    masked = _art(Saturated(clf.model))
    ev = RobustnessEvaluation(masked, attacks=("fgsm", "pgd", "mim"), **FAST)
    ev.evaluate(x, y)
    assert ev.table_["pgd"][EPS] >= ev.clean_accuracy_ - 0.05
    assert ev.checks_["gradients"]["flag"] and ev.checks_["unbounded_budget"]["flag"]
    assert not ev.checks_["blackbox_stronger"]["evaluated"]
    assert ev.to_dict()["masking_gradients"] == 1


def _table(**curves):
    return {k: dict(v) for k, v in curves.items()}


def test_checks_on_hand_made_tables():
    t = _table(fgsm={0.1: 0.30, 1.0: 0.2}, pgd={0.1: 0.40, 0.5: 0.1, 1.0: 0.30},
               square={0.1: 0.05}, noise={0.1: 0.02})  # fmt: skip
    assert checks.iterative_weaker(t, 0.02)["flag"]  # pgd 0.40 > fgsm 0.30
    assert not checks.iterative_weaker(t, 0.2)["flag"]
    assert checks.blackbox_stronger(t, 0.1, 0.02)["flag"]  # square 0.05 < 0.30
    assert checks.noise_stronger(t, 0.1, 0.02)["flag"]
    assert checks.unbounded_budget(t, 1.0, 0.05)["flag"]  # pgd 0.30 at the input range
    assert checks.non_monotone(t, 0.02)["flag"]  # pgd 0.1 -> 0.30 from eps 0.5 to 1
    honest = _table(fgsm={0.1: 0.3}, pgd={0.1: 0.1, 1.0: 0.0}, square={0.1: 0.12})
    for check in (checks.iterative_weaker(honest, 0.02), checks.non_monotone(honest, 0.02),
                  checks.blackbox_stronger(honest, 0.1, 0.02),
                  checks.unbounded_budget(honest, 1.0, 0.05)):  # fmt: skip
        assert check["evaluated"] and not check["flag"]
    assert not checks.noise_stronger(honest, 0.1, 0.02)["evaluated"]
    norms = np.array([1e-3, 0.0, 2e-3, 1e-2])
    assert checks.gradients(norms, np.ones(4, bool), 1e-20, 0.1)["flag"]  # 1/4 vanished
    assert not checks.gradients(norms, np.ones(4, bool), 1e-20, 0.3)["flag"]
    assert checks.gradients(norms, np.array([1, 1, 1, 0], bool), 1e-20, 0.3)["flag"]  # NaN


@pytest.mark.parametrize(
    "kw, name",
    [({"norm": 3}, "norm"), ({"eps": -0.1}, "eps"), ({"attacks": ["fgsm", "cw"]}, "attacks"),
     ({"attacks": []}, "attacks"), ({"eps_curve": [0.1, -1]}, "eps_curve"),
     ({"tolerance": 2.0}, "tolerance"), ({"max_iter": 0}, "max_iter"),
     ({"random_state": -1}, "random_state"), ({"surrogate": object()}, "surrogate"),
     ({"attacks": ["transfer"]}, "surrogate")],
)  # fmt: skip
def test_bad_parameters(digits, kw, name):
    with pytest.raises(InvalidParameterError, match=name):
        RobustnessEvaluation(digits[0], **kw)


def test_bad_inputs(digits):
    clf, _, x, y = digits
    ev = RobustnessEvaluation(clf, attacks=("fgsm",), **{**FAST, "random_state": None})
    with pytest.raises(RuntimeError, match="evaluate"):
        ev.to_dict()
    with pytest.raises(InvalidParameterError, match="shape"):
        ev.evaluate(x[:, :, :4], y)
    with pytest.raises(InvalidParameterError, match="y"):
        ev.evaluate(x, y[:-1])
    with pytest.raises(InvalidParameterError, match="y"):
        ev.evaluate(x, y + 10)
    with pytest.raises(InvalidParameterError, match="finite"):
        ev.evaluate(np.full_like(x, np.nan), y)
    with pytest.raises(InvalidParameterError):
        RobustnessEvaluation("not a classifier")


def test_registered_as_an_art_metric():
    cls = registry.load("ai4media_ext.art.metrics", "robustness_evaluation")
    assert cls is RobustnessEvaluation
    assert registry.load("ai4media_ext.art.defences", "hcp_literal").__name__ == (
        "HCPLiteralTrainer"
    )
