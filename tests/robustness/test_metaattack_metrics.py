"""Re-ID mAP / CMC against hand-computed rankings and scikit-learn's average precision."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.robustness.metaattack import euclidean_distances, mean_ap_cmc


def test_toy_ranking_by_hand():
    dist = np.array([[0.1, 0.2, 0.3, 0.4, 0.5],
                     [0.5, 0.1, 0.4, 0.3, 0.2],
                     [0.5, 0.1, 0.4, 0.3, 0.2]])  # fmt: skip
    q_pids = np.array([1, 0, 1])
    g_pids = np.array([1, 0, 1, 0, 1])
    # query 0: hits at ranks 1, 3, 5 -> AP = (1 + 2/3 + 3/5) / 3
    # query 1: order g1 g4 g3 g2 g0 = 0 1 0 1 1 -> hits at 1, 3 -> AP = (1 + 2/3) / 2
    # query 2: same order, pid 1 -> hits at 2, 4, 5 -> AP = (1/2 + 2/4 + 3/5) / 3
    aps = [(1 + 2 / 3 + 3 / 5) / 3, (1 + 2 / 3) / 2, (1 / 2 + 2 / 4 + 3 / 5) / 3]
    m_ap, cmc = mean_ap_cmc(dist, q_pids, g_pids, max_rank=3)
    assert m_ap == pytest.approx(np.mean(aps))
    np.testing.assert_allclose(cmc, [2 / 3, 1.0, 1.0])


def test_same_camera_matches_are_dropped():
    dist = np.array([[0.1, 0.3, 0.2]])
    q_pids, g_pids = np.array([1]), np.array([1, 1, 0])
    m_ap, cmc = mean_ap_cmc(dist, q_pids, g_pids, max_rank=2)
    assert m_ap == pytest.approx((1 + 2 / 3) / 2) and cmc[0] == 1.0
    # g0 has the query's pid and camera: dropped -> ranking g2 (miss), g1 (hit)
    m_ap, cmc = mean_ap_cmc(dist, q_pids, g_pids, np.array([0]), np.array([0, 1, 0]), max_rank=2)
    assert m_ap == pytest.approx(0.5)
    np.testing.assert_allclose(cmc, [0.0, 1.0])


def test_matches_sklearn_average_precision():
    rng = np.random.default_rng(0)
    q, g = rng.normal(size=(30, 8)), rng.normal(size=(80, 8))
    q_pids, g_pids = rng.integers(0, 5, 30), rng.integers(0, 5, 80)
    dist = euclidean_distances(q, g)
    np.testing.assert_allclose(dist, np.linalg.norm(q[:, None] - g[None], axis=2), atol=1e-9)
    expected = np.mean(
        [average_precision_score(g_pids == p, -d) for p, d in zip(q_pids, dist, strict=True)]
    )
    m_ap, cmc = mean_ap_cmc(dist, q_pids, g_pids, max_rank=5)
    assert m_ap == pytest.approx(expected, rel=1e-12)
    rank1 = np.mean(g_pids[dist.argmin(1)] == q_pids)
    assert cmc[0] == pytest.approx(rank1)
    assert np.all(np.diff(cmc) >= 0)


def test_queries_without_relevant_items_are_left_out():
    dist = np.array([[0.1, 0.2], [0.3, 0.1]])
    m_ap, _ = mean_ap_cmc(dist, np.array([0, 7]), np.array([1, 0]))
    assert m_ap == pytest.approx(0.5)


@pytest.mark.parametrize(
    "kwargs,match",
    [({"q_pids": np.zeros(3)}, "q_pids"), ({"q_camids": np.zeros(2)}, "both"),
     ({"max_rank": 0}, "max_rank"), ({"g_pids": np.array([5, 5])}, "no query")],
)  # fmt: skip
def test_bad_inputs(kwargs, match):
    args = {"distmat": np.ones((2, 2)), "q_pids": np.zeros(2), "g_pids": np.zeros(2), **kwargs}
    with pytest.raises(InvalidParameterError, match=match):
        mean_ap_cmc(**args)
    with pytest.raises(InvalidParameterError, match="dimension"):
        euclidean_distances(np.ones((2, 3)), np.ones((2, 4)))
