"""LPGNN — locally private graph neural networks on torch-geometric (extra ``[gnn]``)."""

from ..._compat import require

require("torch_geometric", "gnn")
require("diffprivlib", "gnn")

from .kprop import KProp  # noqa: E402
from .model import LPGNN  # noqa: E402
from .trainer import LPGNNTrainer, select_epoch  # noqa: E402
from .transforms import FeaturePerturbation, LabelPerturbation  # noqa: E402

__all__ = [
    "LPGNN",
    "FeaturePerturbation",
    "KProp",
    "LPGNNTrainer",
    "LabelPerturbation",
    "select_epoch",
]
