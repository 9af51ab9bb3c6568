import numpy as np
import pytest

from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.data.splits import ImageSplit, digits_split, mnist_split, scale_pixels


def test_scale_pixels_known_values_and_layout():
    grey = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    out = scale_pixels(grey)
    assert out.shape == (1, 1, 2, 2) and out.dtype == np.float32
    assert np.array_equal(out[0, 0], np.array([[0, 1], [0.2, 0.4]], dtype=np.float32))
    rgb = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    keep = rgb.copy()
    out = scale_pixels(rgb)
    assert out.shape == (2, 3, 4, 4) and np.array_equal(rgb, keep)
    assert out[1, 2, 3, 1] == np.float32(rgb[1, 3, 1, 2] / 255.0)
    # float64 division then float32: equal to torch's float32 division for every uint8 value
    import torch

    x = np.arange(256, dtype=np.uint8)[None, None]
    assert np.array_equal(scale_pixels(x)[:, 0], (torch.from_numpy(x).float() / 255.0).numpy())
    assert scale_pixels(np.full((1, 2, 2), 16.0), 16.0).max() == 1.0


def test_scale_pixels_rejects_bad_input():
    with pytest.raises(InvalidParameterError, match="x must have 3 or 4 dimensions"):
        scale_pixels(np.zeros((4, 4)))
    with pytest.raises(InvalidParameterError, match="max_value"):
        scale_pixels(np.zeros((1, 4, 4)), 0)


def test_digits_split_is_a_seeded_partition():
    s = digits_split(0)
    assert isinstance(s, ImageSplit) and s.name == "digits"
    assert s.x_train.shape == (1400, 1, 8, 8) and s.x_test.shape == (397, 1, 8, 8)
    assert 0.0 <= s.x_train.min() and s.x_train.max() <= 1.0
    again = digits_split(0)
    assert np.array_equal(s.x_train, again.x_train) and np.array_equal(s.y_test, again.y_test)
    assert not np.array_equal(digits_split(1).y_train, s.y_train)


def test_mnist_split_on_real_data(data_root):
    name, x_tr, y_tr, x_te, y_te = mnist_split(data_root, 0)
    assert name == "mnist" and x_tr.shape == (8000, 1, 28, 28) and len(y_te) == 2000
    assert set(np.unique(y_tr)) == set(range(10))


def test_missing_data_root_names_the_file(tmp_path):
    from ai4media_ext.data import DataNotFoundError

    with pytest.raises(DataNotFoundError, match="t10k-images"):
        mnist_split(tmp_path, 0)
