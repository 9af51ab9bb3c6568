"""ObjectGraphs event recognition and its Weighted-in-Degree explanations (extras ``[gnn]``,
``[xai]``): a torch-geometric dense-graph model and a captum ``Attribution``."""

from ..._compat import require

require("torch_geometric", "gnn")
require("captum", "xai")

from .model import ObjectGraphs, check_object_inputs  # noqa: E402
from .wid import WeightedInDegree, pool_per_label, rank_objects  # noqa: E402

__all__ = [
    "ObjectGraphs",
    "WeightedInDegree",
    "check_object_inputs",
    "pool_per_label",
    "rank_objects",
]
