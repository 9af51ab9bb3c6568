"""Flower client mods: CKKS encryption of the outgoing update (pairs with ``HEFedAvg``) and
differentially private clipping + noise of the update before it leaves the client."""

from __future__ import annotations

import json
import logging
import math
import numbers
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MessageType, MetricRecord

from ._ckks import (
    HEError,
    decrypt,
    encrypt,
    key_id,
    load_context,
    structure,
    unflatten,
)
from .he_fedavg import CHUNK_PREFIX, HE_RECORD, KEY_ID_KEY, META_KEY, WEIGHT_UNIT_KEY

logger = logging.getLogger(__name__)

Mod = Callable[[Message, Context, Callable[[Message, Context], Message]], Message]


def _single_arrays(content: Any) -> tuple[str, ArrayRecord] | None:
    records = list(content.array_records.items())
    return records[0] if len(records) == 1 else None


def decrypt_arrays(record: ArrayRecord, secret_context: Any) -> ArrayRecord:
    """Plain weighted average from an ``HEFedAvg`` aggregate (needs the secret context)."""
    meta = json.loads(bytes(record[META_KEY].numpy()).decode())
    names = sorted(k for k in record if k.startswith(CHUNK_PREFIX))
    flat = decrypt(secret_context, [bytes(record[k].numpy()) for k in names]) / meta["total-weight"]
    return ArrayRecord(
        {k: Array(np.ascontiguousarray(a)) for k, a in unflatten(flat, meta["structure"])}
    )


def make_he_mod(
    secret_context: bytes | str | os.PathLike[str], weighted_by_key: str = "num-examples"
) -> Mod:
    """Client mod pairing with :class:`HEFedAvg`.

    Incoming: an encrypted aggregate is decrypted (and divided by the total weight) into the
    plain ``ArrayRecord`` the ClientApp expects. Outgoing (train replies): the ClientApp's
    weights are flattened, multiplied by ``num-examples / weight_unit`` and encrypted; the
    reply's ``ArrayRecord`` is replaced by a ``ConfigRecord`` of ciphertext bytes, so no
    plaintext weight leaves the client.

    ``secret_context`` is the provisioned client context (bytes or a file path); it must hold
    the secret key.
    """
    data = (
        Path(secret_context).read_bytes()
        if isinstance(secret_context, str | os.PathLike)
        else secret_context
    )
    ctx = load_context(data, expect_secret=True)
    kid = key_id(ctx)

    def he_mod(
        msg: Message, context: Context, call_next: Callable[[Message, Context], Message]
    ) -> Message:
        kind = msg.metadata.message_type
        if kind not in (MessageType.TRAIN, MessageType.EVALUATE):
            return call_next(msg, context)
        found = _single_arrays(msg.content)
        if found is not None and META_KEY in found[1]:
            meta = json.loads(bytes(found[1][META_KEY].numpy()).decode())
            if meta["key-id"] != kid:
                raise HEError(
                    f"aggregate encrypted under key {meta['key-id']}, this client holds {kid}"
                )
            msg.content.array_records[found[0]] = decrypt_arrays(found[1], ctx)
        configs = list(msg.content.config_records.values())
        unit = next((c[WEIGHT_UNIT_KEY] for c in configs if WEIGHT_UNIT_KEY in c), None)
        server_kid = next((c[KEY_ID_KEY] for c in configs if KEY_ID_KEY in c), None)
        if server_kid is not None and server_kid != kid:
            raise HEError(f"server expects key {server_kid}, this client holds {kid}")
        reply = call_next(msg, context)
        if kind != MessageType.TRAIN or reply.has_error():
            return reply
        if unit is None:
            raise HEError(
                f"the train config lacks {WEIGHT_UNIT_KEY!r}: is the server running HEFedAvg?"
            )
        out = _single_arrays(reply.content)
        if out is None:
            raise HEError("the ClientApp reply must hold exactly one ArrayRecord")
        metrics = [r for r in reply.content.metric_records.values() if weighted_by_key in r]
        if len(metrics) != 1:
            raise HEError(f"the ClientApp reply needs one MetricRecord with {weighted_by_key!r}")
        arrays = [(k, v.numpy()) for k, v in out[1].items()]
        flat = np.concatenate([a.astype(np.float64).ravel() for _, a in arrays])
        flat *= float(metrics[0][weighted_by_key]) / float(unit)
        start = time.perf_counter()
        chunks = encrypt(ctx, flat)
        metrics[0]["he-encrypt-seconds"] = time.perf_counter() - start
        metrics[0]["he-bytes"] = sum(len(c) for c in chunks)
        metrics[0]["plain-float32-bytes"] = 4 * flat.size
        del reply.content.array_records[out[0]]
        reply.content.config_records[HE_RECORD] = ConfigRecord(
            {"ciphertexts": chunks, "key-id": kid, "structure": structure(arrays)}
        )
        return reply

    return he_mod


def make_dp_mod(
    *,
    clipping_norm: float,
    epsilon: float,
    delta: float = 0.0,
    mechanism: str = "laplace",
    accountant: Any = None,
    random_state: int | None = None,
) -> Mod:
    """Client mod: clip the model update (new − received weights) and add calibrated noise
    before it leaves the client (local DP on each round's update).

    ``mechanism="laplace"`` clips the update to L1 norm ``clipping_norm`` and adds noise with
    :class:`~ai4media_ext.privacy.mechanisms.SecureLaplace` (ε-DP as floats), sensitivity
    2 x ``clipping_norm``; ``"gaussian"`` clips to L2 norm and adds Gaussian noise calibrated by
    diffprivlib's analytic Gaussian mechanism (needs ``delta`` > 0). The budget of every round
    is spent on ``accountant`` (a diffprivlib ``BudgetAccountant``; default: diffprivlib's
    default accountant) and reported in the reply metrics as ``dp-epsilon`` (per round) and
    ``dp-epsilon-total`` (this client so far). Works with any Flower strategy and, placed after
    :func:`make_he_mod` in ``mods=[...]``, before encryption.
    """
    from diffprivlib.accountant import BudgetAccountant

    if mechanism not in ("laplace", "gaussian"):
        raise ValueError(f"mechanism must be 'laplace' or 'gaussian', got {mechanism!r}")
    for name, v in (("clipping_norm", clipping_norm), ("epsilon", epsilon)):
        if not isinstance(v, numbers.Real) or not v > 0 or not math.isfinite(v):
            raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
    if not isinstance(delta, numbers.Real) or not 0 <= delta < 1:
        raise ValueError(f"delta must be in [0, 1), got {delta!r}")
    if mechanism == "gaussian" and delta == 0:
        raise ValueError("the gaussian mechanism needs delta > 0")
    if accountant is not None and not isinstance(accountant, BudgetAccountant):
        raise TypeError("accountant must be a diffprivlib BudgetAccountant or None")
    sensitivity = 2.0 * clipping_norm
    if mechanism == "laplace":
        from ..mechanisms import SecureLaplace

        laplace = SecureLaplace(
            epsilon=epsilon,
            sensitivity=sensitivity,
            random_state=random_state,
            accountant=accountant,
        )
    else:
        from diffprivlib.mechanisms import GaussianAnalytic

        scale = GaussianAnalytic(epsilon=epsilon, delta=delta, sensitivity=sensitivity)._scale
        rng = np.random.default_rng(random_state)
        gaussian_accountant = BudgetAccountant.load_default(accountant)

    def dp_mod(
        msg: Message, context: Context, call_next: Callable[[Message, Context], Message]
    ) -> Message:
        if msg.metadata.message_type != MessageType.TRAIN:
            return call_next(msg, context)
        sent = _single_arrays(msg.content)
        if sent is None:
            raise ValueError("dp_mod needs exactly one ArrayRecord in the train message")
        before = {k: v.numpy().astype(np.float64) for k, v in sent[1].items()}
        reply = call_next(msg, context)
        if reply.has_error():
            return reply
        out = _single_arrays(reply.content)
        if out is None or list(out[1].keys()) != list(before):
            raise ValueError(
                "dp_mod: the reply must hold one ArrayRecord with the keys it was sent"
            )
        after = {k: v.numpy() for k, v in out[1].items()}
        update = np.concatenate([(after[k].astype(np.float64) - before[k]).ravel() for k in before])
        norm = np.abs(update).sum() if mechanism == "laplace" else np.linalg.norm(update)
        if norm > clipping_norm:
            update *= clipping_norm / norm
        if mechanism == "laplace":
            noisy = laplace.randomise(update)  # checks and spends the budget itself
        else:
            gaussian_accountant.check(epsilon, delta)
            noisy = update + rng.normal(0.0, scale, size=update.shape)
            gaussian_accountant.spend(epsilon, delta)
        new, start = {}, 0
        for k, b in before.items():
            size = b.size
            new[k] = Array(
                (b.ravel() + noisy[start : start + size]).reshape(b.shape).astype(after[k].dtype)
            )
            start += size
        reply.content.array_records[out[0]] = ArrayRecord(new)
        state = context.state.metric_records.get("dp", MetricRecord({"epsilon-total": 0.0}))
        state["epsilon-total"] = float(state["epsilon-total"]) + epsilon
        context.state.metric_records["dp"] = state
        for record in reply.content.metric_records.values():
            record["dp-epsilon"] = float(epsilon)
            record["dp-epsilon-total"] = float(state["epsilon-total"])
            record["dp-clipped-norm"] = float(min(norm, clipping_norm))
        logger.info(
            "dp_mod: clipped update norm %.4g to %.4g, spent epsilon %.4g",
            norm,
            clipping_norm,
            epsilon,
        )
        return reply

    return dp_mod
