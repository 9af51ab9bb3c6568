"""Business-policy trees: a fitted scikit-learn ``DecisionTreeClassifier`` or a hand-written
threshold tree, both seen through one array form (nodes, thresholds, leaf boxes).

A test ``z[j] <= t`` sends a case to the left child, as in scikit-learn, so each leaf is the
axis-parallel box ``lo < z <= hi`` (Alvarez, ECAI 2004, §2: the inverse image of a class is a
union of such boxes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Leaf", "Split", "ThresholdTree", "TreeArrays", "tree_arrays"]


@dataclass(frozen=True)
class Leaf:
    """A terminal node of a hand-written policy: the decision taken there."""

    decision: Any


@dataclass(frozen=True)
class Split:
    """A test ``variable <= threshold``: true goes to ``left``, false to ``right``."""

    variable: str
    threshold: float
    left: Split | Leaf
    right: Split | Leaf


class ThresholdTree:
    """A hand-written policy tree over named policy variables.

    Parameters
    ----------
    root : Split or Leaf
        The tree. ``Split("p_default", 0.3, left=Leaf("approve"), right=Leaf("reject"))`` approves
        when ``p_default <= 0.3``.
    classes : sequence, optional
        The decisions in output order (default: the sorted distinct leaf decisions).

    Attributes
    ----------
    variables_ : list of str
        The policy variables the tests use, in first-use order.
    classes_ : numpy.ndarray
        The decisions.

    Raises
    ------
    TypeError
        A node that is neither :class:`Split` nor :class:`Leaf`.
    ValueError
        A non-finite threshold, a leaf decision missing from ``classes``, fewer than one leaf.
    """

    def __init__(self, root: Split | Leaf, *, classes: Sequence[Any] | None = None):
        nodes: list[Split | Leaf] = []
        stack = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, Split):
                if not np.isfinite(float(node.threshold)):
                    raise ValueError(f"threshold of {node.variable!r} must be finite")
                stack.extend([node.right, node.left])
            elif not isinstance(node, Leaf):
                raise TypeError(f"policy nodes must be Split or Leaf, got {type(node).__name__}")
            nodes.append(node)
        decisions = [n.decision for n in nodes if isinstance(n, Leaf)]
        self.classes_ = np.array(sorted(set(decisions)) if classes is None else list(classes))
        missing = [d for d in decisions if d not in set(self.classes_.tolist())]
        if missing:
            raise ValueError(
                f"leaf decisions {missing} are not in classes {self.classes_.tolist()}"
            )
        self.root = root
        self.variables_ = list(dict.fromkeys(n.variable for n in nodes if isinstance(n, Split)))


@dataclass(frozen=True)
class TreeArrays:
    """A policy tree as arrays over its nodes (scikit-learn's layout).

    ``feature[k] = -1`` marks a leaf; ``leaf_class[k]`` is the index into ``classes`` of a leaf's
    decision (-1 for internal nodes); ``lo``/``hi`` (n_leaves, n_variables) are the leaf boxes
    ``lo < z <= hi`` of the leaves ``leaves`` (node ids); ``float32`` tells that the host compares
    in float32 (scikit-learn trees).
    """

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    leaf_class: np.ndarray
    classes: np.ndarray
    leaves: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    float32: bool

    def cast(self, z: np.ndarray) -> np.ndarray:
        """The policy inputs as the host compares them (float32 for scikit-learn trees)."""
        return z.astype(np.float32).astype(np.float64) if self.float32 else z

    def apply(self, z: np.ndarray) -> np.ndarray:
        """Leaf node id of each row of ``z`` (n, n_variables); one step per tree level."""
        z = self.cast(z)
        node = np.zeros(len(z), dtype=np.intp)
        rows = np.arange(len(z))
        while True:
            active = self.feature[node] >= 0
            if not active.any():
                return node
            f = np.where(active, self.feature[node], 0)
            go_left = z[rows, f] <= self.threshold[node]
            node = np.where(active, np.where(go_left, self.left[node], self.right[node]), node)


def _boxes(left, right, feature, threshold, n_vars):
    leaves, los, his = [], [], []
    stack = [(0, np.full(n_vars, -np.inf), np.full(n_vars, np.inf))]
    while stack:  # loop over tree nodes (a policy has a few dozen), not over samples
        node, lo, hi = stack.pop()
        f = feature[node]
        if f < 0:
            leaves.append(node)
            los.append(lo)
            his.append(hi)
            continue
        hi_left, lo_right = hi.copy(), lo.copy()
        hi_left[f] = min(hi[f], threshold[node])
        lo_right[f] = max(lo[f], threshold[node])
        stack.append((right[node], lo_right, hi))
        stack.append((left[node], lo, hi_left))
    return np.array(leaves, dtype=np.intp), np.array(los), np.array(his)


def _from_sklearn(tree: Any, n_vars: int) -> TreeArrays:
    t = tree.tree_
    feature = np.where(t.children_left < 0, -1, t.feature).astype(np.intp)
    leaf_class = np.where(feature < 0, np.argmax(t.value[:, 0, :], axis=1), -1)
    left, right = t.children_left.astype(np.intp), t.children_right.astype(np.intp)
    threshold = t.threshold.astype(np.float64)
    leaves, lo, hi = _boxes(left, right, feature, threshold, n_vars)
    return TreeArrays(left, right, feature, threshold, leaf_class, np.asarray(tree.classes_),
                      leaves, lo, hi, True)  # fmt: skip


def _from_threshold_tree(tree: ThresholdTree, names: list[str]) -> TreeArrays:
    index = {n: i for i, n in enumerate(names)}
    classes = list(tree.classes_.tolist())
    left, right, feature, threshold, leaf_class = [], [], [], [], []

    def add(node: Split | Leaf) -> int:  # recursion over tree nodes only
        k = len(feature)
        for arr in (left, right):
            arr.append(-1)
        if isinstance(node, Leaf):
            feature.append(-1)
            threshold.append(np.nan)
            leaf_class.append(classes.index(node.decision))
            return k
        feature.append(index[node.variable])
        threshold.append(float(node.threshold))
        leaf_class.append(-1)
        left[k] = add(node.left)
        right[k] = add(node.right)
        return k

    add(tree.root)
    arrays = [np.array(a, dtype=np.intp) for a in (left, right, feature)]
    thr = np.array(threshold, dtype=np.float64)
    leaves, lo, hi = _boxes(*arrays, thr, len(names))
    return TreeArrays(*arrays, thr, np.array(leaf_class, dtype=np.intp), tree.classes_,
                      leaves, lo, hi, False)  # fmt: skip


def tree_arrays(policy: Any, names: list[str]) -> TreeArrays:
    """Array form of a fitted ``DecisionTreeClassifier`` or a :class:`ThresholdTree` whose
    variables are ``names`` (the policy inputs, in order)."""
    if isinstance(policy, ThresholdTree):
        return _from_threshold_tree(policy, names)
    return _from_sklearn(policy, len(names))
