import warnings

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def synthetic():
    from ai4media_ext.explainability.decision_system.synthetic import make_synthetic_system

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_synthetic_system(600, random_state=0)
