"""K-A3 as an ART evasion attack: conformance, grouping, clip values, an end-to-end run."""

import numpy as np
import pytest
import torch
from art.attacks.evasion import FastGradientMethod
from art.estimators.classification import PyTorchClassifier, SklearnClassifier
from art.exceptions import EstimatorError
from sklearn.linear_model import LogisticRegression
from torch import nn

from ai4media_ext.data import load_digits
from ai4media_ext.robustness.kanonymity import KAnonymityAttack
from ai4media_ext.robustness.metrics import rank_pmf, true_label_ranks


@pytest.fixture(scope="module")
def digits_classifier():
    torch.manual_seed(0)
    x, y = load_digits()
    x = (x / 16.0).astype(np.float32)[:, None]
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 64, 10)
    )
    clf = PyTorchClassifier(
        model,
        loss=nn.CrossEntropyLoss(),
        optimizer=torch.optim.Adam(model.parameters(), 1e-2),
        input_shape=(1, 8, 8),
        nb_classes=10,
        clip_values=(0.0, 1.0),
    )
    clf.fit(x[:1500], y[:1500], nb_epochs=8, batch_size=64, verbose=False)
    return clf, x[1500:], y[1500:]


def test_art_conformance(digits_classifier):
    clf, _, _ = digits_classifier
    atk = KAnonymityAttack(clf, k=3, verbose=False)
    assert repr(atk).startswith("KAnonymityAttack(")
    atk.set_params(max_iter=10)
    assert atk.max_iter == 10
    with pytest.raises(ValueError, match="cannot be set"):
        atk.set_params(eps=0.1)
    sk = SklearnClassifier(LogisticRegression().fit(np.eye(4), [0, 1, 2, 3]))
    with pytest.raises(EstimatorError):
        KAnonymityAttack(sk)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"k": 0}, ValueError),
        ({"k": 10}, ValueError),
        ({"k": 2.5}, TypeError),
        ({"k": 2.5}, ValueError),  # ART's convention: _check_params raises ValueError
        ({"verbose": 1}, ValueError),
        ({"random_state": -1}, ValueError),
        ({"max_iter": 0}, ValueError),
        ({"learning_rate": 0.0}, ValueError),
        ({"similarity_weight": -1.0}, ValueError),
    ],
)
def test_bad_parameters(digits_classifier, kwargs, error):
    with pytest.raises(error):
        KAnonymityAttack(digits_classifier[0], **kwargs)


@pytest.mark.parametrize("n, k", [(100, 5), (101, 5), (9, 9), (30, 1)])
def test_grouping_spreads_ranks_evenly(digits_classifier, n, k):
    ranks = KAnonymityAttack(digits_classifier[0], k=k, random_state=0).target_ranks(n)
    counts = np.bincount(ranks, minlength=k + 2)[2:]
    assert counts.sum() == n and len(counts) == k
    assert counts.max() - counts.min() <= 1  # K groups of N/K


def test_end_to_end_on_real_digits(digits_classifier):
    clf, x, y = digits_classifier
    x, y = x[:60], y[:60]
    keep = x.copy()
    atk = KAnonymityAttack(
        clf, k=3, max_iter=150, learning_rate=0.05, random_state=0, verbose=False
    )
    x_adv = atk.generate(x, y)
    assert np.array_equal(x, keep)  # the caller's array is untouched
    assert x_adv.shape == x.shape and x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    # every sample lands exactly on its group's rank (no under- or overshoot)
    reached = true_label_ranks(clf, x_adv, y) == atk.target_ranks(len(x))
    assert reached.mean() >= 0.95
    pmf = rank_pmf(clf, x_adv, y)
    assert pmf[0] <= 0.02 and np.abs(pmf[1:4] - 1 / 3).max() <= 0.05  # uniform over ranks 2..4
    assert pmf[4:].sum() <= 0.02
    # the examples are ordinary numpy inputs for any ART attack or estimator
    assert FastGradientMethod(clf, eps=0.01).generate(x_adv).shape == x.shape


# --- issue 15 -------------------------------------------------------------------------------


def _per_feature_clip_classifier(clf):
    """The same network with ART per-feature clip_values: 0.5 on 32 features, 1.0 on 32."""
    upper = np.r_[np.full(32, 0.5), np.full(32, 1.0)].reshape(1, 8, 8).astype(np.float32)
    return PyTorchClassifier(
        clf.model,
        loss=nn.CrossEntropyLoss(),
        input_shape=(1, 8, 8),
        nb_classes=10,
        clip_values=(np.zeros_like(upper), upper),
    ), upper


def test_per_feature_clip_values_are_each_respected(digits_classifier):
    clf, x, y = digits_classifier
    per_feature, upper = _per_feature_clip_classifier(clf)
    x = np.minimum(x[:20], upper)  # valid inputs of that classifier
    atk = KAnonymityAttack(
        per_feature, k=2, max_iter=40, learning_rate=0.1, random_state=0, verbose=False
    )
    x_adv = atk.generate(x, y[:20])
    assert (x_adv <= upper).all() and (x_adv >= 0).all()
    assert (x_adv != x).any()  # the attack did move


def test_labels_in_arts_conventions(digits_classifier):
    clf, x, y = digits_classifier
    x, y = x[:6], y[:6]
    atk = KAnonymityAttack(clf, k=2, max_iter=3, random_state=0, verbose=False)
    a = atk.generate(x, y)
    assert np.array_equal(atk.generate(x, y.reshape(-1, 1)), a)  # (n, 1): index labels
    assert np.array_equal(atk.generate(x, np.eye(10)[y]), a)  # one-hot
    with pytest.raises(ValueError, match="y holds the label 10"):
        atk.generate(x, np.r_[y[:-1], 10])
    with pytest.raises(ValueError, match="y of shape"):
        atk.generate(x, np.eye(9)[y])  # one-hot of the wrong width
    with pytest.raises(ValueError, match="y has 5 labels"):
        atk.generate(x, y[:5])


@pytest.mark.parametrize("dtype", [np.int64, np.float32, np.float64])
def test_input_dtypes(digits_classifier, dtype):
    clf, x, y = digits_classifier
    xs = (x[:4] > 0.5).astype(dtype)
    out = KAnonymityAttack(clf, k=2, max_iter=2, random_state=0, verbose=False).generate(xs, y[:4])
    assert out.dtype == np.float32 and out.shape == xs.shape


def test_bad_inputs_and_unknown_keywords(digits_classifier):
    clf, x, y = digits_classifier
    atk = KAnonymityAttack(clf, k=2, max_iter=2, verbose=False)
    with pytest.raises(ValueError, match="x must be finite"):
        atk.generate(np.full_like(x[:2], np.nan), y[:2])
    with pytest.raises(ValueError, match="x must not be empty"):
        atk.generate(x[:0], y[:0])
    with pytest.raises(TypeError, match="unexpected keyword"):
        atk.generate(x[:2], y[:2], mask=None)


def test_kanonymity_experiment_embedded(tmp_path):
    import json

    from ai4media_ext.experiments import run_experiments
    from ai4media_ext.experiments.kanonymity import METHODS, KAnonymityExperiment

    (path,) = run_experiments([KAnonymityExperiment()], tmp_path, quick=True)
    res = json.loads(path.read_text())
    for method in METHODS:
        for metric in ("pmf_max_tail", "success", "l2", "ssim"):
            assert f"digits_{method}_{metric}" in res
    # DeepFool / C&W put the true label second almost always: far above 1/K
    assert res["digits_deepfool_pmf_max_tail"] > 0.5 and res["digits_cw_pmf_max_tail"] > 0.5
    # K-A3 spreads it: the largest tail position shrinks as K grows
    assert (
        res["digits_ka9_pmf_max_tail"]
        < res["digits_ka5_pmf_max_tail"]
        < res["digits_ka1_pmf_max_tail"]
    )
    assert (tmp_path / "kanonymity" / "rank_pmf.png").exists()
