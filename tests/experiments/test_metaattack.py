"""The metaattack experiment end to end on the real offline data (MNIST, CIFAR-10 crops)."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from ai4media_ext import registry
from ai4media_ext.experiments import metaattack as ma
from ai4media_ext.experiments import run_experiments

TINY = dict(n_train=300, n_train_digits=200, epochs=1, n_attack=100, n_virtual=100, n_clusters=5, max_iter=1,
            n_query=50, n_gallery=100)  # fmt: skip


def _keys(res):
    for bb in ma.BACKBONES:
        for tgt in ma.EVAL_SETS:
            pre = f"{bb}_mnist_to_{tgt}"
            for metric in ("map", "rank1"):
                assert 0.0 <= res[f"{pre}_clean_{metric}"] <= 1.0
                for method in ma.METHODS:
                    assert 0.0 <= res[f"{pre}_{method}_{metric}"] <= 1.0
                    assert 0.0 <= res[f"{pre}_{method}_eps16_{metric}"] <= 1.0
        for method in ma.METHODS:
            for eps in ma.EPS:
                assert res[f"{bb}_{method}_eps{eps}_learn_seconds"] > 0


def test_tiny_run_writes_every_key_and_figure(tmp_path, data_root, monkeypatch):
    monkeypatch.setattr(ma, "_settings", lambda quick: dict(TINY))
    exp = registry.load("ai4media_ext.experiments", "metaattack")()
    (path,) = run_experiments([exp], tmp_path, quick=True, data_root=data_root)
    res = json.loads(path.read_text())
    _keys(res)
    for png in ("perturbations.png", "query_top5.png", "map_bars.png"):
        assert (tmp_path / "metaattack" / png).stat().st_size > 1000
    assert not list(tmp_path.rglob("*.tmp"))
    # the trained backbones are cached on disk (atomic writes) for the next run
    folder = Path(os.environ["AI4MEDIA_EXT_CACHE"]) / "metaattack"
    cached = sorted(p.name for p in folder.glob("*_e1_s0*"))
    assert len(cached) == 6 and all(name.endswith(".pt") for name in cached), cached


@pytest.mark.slow
def test_quick_run(tmp_path, data_root):
    exp = registry.load("ai4media_ext.experiments", "metaattack")()
    (path,) = run_experiments([exp], tmp_path, quick=True, data_root=data_root)
    res = json.loads(path.read_text())
    _keys(res)
    for bb in ma.BACKBONES:
        assert res[f"{bb}_mnist_identity_acc"] > 0.85
        # white-box (the source model on held-out MNIST): the perturbation must hurt at 16/255
        assert res[f"{bb}_mnist_to_mnist_uap_eps16_map"] < res[f"{bb}_mnist_to_mnist_clean_map"]
    assert np.isfinite(res["runtime_s"])
