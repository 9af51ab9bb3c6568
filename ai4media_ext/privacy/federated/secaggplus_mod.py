"""Client side of SecAgg+ for Message-API strategies (pairs with :class:`SecAggPlus`).

Follows the stages of Flower's legacy ``flwr.client.mod.secaggplus_mod`` (setup, share keys,
collect masked vectors, unmask) with Flower's key agreement, Fernet and Shamir primitives; see
:mod:`._secagg` for the PRG and the extra checks."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from flwr.app import ConfigRecord, Context, Message, MessageType, RecordDict
from flwr.common.secure_aggregation.crypto.symmetric_encryption import (
    decrypt,
    encrypt,
    generate_shared_key,
)
from flwr.common.secure_aggregation.secaggplus_utils import (
    share_keys_plaintext_concat,
    share_keys_plaintext_separate,
)
from flwr.supercore.primitives.asymmetric import (
    bytes_to_private_key,
    bytes_to_public_key,
    generate_key_pairs,
    private_key_to_bytes,
    public_key_to_bytes,
)

from ..._validation import check_params
from . import _secagg as sa
from ._secagg import RECORD_KEY_CONFIGS, Key, SecAggError, Stage

STATE_KEY = "ai4media-secaggplus-state"
_SETUP_TYPES = {
    Key.SAMPLE_NUMBER: int, Key.SHARE_NUMBER: int, Key.THRESHOLD: int,
    Key.CLIPPING_RANGE: float, Key.TARGET_RANGE: int, Key.MOD_RANGE: int,
    Key.MAX_WEIGHT: float, "weighted_by_key": str,
}  # fmt: skip


def _pairs(state: ConfigRecord, name: str) -> dict[int, Any]:
    return dict(zip(state.get(f"{name}:K", []), state.get(f"{name}:V", []), strict=True))


def _store(state: ConfigRecord, name: str, items: dict[int, Any]) -> None:
    state[f"{name}:K"] = [int(k) for k in items]
    state[f"{name}:V"] = list(items.values())


class SecAggPlusMod:
    """Flower client mod running SecAgg+ (Bell et al. 2020) with :class:`SecAggPlus` servers.

    Put it first in ``ClientApp(mods=[SecAggPlusMod(), ...])`` so that DP mods (``DPMod``,
    ``DistributedDPMod``) act on the update before it is masked. Train messages of the stages
    setup, share keys and unmask are answered by the mod itself; the collect-masked-vectors
    message reaches the ClientApp unchanged (the protocol record removed), and the reply's
    arrays are replaced by one masked ``uint32`` vector ``[weight factor, weighted parameters]``
    in the ``"secaggplus_configs"`` ConfigRecord. Evaluate and query messages pass through.

    Parameters
    ----------
    random_state : None, int >= 0, RandomState or Generator
        Seeds the stochastic rounding only (keys, seeds and masks always come from the OS's
        CSPRNG).

    Raises
    ------
    SecAggError
        (inside a round, returned to the server as the reply's error) a stage out of order, a
        malformed or missing protocol field, own public keys misreported, duplicate keys, fewer
        neighbours than the threshold, a share ciphertext that fails authentication or names
        another sender/recipient, a request to reveal both the mask seed share and the key
        share of one node, or a weight above the server's ``max_weight``.
    """

    _parameter_constraints = {"random_state": ["random_state"]}

    def __init__(self, *, random_state: Any = None) -> None:
        check_params(self, {"random_state": random_state}, self._parameter_constraints)
        self.random_state = random_state
        self._rng = np.random.default_rng(random_state)

    def __call__(
        self, msg: Message, context: Context, call_next: Callable[[Message, Context], Message]
    ) -> Message:
        if (
            msg.metadata.message_type != MessageType.TRAIN
            or RECORD_KEY_CONFIGS not in msg.content.config_records
        ):
            return call_next(msg, context)
        configs = msg.content.config_records[RECORD_KEY_CONFIGS]
        state = context.state.config_records.get(STATE_KEY, ConfigRecord({"stage": Stage.UNMASK}))
        stage = configs.get(Key.STAGE)
        expected = Stage.all()[(Stage.all().index(state["stage"]) + 1) % 4]
        if stage != Stage.SETUP and stage != expected:
            raise SecAggError(f"SecAgg+ stage {stage!r} received, expected {expected!r}")
        out = RecordDict()
        if stage == Stage.SETUP:
            state = ConfigRecord({"stage": Stage.SETUP, "nid": int(msg.metadata.dst_node_id)})
            res = self._setup(state, configs)
        elif stage == Stage.SHARE_KEYS:
            res = self._share_keys(state, configs)
        elif stage == Stage.COLLECT_MASKED_VECTORS:
            floor = configs.get(sa.MIN_SURVIVORS)
            if type(floor) is not int or floor < state[Key.THRESHOLD]:
                raise SecAggError("collect: min_survivors must be an int >= the threshold")
            state[sa.MIN_SURVIVORS] = floor  # read by DistributedDPMod (noise per client)
            context.state.config_records[STATE_KEY] = state
            stripped = RecordDict({k: v for k, v in msg.content.items() if k != RECORD_KEY_CONFIGS})
            try:
                reply = call_next(Message(content=stripped, metadata=msg.metadata), context)
            finally:  # the floor holds for this collect stage only (DistributedDPMod reads it)
                state.pop(sa.MIN_SURVIVORS, None)
                context.state.config_records[STATE_KEY] = state
            if reply.has_error():
                return reply
            out = reply.content
            res = self._collect(state, configs, out)
        else:
            res = self._unmask(state, configs)
        state["stage"] = stage
        context.state.config_records[STATE_KEY] = state
        out.config_records[RECORD_KEY_CONFIGS] = ConfigRecord(res, False)
        return Message(out, reply_to=msg)

    @staticmethod
    def _setup(state: ConfigRecord, configs: ConfigRecord) -> dict[str, Any]:
        for key, kind in _SETUP_TYPES.items():
            if type(configs.get(key)) is not kind:
                raise SecAggError(f"setup: {key!r} must be a {kind.__name__}")
            state[key] = configs[key]
        mod = state[Key.MOD_RANGE]
        if not (0 < mod <= 2**32 and mod & (mod - 1) == 0) or state[Key.TARGET_RANGE] >= mod:
            raise SecAggError("setup: modulus_range must be a power of two <= 2^32 above Q")
        if not 1 <= state[Key.THRESHOLD] <= state[Key.SHARE_NUMBER]:
            raise SecAggError("setup: need 1 <= reconstruction threshold <= num_shares")
        sk1, pk1 = generate_key_pairs()
        sk2, pk2 = generate_key_pairs()
        state["sk1"], state["pk1"] = private_key_to_bytes(sk1), public_key_to_bytes(pk1)
        state["sk2"], state["pk2"] = private_key_to_bytes(sk2), public_key_to_bytes(pk2)
        return {Key.PUBLIC_KEY_1: state["pk1"], Key.PUBLIC_KEY_2: state["pk2"]}

    @staticmethod
    def _share_keys(state: ConfigRecord, configs: ConfigRecord) -> dict[str, Any]:
        keys: dict[int, tuple[bytes, bytes]] = {}
        for sid, value in configs.items():
            if sid == Key.STAGE:
                continue
            if not (isinstance(value, list) and len(value) == 2
                    and all(isinstance(v, bytes) for v in value)):  # fmt: skip
                raise SecAggError(f"share keys: entry {sid!r} is not two public keys")
            keys[int(sid)] = (value[0], value[1])
        nid = state["nid"]
        if keys.get(nid) != (state["pk1"], state["pk2"]):
            raise SecAggError("share keys: this client's public keys are misreported")
        flat = [k for pair in keys.values() for k in pair]
        if len(set(flat)) != len(flat):
            raise SecAggError("share keys: duplicate public keys")
        if len(keys) < state[Key.THRESHOLD]:
            raise SecAggError("share keys: fewer neighbours than the reconstruction threshold")
        seed = os.urandom(32)
        seed_shares = sa.create_shares(seed, state[Key.THRESHOLD], len(keys))
        sk1_shares = sa.create_shares(
            sa.scalar_bytes(state["sk1"]), state[Key.THRESHOLD], len(keys)
        )
        sk2 = bytes_to_private_key(state["sk2"])
        dsts, ctxts, own = [], [], {}
        for idx, (other, (_, pk2)) in enumerate(keys.items()):
            if other == nid:
                own = {"seed": seed_shares[idx], "sk1": sk1_shares[idx]}
                continue
            shared = generate_shared_key(sk2, bytes_to_public_key(pk2))
            plain = share_keys_plaintext_concat(nid, other, seed_shares[idx], sk1_shares[idx])
            dsts.append(other)
            ctxts.append(encrypt(shared, plain))
        state["rd_seed"] = seed
        _store(state, "pk1", {k: v[0] for k, v in keys.items()})
        _store(state, "pk2", {k: v[1] for k, v in keys.items()})
        _store(state, "seed_shares", {nid: own["seed"]})
        _store(state, "sk1_shares", {nid: own["sk1"]})
        return {Key.DESTINATION_LIST: dsts, Key.CIPHERTEXT_LIST: ctxts,
                sa.COMMITMENT: sa.commitment(seed)}  # fmt: skip

    def _receive_shares(self, state: ConfigRecord, configs: ConfigRecord) -> list[int]:
        srcs, ctxts = configs.get(Key.SOURCE_LIST), configs.get(Key.CIPHERTEXT_LIST)
        if not (isinstance(srcs, list) and isinstance(ctxts, list) and len(srcs) == len(ctxts)):
            raise SecAggError("collect: 'srcs' and 'ctxts' must be lists of equal length")
        if len(srcs) + 1 < state[Key.THRESHOLD]:
            raise SecAggError("collect: fewer neighbours than the reconstruction threshold")
        pk2s, nid = _pairs(state, "pk2"), state["nid"]
        seed_shares, sk1_shares = _pairs(state, "seed_shares"), _pairs(state, "sk1_shares")
        sk2 = bytes_to_private_key(state["sk2"])
        for src, ctxt in zip(srcs, ctxts, strict=True):
            if src not in pk2s or src == nid or src in seed_shares:
                raise SecAggError(f"collect: share from unexpected or repeated node {src}")
            try:
                plain = decrypt(generate_shared_key(sk2, bytes_to_public_key(pk2s[src])), ctxt)
            except Exception as exc:  # Fernet InvalidToken / bad type: tampered or malformed
                raise SecAggError(f"collect: share ciphertext from {src} rejected") from exc
            actual, dst, seed_share, sk1_share = share_keys_plaintext_separate(plain)
            if actual != src or dst != nid:
                raise SecAggError(f"collect: share from {src} names {actual} -> {dst}")
            seed_shares[src], sk1_shares[src] = seed_share, sk1_share
        _store(state, "seed_shares", seed_shares)
        _store(state, "sk1_shares", sk1_shares)
        return list(srcs)

    def _collect(self, state: ConfigRecord, configs: ConfigRecord, out: RecordDict) -> dict:
        start = time.perf_counter()
        peers = self._receive_shares(state, configs)
        key = state["weighted_by_key"]
        records = [r for r in out.metric_records.values() if key in r]
        if len(out.array_records) != 1 or len(records) != 1:
            raise SecAggError(f"collect: the reply needs one ArrayRecord and one {key!r} metric")
        weight = float(records[0][key])
        if not 0 < weight <= state[Key.MAX_WEIGHT]:
            raise SecAggError(f"collect: weight {weight} outside (0, max_weight]")
        name, record = next(iter(out.array_records.items()))
        arrays = [(k, v.numpy()) for k, v in record.items()]
        flat = np.concatenate([a.astype(np.float64).ravel() for _, a in arrays])
        q_range, mod = state[Key.TARGET_RANGE], state[Key.MOD_RANGE]
        q_ratio = round(weight / state[Key.MAX_WEIGHT] * q_range)
        vec = np.empty(flat.size + 1, dtype=np.uint32)
        vec[0] = q_ratio
        vec[1:] = sa.quantize(flat * (q_ratio / q_range), state[Key.CLIPPING_RANGE], q_range,
                              self._rng)  # fmt: skip
        vec += sa.mask(state["rd_seed"], vec.size, mod)
        sk1, pk1s, nid = bytes_to_private_key(state["sk1"]), _pairs(state, "pk1"), state["nid"]
        for peer in peers:
            pair = sa.mask(generate_shared_key(sk1, bytes_to_public_key(pk1s[peer])), vec.size, mod)
            if nid > peer:  # uint32 wrap-around: arithmetic mod 2^32
                vec += pair
            else:
                vec -= pair
        sa.reduce(vec, mod)
        del out[name]
        records[0]["secagg-mask-seconds"] = time.perf_counter() - start
        records[0]["secagg-bytes"] = 4 * vec.size
        return {Key.MASKED_PARAMETERS: vec.astype("<u4").tobytes(),
                sa.STRUCTURE: sa.structure(arrays)}  # fmt: skip

    @staticmethod
    def _unmask(state: ConfigRecord, configs: ConfigRecord) -> dict[str, Any]:
        active, dead = configs.get(Key.ACTIVE_NODE_ID_LIST), configs.get(Key.DEAD_NODE_ID_LIST)
        if not (isinstance(active, list) and isinstance(dead, list)):
            raise SecAggError("unmask: active and dead node lists are required")
        if set(active) & set(dead):
            raise SecAggError("unmask: a node cannot be both active and dropped")
        if len(active) < state[Key.THRESHOLD]:
            raise SecAggError("unmask: fewer active neighbours than the threshold")
        seed_shares, sk1_shares = _pairs(state, "seed_shares"), _pairs(state, "sk1_shares")
        if any(n not in seed_shares for n in active + dead):
            raise SecAggError("unmask: shares requested for nodes this client holds none of")
        return {Key.NODE_ID_LIST: active + dead,
                Key.SHARE_LIST: [seed_shares[n] for n in active] + [sk1_shares[n] for n in dead]}  # fmt: skip
