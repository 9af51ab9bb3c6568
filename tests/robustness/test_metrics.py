import numpy as np
import pytest

from ai4media_ext.robustness.metrics import k_anonymity_satisfied, rank_pmf, true_label_ranks

PROBS = np.array(
    [
        [0.7, 0.2, 0.1],  # true 0 -> rank 1
        [0.7, 0.2, 0.1],  # true 1 -> rank 2
        [0.1, 0.3, 0.6],  # true 0 -> rank 3
        [0.5, 0.5, 0.0],  # true 1 -> tie with class 0, stable order puts it 2nd
    ]
)
LABELS = np.array([0, 1, 0, 1])


def test_ranks_and_pmf_by_hand():
    assert true_label_ranks(PROBS, y=LABELS).tolist() == [1, 2, 3, 2]
    assert rank_pmf(PROBS, y=LABELS).tolist() == [0.25, 0.5, 0.25]
    onehot = np.eye(3)[LABELS]
    assert rank_pmf(PROBS, y=onehot).tolist() == [0.25, 0.5, 0.25]


def test_rank_pmf_with_a_classifier():
    class Stub:
        def predict(self, x):
            return PROBS[x]

    assert rank_pmf(Stub(), np.arange(4), LABELS).tolist() == [0.25, 0.5, 0.25]
    with pytest.raises(ValueError, match="x_adv"):
        rank_pmf(Stub(), None, LABELS)


def test_k_anonymity_check():
    assert k_anonymity_satisfied([0.0, 0.2, 0.2, 0.2, 0.2, 0.2], 5)
    assert not k_anonymity_satisfied([0.0, 0.3, 0.2, 0.2, 0.2, 0.1], 5)
    assert k_anonymity_satisfied([0.0, 0.21, 0.2, 0.2, 0.2, 0.19], 5, tol=0.02)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"pmf": [0.5, 0.4], "k": 1}, "pmf"),
        ({"pmf": [0.5, 0.5], "k": 3}, "k"),
        ({"pmf": [0.5, 0.5], "k": 1.0}, "k"),
        ({"pmf": [0.5, 0.5], "k": 2, "tol": -1}, "tol"),
    ],
)
def test_k_anonymity_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        k_anonymity_satisfied(**kwargs)


def test_ranks_bad_labels():
    with pytest.raises(ValueError, match="y holds the label 3"):
        true_label_ranks(PROBS, y=np.array([0, 1, 3, 0]))
    with pytest.raises(ValueError, match="4 samples"):
        true_label_ranks(PROBS, y=np.array([0, 1]))
