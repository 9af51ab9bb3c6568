"""German credit and Bank marketing as raw attributes (categoricals ordinal-coded), for models
and explanations in the original attribute space (AIF360's classes one-hot encode them).

Reads the same files as :func:`ai4media_ext.data.load_aif360`:
``<root>/aif360_raw/german/german.data`` (UCI Statlog, 1000 x 20, target 1 = good, 2 = bad) and
``<root>/aif360_raw/bank/bank-additional-full.csv`` (UCI, 41188 x 20, target ``y``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .._compat import require
from ._paths import data_root, require_file

__all__ = ["RawTable", "load_tabular_raw"]

GERMAN_COLUMNS = [
    "status", "duration", "credit_history", "purpose", "credit_amount", "savings",
    "employment_since", "installment_rate", "personal_status", "other_debtors",
    "residence_since", "property", "age", "other_installment_plans", "housing",
    "existing_credits", "job", "people_liable", "telephone", "foreign_worker",
]  # fmt: skip


@dataclass(frozen=True)
class RawTable:
    """A table of raw attributes.

    Attributes
    ----------
    X : ndarray (n, n_features) float64
        Numeric attributes as read; categorical ones as the index of their value among the
        sorted distinct values (``categories``).
    y : ndarray (n,) int64
        1 for the favourable / positive outcome (German: good credit; Bank: subscribed), else 0.
    feature_names : list of str
    categories : dict of str to list of str
        For each categorical attribute, its values in code order.
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    categories: dict[str, list[str]]


def _encode(df) -> tuple[np.ndarray, dict[str, list[str]]]:
    pd = require("pandas", "aif360")
    cats: dict[str, list[str]] = {}
    cols = []
    for name in df.columns:
        col = df[name]
        if pd.api.types.is_numeric_dtype(col):
            cols.append(col.to_numpy(dtype=np.float64))
        else:
            values = sorted(col.astype(str).unique().tolist())
            cats[name] = values
            cols.append(col.astype(str).map({v: i for i, v in enumerate(values)}).to_numpy(float))
    return np.column_stack(cols), cats


def load_tabular_raw(name: str, root: str | os.PathLike[str] | None = None) -> RawTable:
    """Load ``"german"`` or ``"bank"`` as raw, ordinal-coded attributes.

    Parameters
    ----------
    name : {"german", "bank"}
    root : path-like, optional
        Data root holding ``aif360_raw/<name>/`` (default: ``$AI4MEDIA_EXT_DATA``).

    Returns
    -------
    RawTable
        German: X (1000, 20); Bank: X (41188, 20) including ``duration``.

    Raises
    ------
    DataNotFoundError
        The raw file is missing (the message names it).
    ValueError
        An unknown ``name``.
    """
    pd = require("pandas", "aif360")
    if name == "german":
        path = require_file(data_root(root), "aif360_raw/german/german.data")
        df = pd.read_csv(path, sep=r"\s+", header=None, names=[*GERMAN_COLUMNS, "credit"])
        y = (df.pop("credit").to_numpy() == 1).astype(np.int64)
    elif name == "bank":
        path = require_file(data_root(root), "aif360_raw/bank/bank-additional-full.csv")
        df = pd.read_csv(path, sep=";")
        y = (df.pop("y").astype(str).to_numpy() == "yes").astype(np.int64)
    else:
        raise ValueError(f"name must be 'german' or 'bank', got {name!r}")
    X, cats = _encode(df)
    return RawTable(X, y, [str(c) for c in df.columns], cats)
