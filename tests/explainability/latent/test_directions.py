"""LatentDirections: centroid / SVM directions, editing, conditional manipulation, bad input."""

import numpy as np
import pytest
from sklearn.base import clone

from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.explainability.latent import LatentDirections, project_out


def _data(n=4000, d=8, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, d))
    a = np.stack([z[:, 0] + 0.8 * z[:, 1] > 0, z[:, 1] > 0], 1).astype(float)
    return z, a


def test_centroid_equals_hand_computed_mean_difference():
    z = np.array([[1.0, 0.0], [3.0, 2.0], [0.0, 1.0], [0.0, -1.0]])
    a = np.array([[1.0], [1.0], [0.0], [0.0]])
    ld = LatentDirections(method="centroid", balanced=False).fit(z, a)
    diff = np.array([2.0, 1.0]) - np.array([0.0, 0.0])
    np.testing.assert_allclose(ld.directions_[0], diff / np.linalg.norm(diff))
    assert ld.n_samples_fit_ == 4


def test_very_large_margin_svm_converges_to_centroid():
    """The seed's argument: on balanced separable data a linear SVM with a vanishing C (very large
    margin) has every code as a support vector with equal weight, so its normal is the centroid
    difference."""
    rng = np.random.default_rng(3)
    pos = rng.normal(size=(200, 6)) + np.array([3, 1, 0, 0, 0, 0])
    neg = rng.normal(size=(200, 6)) - np.array([3, 1, 0, 0, 0, 0])
    z = np.vstack([pos, neg])
    a = np.r_[np.ones(200), np.zeros(200)]
    centroid = LatentDirections(method="centroid", balanced=False).fit(z, a).directions_[0]
    cos = []
    for c in (1.0, 1e-2, 1e-5):
        svm = LatentDirections(method="svm", balanced=False, svm_C=c).fit(z, a).directions_[0]
        cos.append(float(svm @ centroid))
    assert cos[-1] > 0.99999
    assert cos[0] < cos[-1]  # the hard-margin normal is not the centroid direction


def test_balanced_sample_and_fitted_attributes():
    z, a = _data()
    ld = LatentDirections(balanced=True, random_state=0, attribute_names=["a", "b"]).fit(z, a)
    counts = ld.combination_counts_
    assert counts.min() == counts.max() and ld.n_samples_fit_ == counts.sum()
    np.testing.assert_allclose(np.linalg.norm(ld.directions_, axis=1), 1.0)
    assert ld.fit_seconds_.shape == (2,)
    # balanced centroid of b leans against a's normal (the correlation is removed)
    unbalanced = LatentDirections(balanced=False).fit(z, a)
    assert ld.directions_[1, 0] < -0.2 < 0.0 < abs(unbalanced.directions_[1, 0]) + 0.05


def test_edit_and_conditional():
    z, a = _data()
    ld = LatentDirections(balanced=False, attribute_names=["a", "b"]).fit(z, a)
    codes = z[:3].copy()
    paths = ld.edit(codes, "a", np.linspace(-3, 3, 10))
    assert paths.shape == (3, 10, 8)
    np.testing.assert_allclose(paths[:, 0], z[:3] - 3 * ld.directions_[0])
    np.testing.assert_array_equal(codes, z[:3])  # not modified
    cond = ld.conditional("a", condition_on=["b"])
    assert abs(cond @ ld.directions_[1]) < 1e-12 and np.linalg.norm(cond) == pytest.approx(1.0)
    np.testing.assert_allclose(ld.edit(codes, cond, [1.0])[:, 0], codes + cond)


def test_project_out_several_conditions():
    rng = np.random.default_rng(0)
    d, c = rng.normal(size=10), rng.normal(size=(3, 10))
    p = project_out(d, c)
    np.testing.assert_allclose(c @ p, 0.0, atol=1e-12)
    with pytest.raises(InvalidParameterError, match="span"):
        project_out(c[0] + c[1], c)


def test_sklearn_conventions():
    ld = LatentDirections(method="svm", threshold=0.9)
    assert clone(ld).get_params()["threshold"] == 0.9
    with pytest.raises(AttributeError, match="not fitted"):
        ld.direction(0)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"method": "pca"}, "'method' parameter"),
        ({"threshold": 0.3}, "'threshold' parameter"),
        ({"n_per_combination": 0}, "'n_per_combination' parameter"),
        ({"svm_C": 0.0}, "'svm_C' parameter"),
        ({"balanced": "yes"}, "'balanced' parameter"),
        ({"random_state": -3}, "'random_state' parameter"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(InvalidParameterError, match=match):
        LatentDirections(**params)


def test_bad_data():
    z, a = _data(400)
    with pytest.raises(InvalidParameterError, match="latents must be finite"):
        bad = z.copy()
        bad[3, 1] = np.nan
        LatentDirections().fit(bad, a)
    with pytest.raises(InvalidParameterError, match=r"\['b'\] take a single value"):
        LatentDirections(attribute_names=["a", "b"]).fit(z, np.c_[a[:, 0], np.ones(400)])
    with pytest.raises(InvalidParameterError, match="no sample"):
        # b implies a: the combination (a=0, b=1) never occurs
        LatentDirections(balanced=True).fit(z, np.c_[a[:, 0], a[:, 0] * a[:, 1]])
    with pytest.raises(InvalidParameterError, match=r"in \[0, 1\]"):
        LatentDirections().fit(z, a * 2)
    with pytest.raises(InvalidParameterError, match="rows"):
        LatentDirections().fit(z, a[:10])
    ld = LatentDirections(balanced=False, attribute_names=["a", "b"]).fit(z, a)
    with pytest.raises(InvalidParameterError, match="'c' is not one of"):
        ld.edit(z, "c", [1.0])
    with pytest.raises(InvalidParameterError, match="must not contain"):
        ld.conditional("a", condition_on=["a"])
    with pytest.raises(InvalidParameterError, match="dimensions"):
        ld.edit(z[:, :3], "a", [1.0])
