"""diffprivlib 0.6.6's own Laplace test module, run against :class:`SecureLaplace`.

The upstream module is the verbatim copy vendored in ``tests/privacy/diffprivlib_upstream/``
(MIT licence, IBM); its ``TestLaplace`` is subclassed here with the class under test substituted,
so no upstream test body is copied. Changes from upstream, each an override below: the class under
test (``setup_method``, ``test_class`` and the ``repr`` it names); the default accountant is an
unlimited one for each test (upstream's ``Laplace`` never touches an accountant); the two
10,000-draw statistical tests are ``slow`` (20,000 scalar calls, about 4 s on an idle core); and
three tests that cannot pass by design are ``xfail(strict=True)``:

* ``test_zero_epsilon_with_delta`` and ``test_epsilon_delta``: SecureLaplace is a pure
  epsilon-DP mechanism and refuses ``delta > 0`` (clear ``ValueError`` naming ``delta``; issue 15
  item 14), where diffprivlib's Laplace turns a delta into a larger effective epsilon;
* ``test_variance``: the noise is discrete Laplace on a power-of-two grid (the point of the class),
  whose variance ``2 q / (1 - q)**2 g**2`` is within ``2**-19`` relative of, not exactly, 2.0
  (``test_variance_is_close`` below checks the value).
"""

import importlib.util
from pathlib import Path

import pytest
from diffprivlib.accountant import BudgetAccountant
from diffprivlib.mechanisms import DPMechanism

from ai4media_ext.privacy.mechanisms import SecureLaplace


def _load_upstream():
    path = Path(__file__).resolve().parents[1] / "diffprivlib_upstream" / "test_Laplace.py"
    spec = importlib.util.spec_from_file_location("_diffprivlib_upstream_test_Laplace", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_upstream = _load_upstream()


@pytest.fixture(autouse=True)
def _unlimited_default_accountant():
    with BudgetAccountant():  # fresh, unlimited default for each test
        yield


class TestLaplace(_upstream.TestLaplace):
    def setup_method(self, method):
        self.mech = SecureLaplace  # substituted: upstream diffprivlib's Laplace

    def test_class(self):  # substituted class
        self.assertTrue(issubclass(SecureLaplace, DPMechanism))

    def test_repr(self):  # substituted: upstream asserts ".Laplace("
        repr_ = repr(self.mech(epsilon=1, delta=0, sensitivity=1))
        self.assertIn(".SecureLaplace(", repr_)

    @pytest.mark.xfail(strict=True, raises=ValueError, reason="pure epsilon-DP: delta > 0 refused")
    def test_zero_epsilon_with_delta(self):
        super().test_zero_epsilon_with_delta()

    @pytest.mark.xfail(strict=True, raises=ValueError, reason="pure epsilon-DP: delta > 0 refused")
    def test_epsilon_delta(self):
        super().test_epsilon_delta()

    @pytest.mark.slow  # added: 10,000 scalar calls
    def test_zero_median_prob(self):
        super().test_zero_median_prob()

    @pytest.mark.slow  # added: 20,000 scalar calls
    def test_neighbours_prob(self):
        super().test_neighbours_prob()

    @pytest.mark.xfail(strict=True, raises=AssertionError, reason="discrete noise: 2.0 +- 2**-19")
    def test_variance(self):
        super().test_variance()

    def test_variance_is_close(self):  # added: the value test_variance cannot match exactly
        mech = self.mech(epsilon=1, delta=0, sensitivity=1)
        self.assertAlmostEqual(mech.variance(0) / 2.0, 1.0, delta=2**-18)
