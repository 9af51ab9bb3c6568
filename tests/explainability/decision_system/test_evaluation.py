"""Attribution quality measures against hand-computed values."""

import numpy as np
import pytest

from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.explainability.decision_system import (
    deletion_auc,
    rank_agreement,
    stability,
    topk_recall,
)


def test_rank_agreement_known_values():
    a = np.array([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0]])
    assert rank_agreement(a, a) == pytest.approx(1.0)
    assert rank_agreement(a, -a) == pytest.approx(1.0)  # magnitudes are compared
    rev = np.array([[4.0, 3.0, 2.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    assert rank_agreement(a, rev) == pytest.approx((-1.0 + 1.0) / 2)  # constant vs constant: 1
    const_vs_varying = rank_agreement(np.zeros((1, 4)), a[:1])
    assert const_vs_varying == 0.0
    with pytest.raises(InvalidParameterError, match="shape"):
        rank_agreement(a, a[:, :3])


def test_topk_recall_known_values():
    v = np.array([[5.0, -4.0, 0.1, 0.2], [0.1, 0.2, 5.0, -4.0]])
    assert topk_recall(v, [0, 1]) == pytest.approx(0.5)
    assert topk_recall(v, [0, 1], k=4) == pytest.approx(1.0)
    with pytest.raises(InvalidParameterError, match="relevant"):
        topk_recall(v, [7])
    with pytest.raises(InvalidParameterError, match="k must"):
        topk_recall(v, [0], k=0)


def test_deletion_auc_rewards_the_right_order():
    def decide(A):
        return A[:, 0] > 0

    X = np.array([[1.0, 1.0, 1.0]])
    bg = np.array([[-1.0, 0.0, 0.0], [-2.0, 5.0, 5.0]])  # deleting x0 flips every pair
    right = deletion_auc(decide, X, np.array([[3.0, 1.0, 0.5]]), bg)
    wrong = deletion_auc(decide, X, np.array([[0.1, 1.0, 0.5]]), bg)
    # right: curve 1, 0, 0, 0 -> 1/6; wrong: 1, 1, 1, 0 -> (1 + 1 + 0.5) / 3
    assert right == pytest.approx(1.0 / 6.0)
    assert wrong == pytest.approx(5.0 / 6.0)


def test_stability():
    a = np.arange(12.0).reshape(3, 4)
    assert stability([a, a, 2 * a]) == pytest.approx(1.0)
    assert stability([a, a[:, ::-1]]) < 0
    with pytest.raises(InvalidParameterError, match="two reruns"):
        stability([a])
