"""Secure federated learning on Flower: CKKS-encrypted FedAvg (TenSEAL) and DP client updates."""

from ..._compat import require

require("flwr", "fl")
require("tenseal", "fl")

from ._ckks import DEFAULT_PARAMS, HEError, key_id, make_context, provision, public_bytes  # noqa: E402
from .he_fedavg import HEFedAvg  # noqa: E402
from .mods import decrypt_arrays, make_dp_mod, make_he_mod  # noqa: E402

__all__ = [
    "DEFAULT_PARAMS",
    "HEError",
    "HEFedAvg",
    "decrypt_arrays",
    "key_id",
    "make_context",
    "make_dp_mod",
    "make_he_mod",
    "provision",
    "public_bytes",
]
