"""The objectgraphs experiment: metrics by hand, an end-to-end run on real CIFAR-10 objects, and
(slow) the --quick reproduction with the keys the issue names."""

import json

import numpy as np
import pytest
import torch

from ai4media_ext.data import load_cifar10
from ai4media_ext.data.object_videos import make_object_videos
from ai4media_ext.experiments import run_experiments
from ai4media_ext.experiments.objectgraphs import (
    FIDELITY_N,
    METHODS,
    ObjectGraphsExperiment,
    featurise,
    fidelity,
    object_scores,
    precision_at,
    train_classifier,
)
from ai4media_ext.explainability.objectgraphs import ObjectGraphs
from ai4media_ext.zoo.object_cnn import cached_object_cnn


def test_precision_at_3_by_hand():
    scores = torch.tensor([[[0.9, 0.1], [0.8, 0.7]], [[0.0, 0.1], [0.2, 0.3]]])
    is_key = torch.tensor([[[True, False], [False, True]], [[True, True], [True, True]]])
    assert precision_at(scores, is_key) == pytest.approx((2 / 3 + 1) / 2)


def test_end_to_end_on_real_cifar10_objects(data_root, tmp_path):
    x_tr, y_tr = load_cifar10("train", data_root)
    x_te, y_te = load_cifar10("test", data_root)
    o = np.random.default_rng(0).permutation(len(y_tr))[:3000]
    scale = lambda x: (x / 255.0).astype(np.float32).transpose(0, 3, 1, 2)  # noqa: E731
    cnn = cached_object_cnn(tmp_path, scale(x_tr[o]), y_tr[o], num_classes=10, epochs=2)
    assert list(tmp_path.glob("object_cnn_*.pt")) and not list(tmp_path.glob("*.tmp"))
    sub = np.random.default_rng(1).permutation(len(y_te))[:4000]  # the zip is ordered by class
    pool = scale(x_te[sub])
    videos = make_object_videos(y_te[sub], n_videos=60, random_state=0)
    feats = featurise(cnn, videos, pool)
    v, q, k = videos.shape
    assert feats["x"].shape == (v, q, k, 128) and feats["x_frame"].shape == (v, q, 128)
    assert (np.diff(feats["doc"], axis=2) <= 0).all()  # objects sorted by detector confidence
    assert feats["is_key"].sum() == videos.is_key.sum()
    # reusing the description of untouched source images equals describing every object
    vi, qi, ji = np.meshgrid(np.arange(0, v, 7), np.arange(q), np.arange(k), indexing="ij")
    slots = (vi.ravel(), qi.ravel(), feats["order"][vi, qi, ji].ravel())
    direct, conf, _ = cnn.describe(videos.object_images(pool, slots))
    np.testing.assert_allclose(feats["x"][vi, qi, ji].reshape(direct.shape), direct, atol=1e-5)
    np.testing.assert_allclose(feats["doc"][vi, qi, ji].ravel(), conf, atol=1e-6)
    # a 2-epoch detector on real (partly degraded) objects is far above chance (0.1)
    assert (feats["label"] == feats["object_class"]).mean() > 0.25

    x, xf = torch.from_numpy(feats["x"]), torch.from_numpy(feats["x_frame"])
    y = torch.from_numpy(videos.event)
    model = train_classifier(ObjectGraphs(128, 5, hidden_channels=32), x, xf, y, epochs=3, seed=0)
    with torch.no_grad():
        pred = model(x, xf).argmax(1)
    doc = torch.from_numpy(feats["doc"])
    is_key = torch.from_numpy(feats["is_key"])
    for method in METHODS:
        scores, seconds = object_scores(method, model, x[:12], xf[:12], pred[:12], doc[:12], 0)
        assert scores.shape == (12, q, k) and torch.isfinite(scores).all() and seconds >= 0
        assert 0 <= precision_at(scores, is_key[:12]) <= 1
        for n in FIDELITY_N:
            fid = fidelity(model, x[:12], xf[:12], y[:12], scores, n)
            assert 0 <= fid["keep"] <= 1 and -1 <= fid["drop_confidence_change"] <= 1
    wid, _ = object_scores("wid", model, x, xf, pred, doc, 0)
    torch.testing.assert_close(wid.sum(-1), torch.full((v, q), float(k)))


@pytest.mark.slow
def test_quick_reproduction_has_the_issue_keys(data_root, tmp_path):
    (path,) = run_experiments([ObjectGraphsExperiment()], tmp_path, quick=True, data_root=data_root)
    res = json.loads(path.read_text())
    assert res["dataset_is_cifar10"] == 1.0 and 0.2 < res["objectgraphs_accuracy"] <= 1
    for m in METHODS:
        assert 0 <= res[f"{m}_precision_at_3"] <= 1
        for n in FIDELITY_N:
            for kind in ("keep", "drop"):
                assert 0 <= res[f"{m}_fidelity_{kind}_{n}"] <= 1
    assert res["wid_seconds_per_video"] < res["integrated_gradients_seconds_per_video"]
    for png in ("fig11_correct.png", "explanation_quality.png"):
        assert (tmp_path / "objectgraphs" / png).stat().st_size > 10_000
