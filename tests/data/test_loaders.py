"""Every loader on the real offline data: shapes and class counts, and clear errors."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ai4media_ext import data
from ai4media_ext.data import DataNotFoundError


def test_cora(data_root):
    d = data.load_cora(data_root)
    assert (d.num_nodes, d.num_features, int(d.y.max()) + 1) == (2708, 1433, 7)
    assert d.edge_index.shape == (2, 10556)
    assert (int(d.train_mask.sum()), int(d.val_mask.sum()), int(d.test_mask.sum())) == (
        140,
        500,
        1000,
    )


def test_cora_never_writes_into_the_data_root(data_root, tmp_path):
    before = sorted(p.relative_to(data_root) for p in (data_root / "planetoid").rglob("*"))
    data.load_cora(data_root, cache=tmp_path)
    assert (tmp_path / "Cora" / "processed").is_dir()
    after = sorted(p.relative_to(data_root) for p in (data_root / "planetoid").rglob("*"))
    assert before == after


def test_facebook(data_root):
    d = data.load_facebook(data_root)
    assert tuple(d.x.shape) == (22470, 4714)
    assert d.edge_index.shape == (2, 341825)
    assert np.bincount(d.y.numpy()).tolist() == [6495, 3327, 5768, 6880]
    assert set(np.unique(d.x.numpy())) == {0.0, 1.0}


def test_twitch(data_root):
    d = data.load_twitch(data_root)
    assert tuple(d.x.shape) == (7126, 3170)
    assert d.edge_index.shape == (2, 70648)
    assert np.bincount(d.y.numpy()).tolist() == [3238, 3888]


def test_karate_club():
    d = data.load_karate_club()
    assert d.num_nodes == 34 and int(d.y.max()) + 1 == 4


@pytest.mark.parametrize(
    "name, shape, protected",
    [
        ("adult", (45222, 98), ["race", "sex"]),
        ("german", (1000, 58), ["sex", "age"]),
        ("bank", (30488, 57), ["age"]),
    ],
)
def test_aif360_datasets(data_root, name, shape, protected):
    import aif360
    from aif360.datasets import StandardDataset

    raw = Path(aif360.__file__).parent / "data" / "raw"
    raw_before = sorted(str(p) for p in raw.rglob("*"))
    with warnings.catch_warnings():  # pandas 3 deprecates the option itself
        warnings.simplefilter("ignore")
        infer_before = pd.get_option("future.infer_string")
    ds = data.load_aif360(name, data_root)
    assert isinstance(ds, StandardDataset)
    assert ds.features.shape == shape
    assert ds.protected_attribute_names == protected
    assert set(np.unique(ds.labels)) == {ds.favorable_label, ds.unfavorable_label}
    # Nothing written into site-packages, the caller's pandas options untouched.
    assert sorted(str(p) for p in raw.rglob("*")) == raw_before
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert pd.get_option("future.infer_string") == infer_before
    assert pd.read_csv is not None and pd.read_csv.__module__.startswith("pandas")


def test_aif360_unknown_name(data_root):
    with pytest.raises(ValueError, match="name must be one of"):
        data.load_aif360("nope", data_root)


def test_mnist_test(data_root):
    x, y = data.load_mnist_test(data_root)
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8
    assert np.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize("split", ["train", "test"])
def test_cifar10(data_root, split):
    x, y = data.load_cifar10(split, data_root)
    assert x.shape == (10000, 32, 32, 3) and x.dtype == np.uint8
    assert np.bincount(y).tolist() == [1000] * 10
    assert 60 < x.mean() < 190  # real images, not blank


def test_cifar10_bad_split(data_root):
    with pytest.raises(ValueError, match="split"):
        data.load_cifar10("validation", data_root)


def test_embedded_sets():
    x, y = data.load_digits()
    assert x.shape == (1797, 8, 8) and len(np.unique(y)) == 10
    x, y = data.load_mnist5000()
    assert x.shape == (5000, 28, 28) and np.bincount(y).min() > 400


@pytest.mark.parametrize(
    "loader, missing",
    [
        (data.load_cora, "planetoid/Cora/raw/ind.cora.x"),
        (data.load_facebook, "graph/musae_facebook/facebook_target.csv"),
        (data.load_twitch, "graph/karateclub/twitch/raw/edges.csv"),
        (data.load_mnist_test, "mnist/MNIST/raw/t10k-images-idx3-ubyte.gz"),
        (lambda root: data.load_cifar10("test", root), "cifar10_jpeg/cifar10_test_jpeg.zip"),
        (lambda root: data.load_aif360("adult", root), "aif360_raw/adult/adult.data"),
    ],
)
def test_missing_file_names_it(tmp_path, loader, missing):
    with pytest.raises(DataNotFoundError, match=missing.replace(".", r"\.")):
        loader(tmp_path)


def test_no_root_and_no_env(monkeypatch):
    monkeypatch.delenv("AI4MEDIA_EXT_DATA", raising=False)
    with pytest.raises(DataNotFoundError, match="AI4MEDIA_EXT_DATA"):
        data.load_mnist_test()


def test_env_root(monkeypatch, data_root):
    monkeypatch.setenv("AI4MEDIA_EXT_DATA", str(data_root))
    assert data.load_mnist_test()[0].shape == (10000, 28, 28)
