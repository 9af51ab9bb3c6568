"""GradientInversionAttack: known answers, label inference, host conformance, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from art.attacks.attack import ReconstructionAttack
from art.exceptions import EstimatorError

from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.data.splits import digits_split
from ai4media_ext.privacy.attacks import (
    GradientInversionAttack,
    infer_labels,
    match_reconstructions,
)
from ai4media_ext.zoo import SmallCNN, art_classifier


@pytest.fixture(scope="module")
def digits():
    return digits_split(0)


def _gradient(model: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y))
    grads = torch.autograd.grad(loss, list(model.parameters()))
    return torch.cat([g.ravel() for g in grads]).numpy()


def _linear_classifier():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    return model, art_classifier(model, (1, 8, 8))


def test_is_an_art_reconstruction_attack():
    _, clf = _linear_classifier()
    attack = GradientInversionAttack(clf, max_iter=1, verbose=False)
    assert isinstance(attack, ReconstructionAttack)
    attack.set_params(max_iter=5)
    assert attack.max_iter == 5
    with pytest.raises(InvalidParameterError, match="max_iter"):
        attack.set_params(max_iter=0)


def test_softmax_regression_image_is_recovered_exactly(digits):
    # known answer: for softmax regression grad_W = (p - y) x^T, so the gradient's direction
    # determines x; the attack must find it (PSNR far above a random image's ~5.5 dB)
    model, clf = _linear_classifier()
    x, y = digits.x_train[:1], digits.y_train[:1]
    attack = GradientInversionAttack(
        clf, max_iter=200, tv_weight=0.0, random_state=0, verbose=False
    )
    x_rec, y_rec = attack.reconstruct(_gradient(model, x, y))
    assert y_rec.tolist() == y.tolist()
    assert match_reconstructions(x, x_rec).psnr[0] > 30.0


def test_input_standardisation_is_part_of_the_client_model(digits):
    from art.defences.preprocessor import FeatureSqueezing
    from art.estimators.classification import PyTorchClassifier

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    kw = {"loss": torch.nn.CrossEntropyLoss(), "input_shape": (1, 8, 8), "nb_classes": 10}
    clf = PyTorchClassifier(model, clip_values=(0.0, 1.0), preprocessing=(0.3, 0.2), **kw)
    x, y = digits.x_train[:1], digits.y_train[:1]
    update = _gradient(model, (x - 0.3) / 0.2, y)  # the client standardises its input
    attack = GradientInversionAttack(
        clf, max_iter=200, tv_weight=0.0, random_state=0, verbose=False
    )
    x_rec, y_rec = attack.reconstruct(update)  # the bias gradient gives the label
    assert y_rec.tolist() == y.tolist()
    assert match_reconstructions(x, x_rec).psnr[0] > 30.0
    squeezed = PyTorchClassifier(
        model, clip_values=(0.0, 1.0), preprocessing_defences=[FeatureSqueezing((0.0, 1.0))], **kw
    )
    with pytest.raises(InvalidParameterError, match="preprocessing"):
        GradientInversionAttack(squeezed)


def test_cnn_single_image_gradient_is_inverted(digits):
    torch.manual_seed(0)
    model = SmallCNN(1, 8)
    clf = art_classifier(model, (1, 8, 8))
    x, y = digits.x_train[3:4], digits.y_train[3:4]
    attack = GradientInversionAttack(
        clf, max_iter=150, num_restarts=1, random_state=0, verbose=False
    )
    x_rec, y_rec = attack.reconstruct(_gradient(model, x, y))
    rand = match_reconstructions(x, np.random.default_rng(0).random(x.shape))
    got = match_reconstructions(x, x_rec)
    assert x_rec.shape == x.shape and x_rec.dtype == np.float32
    assert y_rec.tolist() == y.tolist()
    assert got.psnr[0] > rand.psnr[0] + 5.0 and got.ssim[0] > 0.4
    assert attack.restart_losses_.shape == (1,)
    assert 0.0 <= x_rec.min() and x_rec.max() <= 1.0  # boxed to clip_values


def test_labels_inferred_from_the_last_layer(digits):
    torch.manual_seed(1)
    model = SmallCNN(1, 8)
    for i in range(10):  # iDLG: one image, the true label
        x, y = digits.x_train[i : i + 1], digits.y_train[i : i + 1]
        grad_w = _gradient(model, x, y)[-(128 * 10 + 10) : -10].reshape(10, 128)
        assert infer_labels(grad_w, 1).tolist() == y.tolist()
        assert infer_labels(_gradient(model, x, y)[-10:], 1).tolist() == y.tolist()  # bias
    idx = [int(np.flatnonzero(digits.y_train == c)[0]) for c in (2, 5, 7)]
    grad_w = _gradient(model, digits.x_train[idx], digits.y_train[idx])[-(1280 + 10) : -10]
    assert sorted(infer_labels(grad_w.reshape(10, 128), 3).tolist()) == [2, 5, 7]


def test_weight_difference_of_an_aggregate(digits):
    torch.manual_seed(0)
    model = SmallCNN(1, 8)
    clf = art_classifier(model, (1, 8, 8))
    start = [p.detach().clone() for p in model.parameters()]
    pair = [int(np.flatnonzero(digits.y_train == c)[0]) for c in (3, 8)]
    total = 0
    for i in pair:  # two clients, one image each, two local SGD steps of size 0.1
        m = SmallCNN(1, 8)
        m.load_state_dict(model.state_dict())
        opt = torch.optim.SGD(m.parameters(), lr=0.1)
        for _ in range(2):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(
                m(torch.from_numpy(digits.x_train[i : i + 1])),
                torch.from_numpy(digits.y_train[i : i + 1]),
            ).backward()
            opt.step()
        total = total + torch.cat(
            [(p - s).ravel() for p, s in zip(m.parameters(), start, strict=True)]
        )
    attack = GradientInversionAttack(
        clf,
        num_updates=2,
        update_kind="weight_difference",
        local_steps=2,
        max_iter=5,
        verbose=False,
    )
    x_rec, y_rec = attack.reconstruct(total.detach().numpy())
    assert x_rec.shape == (2, 1, 8, 8)
    assert sorted(y_rec.tolist()) == [3, 8]


def test_inputs_not_mutated_and_reproducible(digits):
    model, clf = _linear_classifier()
    update = _gradient(model, digits.x_train[:1], digits.y_train[:1])
    y = digits.y_train[:1].copy()
    kept_u, kept_y = update.copy(), y.copy()
    kept_w = [p.detach().clone() for p in model.parameters()]
    model.train()
    attack = GradientInversionAttack(
        clf, max_iter=10, num_restarts=3, random_state=4, verbose=False
    )
    a, _ = attack.reconstruct(update, y)
    b, _ = attack.reconstruct(update, y)
    np.testing.assert_array_equal(update, kept_u)
    np.testing.assert_array_equal(y, kept_y)
    assert all(torch.equal(p, k) for p, k in zip(model.parameters(), kept_w, strict=True))
    assert model.training  # the model's mode is restored
    np.testing.assert_array_equal(a, b)
    # a list of per-parameter arrays is the same update
    c, _ = attack.reconstruct([g.numpy() for g in torch.from_numpy(update).split([640, 10])], y)
    np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("num_images", 0),
        ("num_updates", 1.5),
        ("update_kind", "weights"),
        ("local_steps", 0),
        ("local_lr", 0.0),
        ("max_iter", -1),
        ("learning_rate", float("nan")),
        ("tv_weight", -1e-3),
        ("num_restarts", 0),
        ("init", "zeros"),
        ("random_state", "seed"),
        ("verbose", "yes"),
    ],
)
def test_bad_parameters_are_named(param, value):
    _, clf = _linear_classifier()
    with pytest.raises(InvalidParameterError, match=param):
        GradientInversionAttack(clf, **{param: value})


def test_bad_inputs_are_refused(digits):
    model, clf = _linear_classifier()
    update = _gradient(model, digits.x_train[:1], digits.y_train[:1])
    attack = GradientInversionAttack(clf, max_iter=1, verbose=False)
    with pytest.raises(InvalidParameterError, match="x has 649 values"):
        attack.reconstruct(update[:-1])
    with pytest.raises(InvalidParameterError, match="x must be finite"):
        attack.reconstruct(np.where(np.arange(update.size) == 3, np.nan, update))
    with pytest.raises(InvalidParameterError, match="all zeros"):
        attack.reconstruct(np.zeros_like(update))
    with pytest.raises(InvalidParameterError, match="sizes"):
        attack.reconstruct([update[:640], update[640:-1]])
    with pytest.raises(InvalidParameterError, match="y"):
        attack.reconstruct(update, np.array([10]))
    with pytest.raises(InvalidParameterError, match="y has 2 labels"):
        attack.reconstruct(update, np.array([1, 2]))
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        attack.reconstruct(update, foo=1)
    with pytest.raises(EstimatorError):
        GradientInversionAttack(object())  # ART's estimator check


def test_match_reconstructions_agrees_with_skimage():
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    rng = np.random.default_rng(0)
    a = rng.random((3, 3, 16, 16))
    b = np.clip(a + 0.1 * rng.standard_normal(a.shape), 0, 1)[[2, 0, 1]]
    m = match_reconstructions(a, b)
    assert m.order.tolist() == [1, 2, 0]
    for i in range(3):
        r = b[m.order[i]]
        assert m.psnr[i] == pytest.approx(peak_signal_noise_ratio(a[i], r, data_range=1.0))
        assert m.ssim[i] == pytest.approx(
            structural_similarity(a[i], r, data_range=1.0, channel_axis=0)
        )
    with pytest.raises(InvalidParameterError, match="reconstructions"):
        match_reconstructions(a, b[:2])
    with pytest.raises(InvalidParameterError, match="data_range"):
        match_reconstructions(a, b, data_range=0)
