"""Secure federated learning on Flower: CKKS-encrypted FedAvg (TenSEAL) and DP client updates."""

from ..._compat import require

require("flwr", "fl")
require("tenseal", "fl")

from ._ckks import (  # noqa: E402
    DEFAULT_PARAMS,
    HEError,
    headroom,
    key_id,
    make_context,
    provision,
    public_bytes,
)
from .encrypted_inference import EncryptedLinearScorer, inference_context  # noqa: E402
from .he_fedavg import HEFedAvg  # noqa: E402
from .mods import DPMod, HEMod, decrypt_arrays, make_dp_mod, make_he_mod  # noqa: E402

__all__ = [
    "DEFAULT_PARAMS",
    "DPMod",
    "EncryptedLinearScorer",
    "HEError",
    "HEFedAvg",
    "HEMod",
    "decrypt_arrays",
    "headroom",
    "inference_context",
    "key_id",
    "make_context",
    "make_dp_mod",
    "make_he_mod",
    "provision",
    "public_bytes",
]
