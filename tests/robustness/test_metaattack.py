"""MetaAttack and its baselines as ART evasion attacks; the retrieval estimator; the meta step."""

import numpy as np
import pytest
import torch
from art.attacks.attack import EvasionAttack
from art.attacks.evasion import FastGradientMethod
from art.estimators.classification import PyTorchClassifier
from art.exceptions import EstimatorError
from torch import nn

from ai4media_ext import registry
from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.robustness.metaattack import (
    MergedUAPRetrieval,
    MetaAttack,
    PyTorchRetrievalEstimator,
    UAPRetrieval,
)
from ai4media_ext.robustness.metaattack.losses import pseudo_labels

ATTACKS = (UAPRetrieval, MergedUAPRetrieval, MetaAttack)
SHAPE = (3, 8, 8)


def tiny_model(double: bool = False) -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 36, 6))
    return model.double() if double else model


@pytest.fixture()
def est():
    return PyTorchRetrievalEstimator(tiny_model(), SHAPE, clip_values=(0.0, 1.0), device_type="cpu")


@pytest.fixture(scope="module")
def sets():
    rng = np.random.default_rng(0)
    return (rng.uniform(0, 1, (40,) + SHAPE).astype(np.float32),
            rng.uniform(0, 1, (30,) + SHAPE).astype(np.float32))  # fmt: skip


def fitted(cls, est, sets, **kw):
    params = dict(n_clusters=4, max_iter=2, batch_size=10, random_state=0, verbose=False)
    atk = cls(est, **{**params, **kw})
    return atk.fit(sets[0], None if cls is UAPRetrieval else sets[1])


@pytest.mark.parametrize("cls", ATTACKS)
def test_art_conformance(cls, est):
    atk = cls(est, verbose=False)
    assert isinstance(atk, EvasionAttack)
    assert atk.noise is None and atk.eps == pytest.approx(8 / 255)
    assert atk.learning_rate is None and atk.margin == 0.5 and atk.pair_weight == 10.0
    assert repr(atk).startswith(f"{cls.__name__}(")


@pytest.mark.parametrize("cls", ATTACKS)
@pytest.mark.parametrize(
    "param,value",
    [("eps", 0.0), ("eps", -0.1), ("eps", "8"), ("norm", 2), ("norm", 1), ("norm", "l2"),
     ("n_clusters", 1), ("max_iter", 0), ("batch_size", 2.5), ("momentum", -1.0),
     ("lr_decay", 0.0), ("learning_rate", 0.0), ("verbose", 1), ("random_state", -1)],
)  # fmt: skip
def test_check_params_rejects(cls, est, param, value):
    with pytest.raises(InvalidParameterError, match=repr(param)):
        cls(est, **{param: value})
    atk = cls(est, verbose=False)
    with pytest.raises(InvalidParameterError, match=repr(param)):
        atk.set_params(**{param: value})


def test_norm_inf_spellings(est):
    assert MetaAttack(est, norm="inf").norm == "inf"
    assert MetaAttack(est, norm=float("inf")).norm == np.inf


def test_needs_a_retrieval_estimator():
    clf = PyTorchClassifier(tiny_model(), nn.CrossEntropyLoss(), SHAPE, 6, device_type="cpu")
    with pytest.raises(EstimatorError):
        MetaAttack(clf)


def test_mismatched_shapes_are_rejected(est, sets):
    atk = MetaAttack(est, n_clusters=4, max_iter=1, verbose=False)
    with pytest.raises(InvalidParameterError, match="x must have shape"):
        atk.fit(sets[0][:, :1], sets[1])
    with pytest.raises(InvalidParameterError, match="x_virtual must have shape"):
        atk.fit(sets[0], sets[1][..., :4])
    with pytest.raises(InvalidParameterError, match="x_virtual"):
        atk.fit(sets[0])
    with pytest.raises(InvalidParameterError, match="x_virtual must be None"):
        UAPRetrieval(est, verbose=False).fit(sets[0], sets[1])
    with pytest.raises(InvalidParameterError, match="n_clusters"):
        MetaAttack(est, n_clusters=35, verbose=False).fit(sets[0], sets[1])
    fitted_atk = fitted(MetaAttack, est, sets)
    with pytest.raises(InvalidParameterError, match="x must have shape"):
        fitted_atk.generate(np.zeros((2, 3, 8, 9), np.float32))


@pytest.mark.parametrize("cls", ATTACKS)
def test_generate_bounds_and_no_mutation(cls, est, sets):
    eps = 16 / 255
    atk = fitted(cls, est, sets, eps=eps)
    x = sets[0].copy()
    out = atk.generate(x)
    np.testing.assert_array_equal(x, sets[0])  # inputs untouched
    assert out.dtype == np.float32 and out.shape == x.shape and out is not x
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert np.abs(out - x).max() <= eps + 1e-6
    assert atk.noise.shape == (1,) + SHAPE and np.abs(atk.noise).max() <= eps + 1e-7
    assert np.abs(atk.noise).max() > 0.5 * eps  # it did learn something
    np.testing.assert_allclose(out, np.clip(x + atk.noise, 0, 1), atol=1e-7)
    assert len(atk.losses_) == 2 and np.all(np.isfinite(atk.losses_))


def test_generate_learns_like_art_universal_perturbation(est, sets):
    atk = MetaAttack(est, n_clusters=4, max_iter=1, batch_size=10, random_state=0, verbose=False)
    out = atk.generate(sets[0], x_virtual=sets[1])
    assert atk.noise is not None and out.shape == sets[0].shape
    again = fitted(MetaAttack, est, sets, max_iter=1)
    np.testing.assert_array_equal(atk.noise, again.noise)  # seeded


def test_clip_values_respected_per_estimator(sets):
    est = PyTorchRetrievalEstimator(tiny_model(), SHAPE, clip_values=(0.2, 0.7), device_type="cpu")
    out = fitted(UAPRetrieval, est, sets, eps=0.3).generate(sets[0])
    assert out.min() >= 0.2 and out.max() <= 0.7


def test_meta_gradient_includes_the_meta_test_term():
    """d/d delta [L_tr(delta) + L_te(delta')] against central finite differences (float64)."""
    est = PyTorchRetrievalEstimator(tiny_model(double=True), SHAPE, clip_values=(0.0, 1.0),
                                    device_type="cpu")  # fmt: skip
    atk = MetaAttack(est, eps=0.1, learning_rate=0.01, n_clusters=3, verbose=False)
    gen = torch.Generator().manual_seed(1)
    xs = torch.rand((12,) + SHAPE, generator=gen, dtype=torch.float64) * 0.8 + 0.1
    xv = torch.rand((10,) + SHAPE, generator=gen, dtype=torch.float64) * 0.8 + 0.1
    with torch.no_grad():
        lab_s = pseudo_labels(est.features(xs).numpy(), 3, 0, "cpu")
        lab_v = pseudo_labels(est.features(xv).numpy(), 3, 0, "cpu")
    source, virtual = (xs, torch.arange(12), lab_s), (xv, torch.arange(10), lab_v)
    delta = (torch.rand((1,) + SHAPE, generator=gen, dtype=torch.float64) - 0.5) * 0.05
    buffer = torch.zeros_like(delta)
    grad, _ = atk._meta_gradient(delta, buffer, 0.01, source, virtual)

    d = delta.clone().requires_grad_(True)
    (g_tr,) = torch.autograd.grad(atk._loss(d, *source), d)
    step = torch.sign(g_tr / g_tr.abs().sum())  # the virtual step's sign, fixed (derivative 0)

    def objective(dd):
        return atk._loss(dd, *source) + atk._loss((dd - 0.01 * step).clamp(-0.1, 0.1), *virtual)

    def train_only(dd):
        return atk._loss(dd, *source)

    for _ in range(3):
        v = torch.randn(delta.shape, generator=gen, dtype=torch.float64)
        h = 1e-6
        with torch.no_grad():
            fd = (objective(delta + h * v) - objective(delta - h * v)) / (2 * h)
            fd_tr = (train_only(delta + h * v) - train_only(delta - h * v)) / (2 * h)
        assert float((grad * v).sum()) == pytest.approx(float(fd), rel=1e-5, abs=1e-8)
        assert abs(float(fd - fd_tr)) > 1e-3 * abs(float(fd))  # the meta-test term matters
    assert float((grad - g_tr).norm()) > 0.05 * float(g_tr.norm())


def test_registered_under_art_groups(est):
    atk = registry.build("ai4media_ext.art.attacks", "meta_attack", {"estimator": est, "eps": 0.1})
    assert isinstance(atk, MetaAttack) and atk.eps == 0.1
    for name in ("uap_retrieval", "merged_uap_retrieval"):
        assert issubclass(registry.load("ai4media_ext.art.attacks", name), EvasionAttack)
    assert registry.load("ai4media_ext.art.estimators", "pytorch_retrieval") is (
        PyTorchRetrievalEstimator
    )


# -- estimator -------------------------------------------------------------------------------
def test_estimator_predict_features(est, sets):
    x = sets[0].copy()
    feats = est.predict(x, batch_size=7)
    np.testing.assert_array_equal(x, sets[0])
    assert feats.shape == (40, 6) and feats.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(feats, axis=1), 1.0, rtol=1e-5)
    with torch.no_grad():
        raw = est.model(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(feats, raw / np.linalg.norm(raw, axis=1, keepdims=True), rtol=1e-5)


def test_estimator_preprocessing_is_applied_and_differentiable(sets):
    mean, std = 0.5, 0.25
    est = PyTorchRetrievalEstimator(tiny_model(), SHAPE, normalize=False, preprocessing=(mean, std),
                                    device_type="cpu")  # fmt: skip
    x = sets[0][:5]
    with torch.no_grad():
        expected = est.model(torch.as_tensor((x - mean) / std)).numpy()
    np.testing.assert_allclose(est.predict(x), expected, rtol=1e-5, atol=1e-6)
    y = np.zeros((5, 6), np.float32)
    grad = est.loss_gradient(x, y)
    xt = torch.tensor(x, requires_grad=True)
    (est.model((xt - mean) / std) ** 2).sum().backward()
    np.testing.assert_allclose(grad, xt.grad.numpy(), rtol=1e-4, atol=1e-6)
    assert est.compute_loss(x, y).shape == (5,)
    assert est.compute_loss(x, y, reduction="sum") == pytest.approx((expected**2).sum(), rel=1e-4)


def test_estimator_drives_art_fgm(est, sets):
    x = sets[0][:8]
    clean = est.predict(x)
    fgm = FastGradientMethod(est, eps=8 / 255, num_random_init=1)
    adv = fgm.generate(x, y=clean)
    assert adv.shape == x.shape and np.abs(adv - x).max() <= 8 / 255 + 1e-6
    assert np.all((est.predict(adv) * clean).sum(1) < 1.0)


def test_estimator_rejects_bad_parameters():
    with pytest.raises(InvalidParameterError, match="input_shape"):
        PyTorchRetrievalEstimator(tiny_model(), (3, 0, 8), device_type="cpu")
    with pytest.raises(InvalidParameterError, match="'normalize'"):
        PyTorchRetrievalEstimator(tiny_model(), SHAPE, normalize="yes", device_type="cpu")
    with pytest.raises(InvalidParameterError, match="'loss'"):
        PyTorchRetrievalEstimator(tiny_model(), SHAPE, loss=3, device_type="cpu")
    est = PyTorchRetrievalEstimator(tiny_model(), SHAPE, device_type="cpu")
    with pytest.raises(InvalidParameterError, match="x must have shape"):
        est.predict(np.zeros((2, 1, 8, 8), np.float32))
    with pytest.raises(InvalidParameterError, match="finite"):
        est.predict(np.full((2,) + SHAPE, np.nan, np.float32))


def test_estimator_activations_and_fit(est, sets):
    act = est.get_activations(sets[0], "1", batch_size=16)
    assert act.shape == (40, 4, 6, 6)
    with pytest.raises(NotImplementedError, match="logits"):
        est.fit(sets[0], np.zeros(40, int))
