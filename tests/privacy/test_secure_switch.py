"""The secure switch: exact restoration, scoping per thread, models/tools really drawing securely."""

import sys
import threading

import diffprivlib.mechanisms as dpm
import numpy as np
import pytest
from diffprivlib import tools
from diffprivlib.accountant import BudgetAccountant
from diffprivlib.models import GaussianNB, LinearRegression

from ai4media_ext.privacy import (
    disable_secure_mechanisms,
    enable_secure_mechanisms,
    is_secure,
    secure_mechanisms,
)
from ai4media_ext.privacy.audit import precision_flags
from ai4media_ext.privacy.mechanisms import dropin
from ai4media_ext.privacy.secure_switch import SECURE_MAPPING, UNCHANGED


def _snapshot():
    """Every diffprivlib module attribute that is a class, by identity."""
    return {
        (name, attr): id(value)
        for name, mod in list(sys.modules.items())
        if name.split(".")[0] == "diffprivlib"
        for attr, value in vars(mod).items()
        if isinstance(value, type)
    }


def test_mapping_covers_every_diffprivlib_mechanism():
    shipped = {
        name
        for name, obj in vars(dpm).items()
        if isinstance(obj, type) and issubclass(obj, dpm.DPMechanism) and obj is not dpm.DPMechanism
    }
    assert shipped == set(SECURE_MAPPING) | set(UNCHANGED)
    assert not set(SECURE_MAPPING) & set(UNCHANGED)
    for name in SECURE_MAPPING:
        assert getattr(dropin, name).__name__ == name


def test_restores_identical_classes_even_when_the_block_raises():
    import diffprivlib.models.naive_bayes as nb
    import diffprivlib.tools.utils as tu

    before = _snapshot()
    originals = (dpm.Laplace, nb.LaplaceTruncated, tu.LaplaceBoundedDomain)
    with pytest.raises(KeyError), secure_mechanisms():
        assert nb.LaplaceTruncated is not originals[1]
        assert is_secure()
        raise KeyError("boom")
    assert (dpm.Laplace, nb.LaplaceTruncated, tu.LaplaceBoundedDomain) == originals
    assert not is_secure()
    after = _snapshot()
    assert {k: v for k, v in after.items() if k in before} == before


def test_mechanisms_inside_and_outside():
    kw = {"epsilon": 1.0, "sensitivity": 1.0, "lower": 0.0, "upper": 1.0}
    assert type(dpm.LaplaceTruncated(**kw)) is dpm.LaplaceTruncated
    with secure_mechanisms():
        m = dpm.LaplaceTruncated(**kw)
        assert type(m) is dropin.LaplaceTruncated
        assert isinstance(m, dpm.DPMechanism) and ".LaplaceTruncated(" in repr(m)
        g = dpm.Gaussian(epsilon=0.5, delta=1e-5, sensitivity=1.0)
        assert type(g) is dropin.Gaussian
        # unchanged mechanisms stay diffprivlib's own
        assert type(dpm.Geometric(epsilon=1.0, sensitivity=1)) is dpm.Geometric
        with secure_mechanisms():  # nesting
            assert is_secure()
        assert is_secure()
    assert type(dpm.LaplaceTruncated(**kw)) is dpm.LaplaceTruncated


def test_other_threads_are_not_affected():
    seen = {}
    started, release = threading.Event(), threading.Event()

    def outsider():
        started.wait()
        seen["outside"] = type(dpm.Laplace(epsilon=1.0, sensitivity=1.0))
        release.set()

    t = threading.Thread(target=outsider)
    t.start()
    with secure_mechanisms():
        started.set()
        release.wait(10)
        seen["inside"] = type(dpm.Laplace(epsilon=1.0, sensitivity=1.0))
    t.join()
    assert seen["outside"].__module__.startswith("diffprivlib")
    assert seen["inside"] is dropin.Laplace


def test_concurrent_blocks_restore_at_the_end():
    original = dpm.LaplaceBoundedDomain
    barrier = threading.Barrier(4)
    errors = []

    def worker():
        try:
            with secure_mechanisms():
                barrier.wait(10)
                m = dpm.LaplaceBoundedDomain(epsilon=1.0, sensitivity=1.0, lower=0.0, upper=1.0)
                assert type(m) is dropin.LaplaceBoundedDomain
                barrier.wait(10)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and dpm.LaplaceBoundedDomain is original


def test_decorator_and_function_forms():
    @secure_mechanisms()
    def build():
        return type(dpm.Laplace(epsilon=1.0, sensitivity=1.0))

    assert build() is dropin.Laplace and build() is dropin.Laplace
    assert not is_secure()
    enable_secure_mechanisms()
    try:
        assert is_secure() and type(dpm.Laplace(epsilon=1.0, sensitivity=1.0)) is dropin.Laplace
    finally:
        disable_secure_mechanisms()
    assert not is_secure()
    with pytest.raises(RuntimeError, match="enable_secure_mechanisms"):
        disable_secure_mechanisms()


def test_tools_mean_is_secure_and_spends_once():
    x = np.linspace(0.0, 1.0, 101)
    acc = BudgetAccountant()
    with secure_mechanisms():
        out = np.array(
            [tools.mean(x, epsilon=1.0, bounds=(0, 1), accountant=acc) for _ in range(50)]
        )
    assert acc.total()[0] == pytest.approx(50.0)  # the tool spends; the mechanism does not
    assert not precision_flags(out).any()
    plain = np.array([tools.mean(x, epsilon=1.0, bounds=(0, 1)) for _ in range(50)])
    assert precision_flags(plain).any()  # diffprivlib's own float noise keeps all 53 bits


def test_models_fit_under_the_switch(monkeypatch):
    calls = []
    for name in ("LaplaceTruncated", "LaplaceBoundedDomain", "LaplaceFolded", "Laplace"):
        cls = getattr(dropin, name)
        original = cls.randomise

        def spy(self, value, _orig=original, _name=name):
            calls.append(_name)
            return _orig(self, value)

        monkeypatch.setattr(cls, "randomise", spy)
    rng = np.random.RandomState(0)
    x = rng.uniform(0, 1, (200, 3))
    y = (x[:, 0] > 0.5).astype(int)
    with secure_mechanisms():
        clf = GaussianNB(epsilon=5.0, bounds=(0, 1), random_state=0).fit(x, y)
        assert calls.count("LaplaceTruncated") == 6 and calls.count("LaplaceBoundedDomain") == 6
        calls.clear()
        reg = LinearRegression(epsilon=5.0, bounds_X=(0, 1), bounds_y=(0, 1), random_state=0)
        reg.fit(x, y.astype(float))
        assert "LaplaceFolded" in calls and "Laplace" in calls
    assert clf.score(x, y) > 0.7
    assert np.isfinite(reg.coef_).all()


# --- the drop-ins' scalar fast path draws the same exact law as the vectorised samplers --------


@pytest.mark.parametrize(
    "cls, kw",
    [
        (dropin.Laplace, {"epsilon": 1.0, "sensitivity": 1.0}),
        (dropin.LaplaceBoundedDomain, {"epsilon": 1.0, "sensitivity": 1.0, "lower": 0, "upper": 2}),
        (dropin.GaussianAnalytic, {"epsilon": 1.0, "delta": 1e-5, "sensitivity": 1.0}),
    ],
)
def test_scalar_fast_path_matches_the_vector_law(cls, kw):
    from scipy.stats import ks_2samp

    m = cls(random_state=0, **kw)
    n = 6000
    scalar = np.fromiter((m.randomise(0.5) for _ in range(n)), float, n)
    vector = m.randomise(np.full(n, 0.5))
    assert ks_2samp(scalar, vector).pvalue > 1e-3
    assert not precision_flags(scalar).any() or cls is dropin.LaplaceBoundedDomain


def test_scalar_samplers_exact_paths():
    from scipy.stats import chisquare, kstest

    from ai4media_ext.privacy.mechanisms import _scalar

    rng = np.random.RandomState(1)
    # scale 2**46: floats never decide, every draw is finished by exact interval refining
    x = np.array([_scalar.geometric(rng, 1 << 46) for _ in range(150)]) / 2.0**46
    assert kstest(x, "expon").pvalue > 1e-3
    z = np.array([_scalar.discrete_laplace(rng, 2) for _ in range(10_000)])
    vals = np.arange(-6, 7)
    q = np.exp(-1 / 2)
    p = (1 - q) / (1 + q) * q ** np.abs(vals)
    obs = np.array([(z == v).sum() for v in vals] + [(np.abs(z) > 6).sum()])
    assert chisquare(obs, np.append(p, 1 - p.sum()) * z.size).pvalue > 1e-3
    g = np.array([_scalar.discrete_gaussian(rng, 2) for _ in range(10_000)])
    w = np.exp(-(vals**2) / 8.0)
    w /= np.exp(-(np.arange(-40, 41) ** 2) / 8.0).sum()
    obs = np.array([(g == v).sum() for v in vals] + [(np.abs(g) > 6).sum()])
    assert chisquare(obs, np.append(w, 1 - w.sum()) * g.size).pvalue > 1e-3


def test_a_block_object_cannot_be_entered_twice_at_once():
    block = secure_mechanisms()
    with block:
        with pytest.raises(RuntimeError, match="already open"):
            block.__enter__()
    assert not is_secure()
    with block:  # reusable once closed
        assert is_secure()
