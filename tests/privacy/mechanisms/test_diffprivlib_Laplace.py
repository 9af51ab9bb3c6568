# ruff: noqa: B007  (upstream's loops kept verbatim)
"""diffprivlib 0.6.6's own Laplace test module (``tests/mechanisms/test_Laplace.py`` of the sdist,
MIT licence, IBM), run against :class:`SecureLaplace` by substituting the class.

Changes from upstream, each marked in place: the class under test (and the ``repr`` it names);
the default accountant is an unlimited one for the module (upstream's ``Laplace`` never touches an
accountant); the two 10,000-draw statistical tests are ``slow`` (20,000 scalar calls, about
4 s on an idle core); and three tests that cannot pass by design are ``xfail(strict=True)``:

* ``test_zero_epsilon_with_delta`` and ``test_epsilon_delta``: SecureLaplace is a pure
  epsilon-DP mechanism and refuses ``delta > 0`` (clear ``ValueError`` naming ``delta``; issue 15
  item 14), where diffprivlib's Laplace turns a delta into a larger effective epsilon;
* ``test_variance``: the noise is discrete Laplace on a power-of-two grid (the point of the class),
  whose variance ``2 q / (1 - q)**2 g**2`` is within ``2**-19`` relative of, not exactly, 2.0
  (``test_variance_is_close`` below checks the value).
"""

from unittest import TestCase

import numpy as np
import pytest
from diffprivlib.accountant import BudgetAccountant

from ai4media_ext.privacy.mechanisms import SecureLaplace as Laplace  # substituted


@pytest.fixture(autouse=True)
def _unlimited_default_accountant():
    with BudgetAccountant():  # fresh, unlimited default for each test
        yield


class TestLaplace(TestCase):
    def setup_method(self, method):
        self.mech = Laplace

    def teardown_method(self, method):
        del self.mech

    def test_class(self):
        from diffprivlib.mechanisms import DPMechanism

        self.assertTrue(issubclass(Laplace, DPMechanism))

    def test_neg_sensitivity(self):
        with self.assertRaises(ValueError):
            self.mech(epsilon=1, delta=0, sensitivity=-1)

    def test_str_sensitivity(self):
        with self.assertRaises(TypeError):
            self.mech(epsilon=1, delta=0, sensitivity="1")

    def test_zero_sensitivity(self):
        mech = self.mech(epsilon=1, delta=0, sensitivity=0)

        for i in range(1000):
            self.assertAlmostEqual(mech.randomise(1), 1)

    def test_default_delta(self):
        mech = self.mech(epsilon=1, sensitivity=1)
        self.assertEqual(0.0, mech.delta)

    def test_neg_epsilon(self):
        with self.assertRaises(ValueError):
            self.mech(epsilon=-1, delta=0, sensitivity=1)

    def test_inf_epsilon(self):
        mech = self.mech(epsilon=float("inf"), delta=0, sensitivity=1)

        for i in range(1000):
            self.assertAlmostEqual(mech.randomise(1), 1)

    def test_complex_epsilon(self):
        with self.assertRaises(TypeError):
            self.mech(epsilon=1 + 2j, delta=0, sensitivity=1)

    def test_string_epsilon(self):
        with self.assertRaises(TypeError):
            self.mech(epsilon="Two", delta=0, sensitivity=1)

    def test_repr(self):
        repr_ = repr(self.mech(epsilon=1, delta=0, sensitivity=1))
        self.assertIn(".SecureLaplace(", repr_)  # substituted: upstream ".Laplace("

    @pytest.mark.xfail(strict=True, raises=ValueError, reason="pure epsilon-DP: delta > 0 refused")
    def test_zero_epsilon_with_delta(self):
        mech = self.mech(epsilon=0, delta=0.5, sensitivity=1)
        self.assertIsNotNone(mech.randomise(1))

    @pytest.mark.xfail(strict=True, raises=ValueError, reason="pure epsilon-DP: delta > 0 refused")
    def test_epsilon_delta(self):
        mech = self.mech(epsilon=1, delta=0.01, sensitivity=1)
        self.assertIsNotNone(mech.randomise(1))

    def test_non_numeric(self):
        mech = self.mech(epsilon=1, delta=0, sensitivity=1)
        with self.assertRaises(TypeError):
            mech.randomise("Hello")

    @pytest.mark.slow  # added: 10,000 scalar calls
    def test_zero_median_prob(self):
        mech = self.mech(epsilon=1, delta=0, sensitivity=1, random_state=0)
        vals = []

        for i in range(10000):
            vals.append(mech.randomise(0))

        median = float(np.median(vals))
        self.assertAlmostEqual(np.abs(median), 0.0, delta=0.1)

    @pytest.mark.slow  # added: 20,000 scalar calls
    def test_neighbours_prob(self):
        epsilon = 1
        runs = 10000
        mech = self.mech(epsilon=epsilon, delta=0, sensitivity=1, random_state=0)
        count = [0, 0]

        for i in range(runs):
            val0 = mech.randomise(0)
            if val0 <= 0:
                count[0] += 1

            val1 = mech.randomise(1)
            if val1 <= 0:
                count[1] += 1

        self.assertGreater(count[0], count[1])
        self.assertLessEqual(count[0] / runs, np.exp(epsilon) * count[1] / runs + 0.1)

    def test_random_state(self):
        mech1 = self.mech(epsilon=1, sensitivity=1, random_state=42)
        mech2 = self.mech(epsilon=1, sensitivity=1, random_state=42)
        self.assertEqual(
            [mech1.randomise(0) for _ in range(100)], [mech2.randomise(0) for _ in range(100)]
        )

        self.assertNotEqual([mech1.randomise(0)] * 100, [mech1.randomise(0) for _ in range(100)])

        rng = np.random.RandomState(0)
        mech1 = self.mech(epsilon=1, sensitivity=1, random_state=rng)
        mech2 = self.mech(epsilon=1, sensitivity=1, random_state=rng)
        self.assertNotEqual(
            [mech1.randomise(0) for _ in range(100)], [mech2.randomise(0) for _ in range(100)]
        )

    def test_bias(self):
        self.assertEqual(0.0, self.mech(epsilon=1, delta=0, sensitivity=1).bias(0))

    @pytest.mark.xfail(strict=True, raises=AssertionError, reason="discrete noise: 2.0 +- 2**-19")
    def test_variance(self):
        mech = self.mech(epsilon=1, delta=0, sensitivity=1)
        self.assertEqual(2.0, mech.variance(0))

    def test_variance_is_close(self):  # added: the value test_variance cannot match exactly
        mech = self.mech(epsilon=1, delta=0, sensitivity=1)
        self.assertAlmostEqual(mech.variance(0) / 2.0, 1.0, delta=2**-18)
