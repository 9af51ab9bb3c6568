"""Flower client mods (AI4Media D4.1 §5.4): CKKS encryption of the outgoing update (pairs with ``HEFedAvg``) and
differentially private clipping + noise of the update before it leaves the client."""

from __future__ import annotations

import json
import logging
import numbers
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MessageType, MetricRecord

from ..._validation import Interval, Options, check_params
from ._ckks import (
    CHUNK_PREFIX,
    HE_RECORD,
    KEY_ID_KEY,
    META_KEY,
    VALUE_BOUND_KEY,
    WEIGHT_UNIT_KEY,
    HEError,
    decrypt,
    encrypt,
    key_id,
    load_context,
    structure,
    unflatten,
)

logger = logging.getLogger(__name__)

Mod = Callable[[Message, Context, Callable[[Message, Context], Message]], Message]


def _single_arrays(content: Any) -> tuple[str, ArrayRecord] | None:
    records = list(content.array_records.items())
    return records[0] if len(records) == 1 else None


def decrypt_arrays(record: ArrayRecord, secret_context: Any) -> ArrayRecord:
    """Plain weighted average from an ``HEFedAvg`` aggregate (needs the secret context).

    Every array comes back with the exact shape (0-d included) and dtype the clients sent
    (integers rounded to nearest).

    Raises
    ------
    ValueError
        ``secret_context`` has no secret key (TenSEAL's error).
    HEError
        The aggregate does not match its structure.
    """
    meta = json.loads(bytes(record[META_KEY].numpy()).decode())
    names = sorted(k for k in record if k.startswith(CHUNK_PREFIX))
    flat = decrypt(secret_context, [bytes(record[k].numpy()) for k in names]) / meta["total-weight"]
    return ArrayRecord({k: Array(a) for k, a in unflatten(flat, meta["structure"])})


class HEMod:
    """Client mod pairing with :class:`HEFedAvg` (shaped like Flower's ``LocalDpMod``: build it
    once, pass it in ``ClientApp(mods=[...])``).

    Incoming: an encrypted aggregate is decrypted (and divided by the total weight) into the
    plain ``ArrayRecord`` the ClientApp expects. Outgoing (train replies): the ClientApp's
    weights are flattened, multiplied by ``num-examples / weight_unit`` and encrypted; the
    reply's ``ArrayRecord`` is replaced by a ``ConfigRecord`` of ciphertext bytes, so no
    plaintext weight leaves the client.

    Parameters
    ----------
    secret_context : bytes or path
        The provisioned client context (``client_context.bin``); it must hold the secret key.
    weighted_by_key : str, default "num-examples"
        The reply metric holding the client's weight.

    Raises
    ------
    HEError
        At construction: not a context, or no secret key. In a round: the server uses other
        keys, the train config lacks HEFedAvg's keys, the reply is not one ArrayRecord plus one
        weight metric, or a value exceeds the server's declared ``value_bound`` or is not
        finite.
    """

    _parameter_constraints = {
        "secret_context": [bytes, bytearray, str, os.PathLike],
        "weighted_by_key": [str],
    }

    def __init__(
        self,
        secret_context: bytes | str | os.PathLike[str],
        weighted_by_key: str = "num-examples",
    ) -> None:
        check_params(
            self,
            {"secret_context": secret_context, "weighted_by_key": weighted_by_key},
            self._parameter_constraints,
        )
        data = (
            Path(secret_context).read_bytes()
            if isinstance(secret_context, str | os.PathLike)
            else bytes(secret_context)
        )
        self._ctx = load_context(data, expect_secret=True)
        self.key_id = key_id(self._ctx)
        self.weighted_by_key = weighted_by_key

    def __call__(
        self, msg: Message, context: Context, call_next: Callable[[Message, Context], Message]
    ) -> Message:
        kind = msg.metadata.message_type
        if kind not in (MessageType.TRAIN, MessageType.EVALUATE):
            return call_next(msg, context)
        found = _single_arrays(msg.content)
        if found is not None and META_KEY in found[1]:
            meta = json.loads(bytes(found[1][META_KEY].numpy()).decode())
            if meta["key-id"] != self.key_id:
                raise HEError(
                    f"aggregate encrypted under key {meta['key-id']}, this client holds "
                    f"{self.key_id}"
                )
            msg.content.array_records[found[0]] = decrypt_arrays(found[1], self._ctx)
        configs = list(msg.content.config_records.values())
        unit = next((c[WEIGHT_UNIT_KEY] for c in configs if WEIGHT_UNIT_KEY in c), None)
        bound = next((c[VALUE_BOUND_KEY] for c in configs if VALUE_BOUND_KEY in c), None)
        server_kid = next((c[KEY_ID_KEY] for c in configs if KEY_ID_KEY in c), None)
        if server_kid is not None and server_kid != self.key_id:
            raise HEError(f"server expects key {server_kid}, this client holds {self.key_id}")
        reply = call_next(msg, context)
        if kind != MessageType.TRAIN or reply.has_error():
            return reply
        if unit is None:
            raise HEError(
                f"the train config lacks {WEIGHT_UNIT_KEY!r}: is the server running HEFedAvg?"
            )
        return self._encrypt_reply(reply, float(unit), bound)

    def _encrypt_reply(self, reply: Message, unit: float, bound: float | None) -> Message:
        out = _single_arrays(reply.content)
        if out is None:
            raise HEError("the ClientApp reply must hold exactly one ArrayRecord")
        key = self.weighted_by_key
        metrics = [r for r in reply.content.metric_records.values() if key in r]
        if len(metrics) != 1:
            raise HEError(f"the ClientApp reply needs one MetricRecord with {key!r}")
        arrays = [(k, v.numpy()) for k, v in out[1].items()]
        flat = np.concatenate([a.astype(np.float64).ravel() for _, a in arrays])
        if bound is not None and flat.size and np.abs(flat).max() > float(bound):
            worst = arrays[int(np.argmax([np.abs(a).max() if a.size else 0 for _, a in arrays]))]
            raise HEError(
                f"|{worst[0]}| reaches {np.abs(flat).max():.4g}, above the value_bound "
                f"{float(bound):.4g} declared by the server (HEFedAvg(value_bound=...)): the "
                f"encrypted sum could overflow the CKKS headroom"
            )
        flat *= float(metrics[0][key]) / unit
        start = time.perf_counter()
        chunks = encrypt(self._ctx, flat)
        metrics[0]["he-encrypt-seconds"] = time.perf_counter() - start
        metrics[0]["he-bytes"] = sum(len(c) for c in chunks)
        metrics[0]["plain-float32-bytes"] = 4 * flat.size
        del reply.content.array_records[out[0]]
        reply.content.config_records[HE_RECORD] = ConfigRecord(
            {"ciphertexts": chunks, "key-id": self.key_id, "structure": structure(arrays)}
        )
        return reply


#: The factory of earlier releases, now the class itself (a thin alias).
make_he_mod = HEMod


class DPMod:
    """Client mod: clip the model update (new − received weights) and add calibrated noise
    before it leaves the client (local DP on each round's update; shaped like Flower's
    ``LocalDpMod``, with our ε-DP-as-floats Laplace and a diffprivlib accountant).

    ``mechanism="laplace"`` clips the update to L1 norm ``clipping_norm`` and adds noise with
    :class:`~ai4media_ext.privacy.mechanisms.SecureLaplace` (ε-DP as floats), sensitivity
    2 x ``clipping_norm``; ``"gaussian"`` clips to L2 norm and adds Gaussian noise calibrated by
    diffprivlib's analytic Gaussian mechanism (needs ``delta`` > 0). The budget of every round
    is spent on ``accountant`` (a diffprivlib ``BudgetAccountant``; default: diffprivlib's
    default accountant) and reported in the reply metrics as ``dp-epsilon`` (per round) and
    ``dp-epsilon-total`` (this client so far). Works with any Flower strategy and, placed after
    :class:`HEMod` in ``mods=[...]``, before encryption.

    Parameters
    ----------
    clipping_norm : float
        L1 (Laplace) or L2 (Gaussian) bound of the update, finite, > 0.
    epsilon : float
        Privacy budget per round, finite, > 0.
    delta : float, default 0.0
        In [0, 1); > 0 for the Gaussian mechanism.
    mechanism : {"laplace", "gaussian"}
    accountant : diffprivlib.accountant.BudgetAccountant, optional
    random_state : None, int >= 0, RandomState or Generator

    Raises
    ------
    InvalidParameterError
        A parameter outside the constraints above.
    ValueError
        ``mechanism="gaussian"`` with ``delta = 0``; in a round, a message without exactly one
        ArrayRecord or a reply whose keys differ from the sent ones.
    BudgetError
        (diffprivlib) the accountant's budget is spent.
    """

    _parameter_constraints = {
        "clipping_norm": [Interval(numbers.Real, 0, float("inf"), closed="neither")],
        "epsilon": [Interval(numbers.Real, 0, float("inf"), closed="neither")],
        "delta": [Interval(numbers.Real, 0, 1, closed="left")],
        "mechanism": [Options(str, {"laplace", "gaussian"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        clipping_norm: float,
        epsilon: float,
        delta: float = 0.0,
        mechanism: str = "laplace",
        accountant: Any = None,
        random_state: Any = None,
    ) -> None:
        from diffprivlib.accountant import BudgetAccountant

        check_params(
            self,
            {"clipping_norm": clipping_norm, "epsilon": epsilon, "delta": delta,
             "mechanism": mechanism, "random_state": random_state},
            self._parameter_constraints,
        )  # fmt: skip
        if mechanism == "gaussian" and delta == 0:
            raise ValueError("the gaussian mechanism needs delta > 0")
        if accountant is not None and not isinstance(accountant, BudgetAccountant):
            raise TypeError("accountant must be a diffprivlib BudgetAccountant or None")
        self.clipping_norm, self.epsilon, self.delta = clipping_norm, epsilon, delta
        self.mechanism = mechanism
        sensitivity = 2.0 * clipping_norm
        if mechanism == "laplace":
            from ..mechanisms import SecureLaplace

            self._laplace = SecureLaplace(
                epsilon=epsilon,
                sensitivity=sensitivity,
                random_state=random_state,
                accountant=accountant,
            )
        else:
            from diffprivlib.mechanisms import GaussianAnalytic

            self._scale = GaussianAnalytic(
                epsilon=epsilon, delta=delta, sensitivity=sensitivity
            )._scale
            self._rng = np.random.default_rng(random_state)
            self._accountant = BudgetAccountant.load_default(accountant)

    def _noisy(self, update: np.ndarray) -> tuple[np.ndarray, float]:
        """The clipped update plus noise, and the update's norm before clipping."""
        laplace = self.mechanism == "laplace"
        norm = np.abs(update).sum() if laplace else np.linalg.norm(update)
        if norm > self.clipping_norm:
            update *= self.clipping_norm / norm
        if laplace:
            return self._laplace.randomise(update), norm  # checks and spends the budget itself
        self._accountant.check(self.epsilon, self.delta)
        noisy = update + self._rng.normal(0.0, self._scale, size=update.shape)
        self._accountant.spend(self.epsilon, self.delta)
        return noisy, norm

    def __call__(
        self, msg: Message, context: Context, call_next: Callable[[Message, Context], Message]
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
        noisy, norm = self._noisy(update)
        new, start = {}, 0
        for k, b in before.items():
            size = b.size
            new[k] = Array(
                (b.ravel() + noisy[start : start + size]).reshape(b.shape).astype(after[k].dtype)
            )
            start += size
        reply.content.array_records[out[0]] = ArrayRecord(new)
        state = context.state.metric_records.get("dp", MetricRecord({"epsilon-total": 0.0}))
        state["epsilon-total"] = float(state["epsilon-total"]) + self.epsilon
        context.state.metric_records["dp"] = state
        for record in reply.content.metric_records.values():
            record["dp-epsilon"] = float(self.epsilon)
            record["dp-epsilon-total"] = float(state["epsilon-total"])
            # no norm in the metrics: they travel in the clear and the update's norm is not
            # covered by the DP guarantee (it stays in the client's own log below)
        logger.info(
            "dp_mod: clipped update norm %.4g to %.4g, spent epsilon %.4g",
            norm,
            self.clipping_norm,
            self.epsilon,
        )
        return reply


#: The factory of earlier releases, now the class itself (a thin alias).
make_dp_mod = DPMod
