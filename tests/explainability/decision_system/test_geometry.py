"""Alvarez distances and importances on hand-built trees with known answers."""

import numpy as np
import pytest
from sklearn.tree import DecisionTreeClassifier

from ai4media_ext.explainability.decision_system import (
    Leaf,
    Split,
    ThresholdTree,
    policy_geometry,
)
from ai4media_ext.explainability.decision_system._policy import tree_arrays

# z0 <= 1 -> (z1 <= 2 -> A else B) else B
TREE = ThresholdTree(
    Split("z0", 1.0, left=Split("z1", 2.0, left=Leaf("A"), right=Leaf("B")), right=Leaf("B"))
)
BG = np.array([[-1.0, -1.0], [1.0, 1.0]])  # std 1 in both variables


def test_boxes_of_two_variable_tree():
    t = tree_arrays(TREE, ["z0", "z1"])
    boxes = {
        int(leaf): (lo.tolist(), hi.tolist())
        for leaf, lo, hi in zip(t.leaves, t.lo, t.hi, strict=True)
    }
    inf = np.inf
    assert sorted(boxes.values()) == sorted(
        [([-inf, -inf], [1.0, 2.0]), ([-inf, 2.0], [1.0, inf]), ([1.0, -inf], [inf, inf])]
    )
    z = np.array([[0.0, 0.0], [0.0, 3.0], [2.0, 0.0], [1.0, 2.0]])
    assert t.classes[t.leaf_class[t.apply(z)]].tolist() == ["A", "B", "B", "A"]


@pytest.mark.parametrize("temperature", [0.5, 1.0, 3.0])
def test_alvarez_distances_std_metric(temperature):
    t = tree_arrays(TREE, ["z0", "z1"])
    g = policy_geometry(t, np.array([[0.0, 0.0]]), BG, explained_class=0, metric="std",
                        temperature=temperature)  # fmt: skip
    leaf_b_up = int(np.flatnonzero(t.lo[:, 1] == 2.0)[0])  # z0 <= 1, z1 > 2
    leaf_b_right = int(np.flatnonzero(t.lo[:, 0] == 1.0)[0])  # z0 > 1
    np.testing.assert_allclose(g.displacement[0, leaf_b_up], [0.0, 2.0])
    np.testing.assert_allclose(g.displacement[0, leaf_b_right], [1.0, 0.0])
    np.testing.assert_allclose(g.distance[0, [leaf_b_up, leaf_b_right]], [2.0, 1.0])
    assert g.nearest[0] == leaf_b_right
    np.testing.assert_allclose(g.axis_distance[0], [1.0, 2.0])
    w_near = 1.0 / (1.0 + np.exp(-1.0 / temperature))  # softmin of distances 1 and 2
    np.testing.assert_allclose(g.importance[0], [w_near, 1.0 - w_near])
    assert not g.target[0, int(np.flatnonzero(t.leaf_class[t.leaves] == 0)[0])]


def test_joint_move_and_norms():
    t = tree_arrays(TREE, ["z0", "z1"])
    # from a B point at (2, 3), the only A region needs both z0 <= 1 and z1 <= 2
    for p, expected in [(1.0, 2.0), (2.0, np.sqrt(2.0)), (np.inf, 1.0)]:
        g = policy_geometry(t, np.array([[2.0, 3.0]]), BG, 1, metric="std", p=p)
        a = int(np.flatnonzero(t.leaf_class[t.leaves] == 0)[0])
        assert g.distance[0, a] == pytest.approx(expected)
        assert g.target[0].sum() == 1 and g.nearest[0] == a  # the only target: region A
        np.testing.assert_allclose(g.importance[0], [0.5, 0.5])
        assert np.isinf(g.axis_distance[0]).all()  # no single variable changes the decision


def test_quantile_metric_counts_background_mass():
    t = tree_arrays(TREE, ["z0", "z1"])
    bg = np.column_stack([np.linspace(-4.5, 4.5, 10), np.linspace(-4.5, 4.5, 10)])
    g = policy_geometry(t, np.array([[0.0, 0.0]]), bg, 0, metric="quantile", temperature=1e-3)
    # moving z0 from 0 to 1 crosses background points 0.5 only: 1 of 10 -> 0.1
    std = bg.std(axis=0)
    assert g.axis_distance[0, 0] == pytest.approx(0.1 + 1e-3 * 1.0 / std[0])
    assert g.axis_distance[0, 1] == pytest.approx(0.2 + 1e-3 * 2.0 / std[1])
    np.testing.assert_allclose(g.importance[0], [1.0, 0.0], atol=1e-12)


def test_sklearn_policy_arrays_match_sklearn():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(400, 3))
    y = np.where(Z[:, 0] + 0.5 * Z[:, 1] > 0, "yes", "no")
    tree = DecisionTreeClassifier(max_depth=4, random_state=0).fit(Z, y)
    t = tree_arrays(tree, ["a", "b", "c"])
    np.testing.assert_array_equal(t.apply(Z), tree.apply(Z.astype(np.float32)))
    assert (t.classes[t.leaf_class[t.apply(Z)]] == tree.predict(Z)).all()
    inside = (Z[:, None] > t.lo[None]) & (Z[:, None] <= t.hi[None])
    assert (inside.all(axis=2).sum(axis=1) == 1).all()  # leaf boxes partition the space


def test_threshold_tree_rejects_bad_nodes():
    with pytest.raises(TypeError, match="Split or Leaf"):
        ThresholdTree(Split("a", 0.0, left=Leaf(1), right="x"))
    with pytest.raises(ValueError, match="finite"):
        ThresholdTree(Split("a", np.nan, left=Leaf(1), right=Leaf(0)))
    with pytest.raises(ValueError, match="not in classes"):
        ThresholdTree(Split("a", 0.0, left=Leaf(1), right=Leaf(2)), classes=[1])
