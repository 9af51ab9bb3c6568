"""SecAgg+ masked vectors under a shared BFV key (TenSEAL): neither the server alone (it sees
ciphertexts and mask material, not even the sum) nor the server plus one key-holding client
(it can decrypt masked vectors, which reveal only the sum) sees an individual update.

Construction: each client's SecAgg+ vector ``y_u = q(w_u x_u) + mask_u (mod 2^32)``
(:class:`SecAggPlusMod`) is encrypted as BFV integer slots with a 43-bit plain modulus
``t = 4398046568449`` (prime, ``t = 1 mod 2N`` for batching, N = 4096), so that the encrypted
integer sum of up to ``n < t / 2^33 = 511`` vectors never wraps mod ``t``. The server adds the
ciphertexts (keyless), runs SecAgg+'s unmask stage to compute the mask correction
``R = -sum of masks (mod 2^32)`` and returns ``Enc(sum y)`` with ``R``; clients decrypt and take
``(sum y + R) mod 2^32``, the quantised weighted sum. ``R`` depends only on mask seeds and keys.
Mask arithmetic stays in Flower's modulus 2^32; BFV only has to add integers exactly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
from flwr.app import Array, ArrayRecord, Context, Message, MetricRecord, RecordDict

from ..._validation import check_params
from . import _ckks
from . import _secagg as sa
from ._ckks import HEError, key_id, load_context
from ._secagg import RECORD_KEY_CONFIGS, Key, SecAggError
from .secaggplus import SecAggPlus
from .secaggplus_mod import SecAggPlusMod

#: BFV parameters: N = 4096 (SEAL's default 109-bit coefficient modulus), plain modulus a
#: 43-bit prime = 1 mod 8192 (batching); noise budget left after 500 additions: > 20 bits
BFV_PARAMS = {"poly_modulus_degree": 4096, "plain_modulus": 4398046568449}
META = sa.HE_META
CORRECTION = "he-secagg-correction"
CHUNK = "he-secagg-bfv-"


def make_bfv_context() -> Any:
    """A fresh BFV context with the secret key (:data:`BFV_PARAMS`); share it with the clients
    only. ``_ckks.public_bytes(ctx)`` gives the server's keyless copy."""
    import tenseal as ts

    return ts.context(ts.SCHEME_TYPE.BFV, **BFV_PARAMS)


def _load(data: bytes, secret: bool) -> Any:
    """The context, checked to be BFV (and, with the secret key, to add integers below 2^41
    exactly, i.e. a plain modulus as large as :data:`BFV_PARAMS`'s)."""
    import tenseal as ts

    ctx = load_context(bytes(data), expect_secret=secret)
    probe = [2**40 + 12345, 7]
    try:
        vec = ts.bfv_vector(ctx.copy(), probe)  # encrypting changes the serialisation
        ok = not secret or vec.decrypt() == probe
    except Exception:  # a CKKS context refuses BFV vectors
        ok = False
    if not ok:
        raise HEError("not a BFV context with a plain modulus >= BFV_PARAMS['plain_modulus']")
    return ctx


def decrypt_aggregate(
    record: ArrayRecord, secret_context: Any, *, expected_key_id: str | None = None
) -> ArrayRecord:
    """The weighted mean from an :class:`HESecAggPlus` aggregate (needs the secret key).
    ``expected_key_id``: the context's :func:`key_id` taken when it was loaded (TenSEAL's
    serialisation, hence the id, changes once a context has loaded or encrypted a vector, so
    pass it for a context used more than once).

    Raises
    ------
    HEError
        Encrypted under another key.
    """
    import tenseal as ts

    meta = json.loads(bytes(record[META].numpy()).decode())
    if meta["key-id"] != (expected_key_id or key_id(secret_context)):
        raise HEError(f"aggregate encrypted under key {meta['key-id']}, not this client's")
    names = sorted(k for k in record if k.startswith(CHUNK))
    sums = np.concatenate([
        np.asarray(ts.bfv_vector_from(secret_context, bytes(record[k].numpy())).decrypt(),
                   dtype=np.int64) for k in names
    ])  # fmt: skip
    total = (sums + record[CORRECTION].numpy().astype(np.int64)) % meta["modulus"]
    q, factor = meta["quantization"], int(total[0])
    values = sa.dequantize(total[1:], meta["n"], meta["clipping"], q) * (q / factor)
    return ArrayRecord({k: Array(a) for k, a in sa.unflatten(values, meta["structure"])})


class HESecAggPlus(SecAggPlus):
    """:class:`SecAggPlus` whose masked vectors travel and are added as BFV ciphertexts
    under a key shared by the clients (server keyless); clients use :class:`HESecAggPlusMod`.

    The aggregate is released to the clients only: ``aggregate_train`` returns the encrypted
    sum and the mask correction (an ``ArrayRecord`` that :func:`decrypt_aggregate` and the
    client mod turn into the weighted mean); the wrapped strategy contributes its metric
    aggregation (``train_metrics_aggr_fn``) and its sampling / evaluation, not its
    ``aggregate_train``. Who sees what (``t`` = reconstruction threshold):

    ======================  =================  =========================  =====
    party                   individual update  sum / model                masks
    ======================  =================  =========================  =====
    server                  no                 no (ciphertexts only)      yes
    one client              no                 yes                        no
    server + 1 client       no (masked)        yes                        yes
    server + t clients      yes                yes                        yes
    ======================  =================  =========================  =====

    Parameters
    ----------
    strategy : flwr.serverapp.strategy.Strategy
        A FedAvg-like strategy (``weighted_by_key``, ``train_metrics_aggr_fn``).
    public_context : bytes
        The serialised BFV context without the secret key.
    **kwargs
        :class:`SecAggPlus`'s parameters.

    Raises
    ------
    HEError
        ``public_context`` holds the secret key or is not a :data:`BFV_PARAMS` context.
    SecAggError
        (``on_abort="raise"``) a round with ``n * modulus_range >= t / 2`` clients, or any
        :class:`SecAggPlus` abort.
    """

    _parameter_constraints = {**SecAggPlus._parameter_constraints, "public_context": [bytes]}

    def __init__(self, strategy: Any, public_context: bytes, **kwargs: Any) -> None:
        check_params(self, {"public_context": public_context}, self._parameter_constraints)
        super().__init__(strategy, **kwargs)
        self._ctx = _load(public_context, secret=False)
        self.key_id = key_id(self._ctx)
        self.slots = BFV_PARAMS["poly_modulus_degree"]

    def _setup(self, rnd: int, nodes: list[int], arrays: ArrayRecord) -> set[int]:
        if 2 * len(nodes) * self.modulus_range >= BFV_PARAMS["plain_modulus"]:
            raise SecAggError(
                f"{len(nodes)} clients: the encrypted sum could wrap the BFV plain modulus"
            )
        return super()._setup(rnd, nodes, arrays)

    def _add_vector(self, total: Any, msg: Message) -> Any:
        import tenseal as ts

        st = self._round
        rec = msg.content.config_records.get(RECORD_KEY_CONFIGS)
        if rec is None or msg.content.array_records or rec.get(sa.STRUCTURE) != st["structure"]:
            raise SecAggError("no ciphertexts, plaintext arrays beside them, or another layout")
        if rec.get("key-id") != self.key_id:
            raise SecAggError(f"encrypted under key {rec.get('key-id')!r}, not {self.key_id!r}")
        if sum(self.weighted_by_key in r for r in msg.content.metric_records.values()) != 1:
            raise SecAggError(f"needs one MetricRecord with {self.weighted_by_key!r}")
        blobs = rec.get(Key.MASKED_PARAMETERS)
        if not isinstance(blobs, list) or len(blobs) != -(-st["size"] // self.slots):
            raise SecAggError("wrong number of BFV ciphertexts")
        vectors = []
        for i, blob in enumerate(blobs):
            try:
                vec = ts.bfv_vector_from(self._ctx, blob)
            except Exception as exc:  # SEAL refuses other parameters / corrupted data
                raise SecAggError(f"ciphertext {i} does not load ({exc})") from exc
            if vec.size() != min(self.slots, st["size"] - i * self.slots):
                raise SecAggError(f"ciphertext {i} holds {vec.size()} values")
            vectors.append(vec)
        return vectors if total is None else [a + b for a, b in zip(total, vectors, strict=True)]

    def _release(self, st: dict, total: Any, correction: np.ndarray, n_alive: int) -> ArrayRecord:
        meta = {"key-id": self.key_id, "structure": st["structure"], "n": n_alive,
                "clipping": float(self.clipping_range), "modulus": int(self.modulus_range),
                "quantization": int(self.quantization_range)}  # fmt: skip
        record = {META: Array(np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8).copy()),
                  CORRECTION: Array(correction.copy())}  # fmt: skip
        for i, vec in enumerate(total):
            record[f"{CHUNK}{i:05d}"] = Array(np.frombuffer(vec.serialize(), np.uint8).copy())
        return ArrayRecord(record)

    def _aggregate(
        self, rnd: int, record: ArrayRecord, accepted: list[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        aggr = getattr(self.strategy, "train_metrics_aggr_fn", None)
        metrics = aggr([m.content for m in accepted], self.weighted_by_key) if aggr else None
        return record, MetricRecord(dict(metrics or {}))


class HESecAggPlusMod(SecAggPlusMod):
    """Client mod for :class:`HESecAggPlus`: SecAgg+ as :class:`SecAggPlusMod`, the masked
    vector encrypted under the shared BFV key; incoming encrypted aggregates (train and
    evaluate messages) are decrypted into the weighted mean before the ClientApp sees them.

    Parameters
    ----------
    secret_context : bytes
        The serialised BFV context with the secret key (:func:`make_bfv_context`).
    random_state : None, int >= 0, RandomState or Generator

    Raises
    ------
    HEError
        At construction: no secret key or not a :data:`BFV_PARAMS` context; in a round: an
        aggregate under another key.
    """

    _parameter_constraints = {**SecAggPlusMod._parameter_constraints, "secret_context": [bytes]}

    def __init__(self, secret_context: bytes, *, random_state: Any = None) -> None:
        check_params(self, {"secret_context": secret_context}, self._parameter_constraints)
        super().__init__(random_state=random_state)
        self._ctx = _load(secret_context, secret=True)
        self.key_id = key_id(self._ctx)

    def __call__(
        self, msg: Message, context: Context, call_next: Callable[[Message, Context], Message]
    ) -> Message:
        encrypted = [k for k, r in msg.content.array_records.items() if META in r]
        if encrypted:
            content = RecordDict(dict(msg.content.items()))  # never edit the sender's content
            for name in encrypted:
                content[name] = decrypt_aggregate(
                    msg.content.array_records[name], self._ctx, expected_key_id=self.key_id
                )
            msg = Message(content=content, metadata=msg.metadata)
        return super().__call__(msg, context, call_next)

    def _collect(self, state: Any, configs: Any, out: RecordDict) -> dict:
        import tenseal as ts

        res = super()._collect(state, configs, out)
        vec = np.frombuffer(res[Key.MASKED_PARAMETERS], dtype="<u4").astype(np.int64)
        n = BFV_PARAMS["poly_modulus_degree"]
        res[Key.MASKED_PARAMETERS] = [
            ts.bfv_vector(self._ctx, vec[i : i + n].tolist()).serialize()
            for i in range(0, vec.size, n)
        ]
        res["key-id"] = self.key_id
        return res


__all__ = [
    "BFV_PARAMS",
    "HESecAggPlus",
    "HESecAggPlusMod",
    "decrypt_aggregate",
    "make_bfv_context",
    "public_bytes",
]
public_bytes = _ckks.public_bytes
