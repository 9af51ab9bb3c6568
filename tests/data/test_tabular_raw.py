"""Raw-attribute German credit and Bank marketing tables."""

import numpy as np
import pytest

from ai4media_ext.data import DataNotFoundError
from ai4media_ext.data.tabular_raw import load_tabular_raw


def test_german_raw(data_root):
    t = load_tabular_raw("german", data_root)
    assert t.X.shape == (1000, 20) and t.X.dtype == np.float64
    assert int(t.y.sum()) == 700  # 700 good, 300 bad credits
    assert t.feature_names[4] == "credit_amount" and t.X[0, 4] == 1169.0
    assert t.categories["status"] == ["A11", "A12", "A13", "A14"] and t.X[0, 0] == 0.0
    assert len(t.categories) == 13


def test_bank_raw(data_root):
    t = load_tabular_raw("bank", data_root)
    assert t.X.shape == (41188, 20)
    assert int(t.y.sum()) == 4640
    assert "duration" in t.feature_names and len(t.categories) == 10


def test_missing_file_and_bad_name(tmp_path):
    with pytest.raises(DataNotFoundError, match="german.data"):
        load_tabular_raw("german", tmp_path)
    with pytest.raises(ValueError, match="name"):
        load_tabular_raw("adult", tmp_path)
