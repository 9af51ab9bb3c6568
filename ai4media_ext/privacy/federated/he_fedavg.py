"""HEFedAvg: weighted FedAvg over CKKS ciphertexts; the server adds, never decrypts."""

from __future__ import annotations

import json
import logging
import numbers
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..._compat import require

require("flwr", "fl")

from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MetricRecord  # noqa: E402
from flwr.serverapp import Grid  # noqa: E402
from flwr.serverapp.strategy import FedAvg  # noqa: E402

from ..._validation import Interval, check_params  # noqa: E402
from . import _ckks  # noqa: E402
from ._ckks import HEError, headroom, key_id, load_context, slot_count  # noqa: E402

# wire-format names, defined in the CKKS module (re-exported here for this release)
HE_RECORD, META_KEY, CHUNK_PREFIX = _ckks.HE_RECORD, _ckks.META_KEY, _ckks.CHUNK_PREFIX
WEIGHT_UNIT_KEY, KEY_ID_KEY = _ckks.WEIGHT_UNIT_KEY, _ckks.KEY_ID_KEY

logger = logging.getLogger(__name__)
_FINITE_POSITIVE = Interval(numbers.Real, 0, float("inf"), closed="neither")


class HEFedAvg(FedAvg):
    """Federated averaging of CKKS-encrypted model weights (TenSEAL), Flower Message API.

    Clients (through :func:`~ai4media_ext.privacy.federated.make_he_mod`) multiply their
    flattened weights by ``num-examples / weight_unit``, encrypt them as ceil(P / (N/2)) CKKS
    vectors and reply with the serialised ciphertexts in a ``ConfigRecord``; the reply carries no
    plaintext weights. The server holds only the public context (checked: a context with a
    secret key is refused), adds the ciphertexts of every valid reply and returns the encrypted
    sum plus the total weight as an ``ArrayRecord`` of bytes; clients decrypt and divide. No
    plaintext multiplication is needed, so one data prime suffices (see ``DEFAULT_PARAMS``).

    Who sees what (single key shared by every client; compare :class:`SecAggPlus`,
    :class:`HESecAggPlus` and the README's threat-model table):

    ==================  =====================================  ================
    party               individual update                      sum / model
    ==================  =====================================  ================
    server              no (ciphertexts)                       no (ciphertexts)
    one client          no (never receives another's)          yes
    server + 1 client   yes (the client decrypts any reply)    yes
    ==================  =====================================  ================

    A reply that is malformed, encrypted under other keys or parameters, or of the wrong size
    is rejected and logged (``rejected_``), and the round completes with the others; failed or
    dropped clients simply do not contribute.

    Overflow: CKKS decodes a sum exactly only while every slot of the sum stays within the
    context's headroom H (2^19 for ``DEFAULT_PARAMS``; :func:`headroom`). Clients refuse to
    encrypt a value with ``|w| > value_bound``; before adding, the server checks
    ``sum_k num_examples_k / weight_unit * value_bound <= H`` over the accepted replies and
    otherwise raises :class:`HEError` naming the ``weight_unit`` that would fit, so the
    aggregate is either exact or refused, never silently wrong (issue 15, item 1).

    Parameters
    ----------
    public_context : bytes
        Serialised TenSEAL context without the secret key (``server_context.bin``).
    weight_unit : float, default 1024
        Clients scale by ``num-examples / weight_unit`` so the encrypted sums stay within the
        CKKS integer headroom (finite, > 0).
    value_bound : float, default 1000
        Declared bound on every plain model value ``|w|`` (weights, biases, BatchNorm
        statistics) that clients may send (finite, > 0).
    **kwargs
        Passed to :class:`flwr.serverapp.strategy.FedAvg` (``fraction_train``,
        ``min_available_nodes``, ``weighted_by_key``, ...).
    """

    _parameter_constraints = {
        "public_context": [bytes, bytearray],
        "weight_unit": [_FINITE_POSITIVE],
        "value_bound": [_FINITE_POSITIVE],
    }

    def __init__(
        self,
        public_context: bytes,
        *,
        weight_unit: float = 1024.0,
        value_bound: float = 1000.0,
        **kwargs: Any,
    ) -> None:
        check_params(
            self,
            {"public_context": public_context, "weight_unit": weight_unit,
             "value_bound": value_bound},
            self._parameter_constraints,
        )  # fmt: skip
        super().__init__(**kwargs)
        self._context = load_context(bytes(public_context), expect_secret=False)
        self.weight_unit = float(weight_unit)
        self.value_bound = float(value_bound)
        self.headroom = headroom(self._context)
        self.key_id = key_id(self._context)
        self.slots = slot_count(self._context)
        self.rejected_: list[dict[str, Any]] = []

    @property
    def has_secret_key(self) -> bool:
        return bool(self._context.is_private())

    def summary(self) -> None:
        super().summary()
        logger.info(
            "HEFedAvg: CKKS, %d slots per ciphertext, key id %s, server keyless",
            self.slots,
            self.key_id,
        )

    def _with_he_config(self, config: ConfigRecord) -> ConfigRecord:
        config[WEIGHT_UNIT_KEY] = self.weight_unit
        config[KEY_ID_KEY] = self.key_id
        config[_ckks.VALUE_BOUND_KEY] = self.value_bound
        return config

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        return super().configure_train(server_round, arrays, self._with_he_config(config), grid)

    def configure_evaluate(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        return super().configure_evaluate(server_round, arrays, self._with_he_config(config), grid)

    def _parse(self, msg: Message, expected: dict[str, Any]) -> tuple[list[Any], float, str]:
        """The ciphertexts, weight and structure of one reply, or :class:`HEError`."""
        content = msg.content
        if HE_RECORD not in content.config_records:
            raise HEError(f"no '{HE_RECORD}' ConfigRecord (plaintext or malformed reply)")
        if content.array_records:
            raise HEError("reply carries plaintext arrays next to the ciphertexts")
        cfg = content.config_records[HE_RECORD]
        if cfg.get("key-id") != self.key_id:
            raise HEError(f"encrypted under key {cfg.get('key-id')!r}, expected {self.key_id!r}")
        metrics = [r for r in content.metric_records.values() if self.weighted_by_key in r]
        if len(metrics) != 1:
            raise HEError(f"needs one MetricRecord with {self.weighted_by_key!r}")
        n = metrics[0][self.weighted_by_key]
        if not isinstance(n, int | float) or not 0 < n < float("inf"):
            raise HEError(f"{self.weighted_by_key} must be > 0, got {n!r}")
        spec = cfg.get("structure")
        chunks = cfg.get("ciphertexts")
        if not isinstance(spec, str) or not isinstance(chunks, list) or not chunks:
            raise HEError("'structure' (str) and 'ciphertexts' (list of bytes) are required")
        size = sum(int(np.prod(shape, dtype=np.int64)) for _, shape, _ in json.loads(spec))
        if expected and spec != expected["structure"]:
            raise HEError("model structure differs from the other replies")
        if len(chunks) != -(-size // self.slots):
            raise HEError(f"{len(chunks)} ciphertexts for {size} values ({self.slots} slots each)")
        import tenseal as ts

        vectors = []
        for i, blob in enumerate(chunks):
            if not isinstance(blob, bytes):
                raise HEError(f"ciphertext {i} is not bytes")
            try:
                v = ts.ckks_vector_from(self._context, blob)
            except Exception as exc:  # SEAL refuses other parameters / corrupted data
                raise HEError(
                    f"ciphertext {i} does not load under the server context ({exc})"
                ) from exc
            want = min(self.slots, size - i * self.slots)
            if v.size() != want:
                raise HEError(f"ciphertext {i} holds {v.size()} values, expected {want}")
            vectors.append(v)
        return vectors, float(n) / self.weight_unit, spec

    def required_weight_unit(self, total_examples: float) -> float:
        """Smallest ``weight_unit`` whose encrypted sum over clients holding ``total_examples``
        examples in all stays within the headroom for values bounded by ``value_bound``."""
        return float(total_examples) * self.value_bound / self.headroom

    def _check_headroom(self, server_round: int, weight: float) -> None:
        """Refuse a sum that could exceed the CKKS headroom (it would decrypt wrong, silently)."""
        bound = weight * self.value_bound
        if bound > self.headroom:
            raise HEError(
                f"HEFedAvg round {server_round}: the encrypted sum of the accepted replies may "
                f"reach {bound:.4g} (sum of num-examples / weight_unit = {weight:.4g}, times "
                f"value_bound = {self.value_bound:.4g}), above the CKKS headroom "
                f"{self.headroom:.4g}, and would decrypt wrong; use "
                f"weight_unit >= {self.required_weight_unit(weight * self.weight_unit):.4g}"
            )

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        start = time.perf_counter()
        valid, _ = self._check_and_log_replies(replies, is_train=True, validate=False)
        total: list[Any] | None = None
        weight, accepted, expected = 0.0, [], {}
        for msg in valid:
            try:
                vectors, w, spec = self._parse(msg, expected)
            except (HEError, ValueError, TypeError) as exc:
                node = msg.metadata.src_node_id
                logger.warning(
                    "HEFedAvg round %d: rejected reply of node %s: %s", server_round, node, exc
                )
                self.rejected_.append({"round": server_round, "node": node, "reason": str(exc)})
                continue
            expected["structure"] = spec
            # added as they come (memory: one running sum); refused below before it is used
            total = vectors if total is None else _ckks.sum_ciphertexts([total, vectors])
            weight += w
            accepted.append(msg)
        self._check_headroom(server_round, weight)
        if total is None:
            logger.warning("HEFedAvg round %d: no valid encrypted reply", server_round)
            return None, None
        meta = json.dumps(
            {"key-id": self.key_id, "structure": expected["structure"], "total-weight": weight}
        )
        record = {META_KEY: Array(np.frombuffer(meta.encode(), dtype=np.uint8).copy())}
        for i, v in enumerate(total):
            record[f"{CHUNK_PREFIX}{i:05d}"] = Array(
                np.frombuffer(v.serialize(), dtype=np.uint8).copy()
            )
        metrics = self.train_metrics_aggr_fn([m.content for m in accepted], self.weighted_by_key)
        metrics = MetricRecord(dict(metrics or {}))
        metrics["he-aggregate-seconds"] = time.perf_counter() - start
        metrics["he-accepted"] = len(accepted)
        metrics["he-rejected"] = len(valid) - len(accepted)
        return ArrayRecord(record), metrics
