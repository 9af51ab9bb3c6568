"""Tabular fairness data (Adult, German credit, Bank marketing) through AIF360's own dataset classes.

AIF360 reads its raw files from ``<site-packages>/aif360/data/raw/<name>/``. We never write there:
while an AIF360 dataset class is being constructed, ``pandas.read_csv`` calls aimed at that folder
are redirected to ``<data root>/aif360_raw/<name>/``. AIF360 0.6.1 also fails on pandas 3's default
string dtype, so string inference is switched off for the duration of the construction only
(``pandas.option_context``) — the caller's global pandas options are left untouched.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._compat import require
from ._paths import ENV_DATA, data_root, require_file

#: Shipped in the wheel (CC BY 4.0, see embedded/aif360_raw/german/ATTRIBUTION.md): the default
#: when no data root is given.
EMBEDDED_ROOT = Path(__file__).resolve().parent / "embedded"
EMBEDDED = ("german",)

# dataset name -> (AIF360 class, raw files it reads)
AIF360_DATASETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "adult": ("AdultDataset", ("adult.data", "adult.test")),
    "german": ("GermanDataset", ("german.data",)),
    "bank": ("BankDataset", ("bank-additional-full.csv",)),
}


@contextlib.contextmanager
def _aif360_raw_redirect(raw_root: Path) -> Iterator[None]:
    pd = require("pandas", "aif360")
    aif360 = require("aif360", "aif360")
    package_raw = (Path(aif360.__file__).resolve().parent / "data" / "raw").resolve()
    original = pd.read_csv

    def read_csv(path: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(path, str | os.PathLike):
            resolved = Path(path).resolve()
            if resolved.is_relative_to(package_raw):
                path = raw_root / resolved.relative_to(package_raw)
        return original(path, *args, **kwargs)

    pd.read_csv = read_csv
    try:
        with warnings.catch_warnings():
            # pandas 3 warns that the option goes away in pandas 4; the warning is about us.
            warnings.filterwarnings("ignore", message=".*infer_string.*")
            try:
                ctx = pd.option_context("future.infer_string", False)
            except (KeyError, pd.errors.OptionError):  # a pandas without the option
                ctx = contextlib.nullcontext()
            with ctx:
                yield
    finally:
        pd.read_csv = original


def load_aif360(name: str, root: str | os.PathLike[str] | None = None, **kwargs: Any) -> Any:
    """Build AIF360's ``AdultDataset``, ``GermanDataset`` or ``BankDataset`` from the data root.

    Parameters
    ----------
    name : {"adult", "german", "bank"}
        Which data set.
    root : path-like, optional
        Data root holding ``aif360_raw/<name>/`` (default: ``$AI4MEDIA_EXT_DATA``; for
        ``"german"`` without either, the copy shipped in the package, UCI Statlog German credit,
        CC BY 4.0, attribution in ``data/embedded/aif360_raw/german/ATTRIBUTION.md``).
    **kwargs
        Passed unchanged to the AIF360 class (``protected_attribute_names``, ...).

    Returns
    -------
    aif360.datasets.StandardDataset
        Adult: features (45222, 98), protected race and sex; German: (1000, 58), sex and age;
        Bank: (30488, 57), age.

    Raises
    ------
    ValueError
        An unknown ``name``.
    DataNotFoundError
        No data root (for Adult and Bank), or a raw file missing under it (the error names it).
    """
    if name not in AIF360_DATASETS:
        raise ValueError(f"name must be one of {sorted(AIF360_DATASETS)}, got {name!r}")
    cls_name, files = AIF360_DATASETS[name]
    if root is None and not os.environ.get(ENV_DATA) and name in EMBEDDED:
        raw_root = EMBEDDED_ROOT / "aif360_raw"
    else:
        raw_root = data_root(root) / "aif360_raw"
    # Check up front: AIF360 turns a missing file into print() + sys.exit(1).
    for f in files:
        require_file(raw_root.parent, f"aif360_raw/{name}/{f}")
    require("aif360", "aif360")
    import aif360.datasets

    cls = getattr(aif360.datasets, cls_name)
    with _aif360_raw_redirect(raw_root):
        return cls(**kwargs)
