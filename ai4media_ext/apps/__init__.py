"""Runnable apps built on the library (top layer: above the four trust dimensions, below
``experiments``): ``secure_fl`` is the Flower App of secure federated learning (HEFedAvg + HE/DP
client mods), exposed to ``flwr run`` by ``plugins/flower_secure_fl``.

Names load on first use (Flower is an optional extra), the re-export pattern of every sub-package.
"""

from __future__ import annotations

from .._compat import lazy_exports

__all__ = ["load_partition", "make_client_app", "make_model", "make_server_app", "settings"]

_LAZY = {name: "secure_fl" for name in __all__}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
