"""TarFid / ExpDist / Fréchet distance against known answers; the detector and static check."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.robustness.dgm import (
    BackdoorAttackDGMReDPyTorch,
    BackdoorAttackDGMReXPyTorch,
    GeneratorBackdoorDetector,
    expected_distortion,
    frechet_distance,
    inspect_architecture,
    target_fidelity,
    train_feature_classifier,
)


def test_target_fidelity_is_the_mean_squared_norm_over_triggers(generator, trigger_target):
    z, x = trigger_target
    out = generator.predict(z).astype(np.float64)
    hand = (np.sum((out[0] - x[0]) ** 2) + np.sum((out[1] - x[1]) ** 2)) / 2
    assert target_fidelity(generator, z, x) == pytest.approx(hand, rel=1e-9)
    with pytest.raises(InvalidParameterError, match="z_trigger"):
        target_fidelity(generator, np.zeros((1, 5)), x)


def test_expected_distortion_of_an_unchanged_generator_is_zero(generator):
    assert expected_distortion(generator, generator, n_samples=50) == 0.0
    with pytest.raises(InvalidParameterError, match="n_samples"):
        expected_distortion(generator, generator, n_samples=0)


def test_frechet_distance_known_answers():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4000, 3))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    shift = np.array([1.0, -2.0, 0.5])
    assert frechet_distance(a, a + shift) == pytest.approx(np.sum(shift**2), rel=1e-6)
    # Gaussians with diagonal covariances: sum (sqrt(s_a) - sqrt(s_b))^2 on the diagonal
    scale = np.array([1.0, 2.0, 3.0])
    expected_cov = np.cov(a, rowvar=False)
    got = frechet_distance(a, a * scale)
    cov_b = expected_cov * np.outer(scale, scale)
    from scipy.linalg import sqrtm

    mean_term = np.sum((a.mean(0) - (a * scale).mean(0)) ** 2)
    hand = mean_term + np.trace(expected_cov + cov_b - 2 * np.real(sqrtm(expected_cov @ cov_b)))
    assert got == pytest.approx(hand, rel=1e-6)
    assert got == pytest.approx(np.sum((scale - 1) ** 2), rel=0.05)
    with pytest.raises(InvalidParameterError):
        frechet_distance(a[:1], a)
    with pytest.raises(InvalidParameterError):
        frechet_distance(a, a[:, :2])


def test_static_check_finds_expansion_layers(generator, trigger_target):
    z, x = trigger_target
    assert inspect_architecture(generator, generator.model) == {
        "extra": [],
        "n_extra_parameters": 0,
        "modified": [],
        "missing": [],
        "flagged": False,
    }
    rex = BackdoorAttackDGMReXPyTorch(generator, hidden=8).poison_estimator(z, x, max_iter=2)
    report = inspect_architecture(rex, generator)
    assert report["flagged"] and not report["modified"] and not report["missing"]
    assert all(n.startswith("expansions.") for n in report["extra"])
    assert report["n_extra_parameters"] == sum(p.numel() for p in rex.model.expansions.parameters())
    red = BackdoorAttackDGMReDPyTorch(generator).poison_estimator(z, x, max_iter=2)
    report = inspect_architecture(red, generator)
    assert not report["flagged"] and report["modified"]


def test_detector_finds_a_red_backdoor_against_the_reference(generator, trigger_target):
    z, x = trigger_target
    bad = BackdoorAttackDGMReDPyTorch(generator).poison_estimator(
        z, x, max_iter=200, lambda_p=1.0, learning_rate=1e-3, random_state=0
    )
    det = GeneratorBackdoorDetector(reference=generator, n_starts=64, max_iter=60, random_state=0)
    det.fit()
    clean = det.detect(generator)
    found = det.detect(bad)
    assert clean.score == 0.0 and not clean.is_backdoored
    assert found.score > 10 * max(clean.score, 1e-3) and found.is_backdoored
    assert found.z.shape == (32,) and found.x.shape == (1, 8, 8)
    np.testing.assert_allclose(found.x, bad.predict(found.z[None])[0], atol=1e-6)


def test_peak_ratio_separates_a_localised_backdoor_from_global_drift(generator, trigger_target):
    """A copy perturbed everywhere reaches a raw difference close to the backdoor's, but has no
    peak; ReD's backdoor is a peak: the ratio to the median at the random starts separates them
    by orders of magnitude."""
    import copy

    import torch

    z, x = trigger_target
    bad = BackdoorAttackDGMReDPyTorch(generator).poison_estimator(
        z, x, max_iter=200, lambda_p=1.0, learning_rate=1e-3, random_state=0
    )
    drift = copy.deepcopy(generator)
    with torch.no_grad():
        for p in drift.model.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=torch.Generator().manual_seed(1)))
    det = GeneratorBackdoorDetector(
        reference=generator, statistic="peak_ratio", n_starts=64, max_iter=60, random_state=0
    ).fit()
    assert det.threshold_ == np.inf  # no default threshold for a ratio
    r_bad, r_drift = det.detect(bad), det.detect(drift)
    assert r_bad.baseline > 0 and r_drift.baseline > 0
    assert r_bad.score == pytest.approx(r_bad.scores.max())
    raw_bad, raw_drift = r_bad.score * r_bad.baseline, r_drift.score * r_drift.baseline
    assert raw_bad < 2 * raw_drift  # the raw maximum barely separates them (1.66 vs 1.35)
    assert r_bad.score > 20 * r_drift.score  # the ratio does (212 vs 1.28)
    with pytest.raises(InvalidParameterError, match="statistic"):
        GeneratorBackdoorDetector(statistic="mean")


def test_feature_detector_fits_and_scores(digits, generator):
    clf, acc = train_feature_classifier(digits[0], digits[1], epochs=2)
    assert acc > 0.7
    det = GeneratorBackdoorDetector(feature_extractor=clf, n_starts=8, max_iter=5, random_state=0)
    with pytest.raises(NotFittedError):
        det.detect(generator)
    det.fit(digits[0])
    clf.zero_grad(set_to_none=True)
    result = det.detect(generator)
    assert np.isfinite(result.score) and result.scores.shape == (8,)
    assert not any(p.grad is not None for p in clf.parameters())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_starts": 0}, "n_starts"),
        ({"max_iter": -1}, "max_iter"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"score": "nope"}, "score"),
    ],
)
def test_detector_bad_parameters(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        GeneratorBackdoorDetector(**kwargs)


@pytest.mark.parametrize(("score", "match"), [("difference", "reference"), ("feature", "feature")])
def test_detector_fit_needs_its_reference_or_extractor(score, match):
    det = GeneratorBackdoorDetector(score=score)  # default construction works (registry)
    with pytest.raises(InvalidParameterError, match=match):
        det.fit(np.zeros((4, 1, 8, 8), np.float32))
