"""Secure federated learning on Flower: CKKS-encrypted FedAvg (TenSEAL), SecAgg+ for
Message-API strategies, local and distributed DP client updates."""

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
from ._secagg import SecAggError  # noqa: E402
from .ddp import (  # noqa: E402
    DistributedDPMod,
    distributed_noise_std,
    gaussian_epsilon,
    noise_multiplier_for,
)
from .encrypted_inference import EncryptedLinearScorer, inference_context  # noqa: E402
from .he_fedavg import HEFedAvg  # noqa: E402
from .he_secaggplus import (  # noqa: E402
    HESecAggPlus,
    HESecAggPlusMod,
    decrypt_aggregate,
    make_bfv_context,
)
from .local_grid import LocalGrid  # noqa: E402
from .mods import DPMod, HEMod, decrypt_arrays, make_dp_mod, make_he_mod  # noqa: E402
from .secaggplus import SecAggPlus  # noqa: E402
from .secaggplus_mod import SecAggPlusMod  # noqa: E402

__all__ = [
    "DEFAULT_PARAMS",
    "DPMod",
    "DistributedDPMod",
    "EncryptedLinearScorer",
    "HEError",
    "HEFedAvg",
    "HEMod",
    "HESecAggPlus",
    "HESecAggPlusMod",
    "LocalGrid",
    "SecAggError",
    "SecAggPlus",
    "SecAggPlusMod",
    "decrypt_aggregate",
    "decrypt_arrays",
    "distributed_noise_std",
    "gaussian_epsilon",
    "headroom",
    "inference_context",
    "key_id",
    "make_bfv_context",
    "make_context",
    "make_dp_mod",
    "make_he_mod",
    "noise_multiplier_for",
    "provision",
    "public_bytes",
]
