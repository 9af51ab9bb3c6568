"""The metaattack experiment end to end on the real offline data (MNIST, CIFAR-10 crops) and,
without the data root, on the in-wheel fallback (scikit-learn digits, scikit-image photographs)."""

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


def _keys(res, source="mnist", eval_sets=ma.EVAL_SETS):
    for bb in ma.BACKBONES:
        for tgt in eval_sets:
            pre = f"{bb}_{source}_to_{tgt}"
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


def test_tiny_run_without_the_data_root(tmp_path, monkeypatch):
    """No data root: digits source, font virtual set, digits-M target over in-wheel photographs."""
    monkeypatch.setattr(ma, "_settings", lambda quick: dict(TINY))
    exp = registry.load("ai4media_ext.experiments", "metaattack")()
    assert not exp.needs_data
    (path,) = run_experiments([exp], tmp_path, quick=True, data_root=None)
    res = json.loads(path.read_text())
    _keys(res, ma.EMBEDDED_SOURCE, ma.EMBEDDED_EVAL_SETS)
    assert not any("mnist" in key for key in res), [k for k in res if "mnist" in k]
    for png in ("perturbations.png", "query_top5.png", "map_bars.png"):
        assert (tmp_path / "metaattack" / png).stat().st_size > 1000
    folder = Path(os.environ["AI4MEDIA_EXT_CACHE"]) / "metaattack" / "embedded"
    assert len(list(folder.glob("*_e1_s0*.pt"))) == 4


def test_embedded_splits_are_disjoint():
    """The attack / source-training half and the held-out query + gallery share no digit."""
    from ai4media_ext.experiments._core import RunContext

    ctx = RunContext(out_dir=Path("."), quick=True, seed=0, data_root=None)
    doms = ma._domains(ctx, dict(TINY))
    assert set(doms) == {"digits", "virtual", "digitsm"}
    key = lambda x: {a.tobytes() for a in x}  # noqa: E731
    train, query, gallery = (doms["digits"][k][0] for k in ("train", "query", "gallery"))
    assert not key(train) & (key(query) | key(gallery)) and not key(query) & key(gallery)
    for split in ("train", "query", "gallery"):
        x, y = doms["digitsm"][split]
        assert x.shape[1:] == (3, 28, 28) and x.dtype == np.float32 and len(x) == len(y)
    assert doms["digitsm"]["query"][0].std() > 0.1  # photo backgrounds, not a flat fill


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
