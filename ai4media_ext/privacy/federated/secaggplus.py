"""SecAgg+ for Flower's Message-API strategies: a wrapper that makes any weighted-mean strategy
(``FedAvg``, ``FedAvgM``, ``FedProx``, ``FedAdam``, ...) aggregate masked updates."""

from __future__ import annotations

import logging
import numbers
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..._compat import require

require("flwr", "fl")
from flwr.app import (  # noqa: E402
    Array,
    ArrayRecord,
    ConfigRecord,
    Message,
    MessageType,
    MetricRecord,
    RecordDict,
)
from flwr.serverapp import Grid  # noqa: E402
from flwr.serverapp.strategy import Strategy  # noqa: E402
from flwr.supercore.primitives.asymmetric import bytes_to_public_key  # noqa: E402

from ..._validation import Interval, Options, check_params  # noqa: E402
from . import _secagg as sa  # noqa: E402
from ._secagg import RECORD_KEY_CONFIGS, Key, SecAggError, Stage  # noqa: E402

logger = logging.getLogger(__name__)
_POSITIVE = Interval(numbers.Real, 0, float("inf"), closed="neither")


def _COUNT_OR_FRACTION(low: int) -> list:  # noqa: N802 (a constraint list, like _POSITIVE)
    return [Interval(numbers.Integral, low, None, closed="left"), _FRACTION]


_FRACTION = Interval(numbers.Real, 0, 1, closed="right")
_POWERS_OF_TWO = Options(numbers.Integral, {2**k for k in range(2, 33)})


class SecAggPlus(Strategy):
    """Secure aggregation (SecAgg+, Bell et al., CCS 2020) around a Message-API strategy.

    Each round runs the four stages of Flower's legacy ``SecAggPlusWorkflow`` through the
    ``Grid``: *setup* (parameters out, two ECDH public keys back), *share keys* (Shamir shares
    of each client's mask seed and first private key, encrypted per neighbour), *collect
    masked vectors* (the wrapped strategy's train messages + forwarded shares out;
    ``[w, w * weights]`` quantised to ``[0, Q]`` plus private and pairwise masks mod
    ``modulus_range`` back), *unmask* (survivors' seed shares, dropped clients' key shares).
    The server learns only the sum; the wrapped strategy aggregates replies that all carry
    the weighted mean (it sees no individual update). Clients use :class:`SecAggPlusMod`.

    Dropouts (failed or rejected clients): the exact sum of the survivors while each keeps
    ``reconstruction_threshold`` live neighbours and ``min_survivors`` survive (all
    neighbours, ``num_shares = 1.0``: up to ``n - threshold`` dropouts); otherwise the round
    aborts: model unchanged, reason logged and in ``aborted_`` (raised with
    ``on_abort="raise"``). Malformed keys, share lists and masked vectors (size, range, model
    layout) go to ``rejected_``; reconstructed secrets are verified (seeds against a SHA-256
    commitment, keys against the public key): a wrong share is outvoted or the round aborts.

    What each party sees (semi-honest, ``t = reconstruction_threshold``):

    ======================  ===========================  ===========
    party                   individual update            sum / model
    ======================  ===========================  ===========
    server                  no (uniform masked vectors)  yes
    one client              no                           yes
    server + k < t clients  no                           yes
    server + t clients      yes (any client's)           yes
    ======================  ===========================  ===========

    Metrics (``num-examples``, losses) travel in the clear, as in Flower's workflow.

    Parameters
    ----------
    strategy : flwr.serverapp.strategy.Strategy
        The wrapped strategy; its ``aggregate_train`` must be a weighted mean (FedAvg family).
    num_shares : int > 2 or float in (0, 1], default 1.0
        Neighbours per client (itself included); a float is a fraction of the sampled
        clients (1.0: SecAgg, everybody shares with everybody). As Flower's workflow.
    reconstruction_threshold : int >= 2 or float in (0, 1], default 0.5
        Shares needed to reconstruct a secret; a float is a fraction of ``num_shares``.
    max_weight : float, default 1000
        Largest client weight (``num-examples``); clients refuse a larger one.
    clipping_range : float, default 8.0
        Weighted parameters are clipped to [-c, c] before quantisation.
    quantization_range : int, default 2**22
        Quantisation levels Q; a client's value carries a stochastic-rounding error below
        ``2 c / Q`` (unbiased).
    modulus_range : int (power of two <= 2**32), default 2**32
        Masking modulus; ``n_clients * Q`` must stay below it (checked, else the round
        aborts rather than wrapping).
    timeout : float, optional
        Seconds to wait for replies in the stages the wrapper drives (Flower's default: none).
    random_state : None, int >= 0, RandomState or Generator
        Seeds the neighbour graph.
    min_survivors : int >= 2 or float in (0, 1], optional
        The round aborts when fewer masked vectors survive (a float: fraction of the sampled
        clients, rounded up); default: the reconstruction threshold. Sent to the clients:
        :class:`DistributedDPMod` sizes each client's noise share with it, so every released
        sum carries the full central noise.
    on_abort : {"skip", "raise"}, default "skip"

    Raises
    ------
    InvalidParameterError
        A parameter outside the constraints above.
    SecAggError
        ``on_abort="raise"`` and a round cannot complete soundly.
    """

    _parameter_constraints = {
        "strategy": [Strategy],
        "num_shares": _COUNT_OR_FRACTION(3),
        "reconstruction_threshold": _COUNT_OR_FRACTION(2),
        "max_weight": [_POSITIVE],
        "clipping_range": [_POSITIVE],
        "quantization_range": [Interval(numbers.Integral, 2, 2**31, closed="both")],
        "modulus_range": [_POWERS_OF_TWO],
        "timeout": [None, _POSITIVE],
        "random_state": ["random_state"],
        "min_survivors": [None, *_COUNT_OR_FRACTION(2)],
        "on_abort": [Options(str, {"skip", "raise"})],
    }

    def __init__(
        self,
        strategy: Strategy,
        *,
        num_shares: float = 1.0,
        reconstruction_threshold: float = 0.5,
        max_weight: float = 1000.0,
        clipping_range: float = 8.0,
        quantization_range: int = 2**22,
        modulus_range: int = 2**32,
        timeout: float | None = None,
        random_state: Any = None,
        min_survivors: float | None = None,
        on_abort: str = "skip",
    ) -> None:
        params = {
            "strategy": strategy, "num_shares": num_shares,
            "reconstruction_threshold": reconstruction_threshold, "max_weight": max_weight,
            "clipping_range": clipping_range, "quantization_range": quantization_range,
            "modulus_range": modulus_range, "timeout": timeout, "random_state": random_state,
            "min_survivors": min_survivors, "on_abort": on_abort,
        }  # fmt: skip
        check_params(self, params, self._parameter_constraints)
        if modulus_range <= quantization_range:
            raise ValueError("modulus_range must be greater than quantization_range")
        for name, value in params.items():
            setattr(self, name, value)
        self._rng = np.random.default_rng(random_state)
        self._grid: Grid | None = None
        self._round: dict[str, Any] = {}
        self.rejected_: list[dict[str, Any]] = []
        self.aborted_: list[dict[str, Any]] = []

    @property
    def weighted_by_key(self) -> str:
        return str(getattr(self.strategy, "weighted_by_key", "num-examples"))

    def summary(self) -> None:
        logger.info("SecAgg+ (shares %s, threshold %s) around:", self.num_shares,
                    self.reconstruction_threshold)  # fmt: skip
        self.strategy.summary()

    def sizes(self, n_sampled: int) -> tuple[int, int, int]:
        """(num_shares, threshold, min_survivors) for ``n_sampled`` clients (Flower's rules)."""
        return sa.resolve_sizes(
            self.num_shares, self.reconstruction_threshold, self.min_survivors, n_sampled
        )

    def configure_evaluate(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        return self.strategy.configure_evaluate(server_round, arrays, config, grid)

    def aggregate_evaluate(
        self, server_round: int, replies: Iterable[Message]
    ) -> MetricRecord | None:
        return self.strategy.aggregate_evaluate(server_round, replies)

    def _send(self, rnd: int, payload: dict[int, ConfigRecord]) -> dict[int, ConfigRecord]:
        """Send one protocol record per node; the valid protocol records that come back."""
        msgs = [
            Message(RecordDict({RECORD_KEY_CONFIGS: cfg}), dst_node_id=nid,
                    message_type=MessageType.TRAIN, group_id=str(rnd))
            for nid, cfg in payload.items()
        ]  # fmt: skip
        replies = self._grid.send_and_receive(msgs, timeout=self.timeout)
        out = {}
        for r in replies:
            if not r.has_error() and RECORD_KEY_CONFIGS in r.content.config_records:
                out[r.metadata.src_node_id] = r.content.config_records[RECORD_KEY_CONFIGS]
        return out

    def _reject(self, rnd: int, node: int, reason: str) -> None:
        logger.warning("SecAgg+ round %d: rejected node %s: %s", rnd, node, reason)
        self.rejected_.append({"round": rnd, "node": node, "reason": reason})

    def _check_threshold(self, alive: set[int]) -> None:
        sa.check_alive(self._round, alive)

    def _abort(self, rnd: int, exc: SecAggError) -> None:
        self._round = {}
        if self.on_abort == "raise":
            raise exc
        logger.error("SecAgg+ round %d aborted, model unchanged: %s", rnd, exc)
        self.aborted_.append({"round": rnd, "reason": str(exc)})

    # ---------------------------------------------------------------- stages 0-2
    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        self._grid = grid
        msgs = list(self.strategy.configure_train(server_round, arrays, config, grid))
        if not msgs:
            return []
        start = time.perf_counter()
        try:
            nodes = self._setup(server_round, [m.metadata.dst_node_id for m in msgs], arrays)
            self._share_keys(server_round, nodes)
        except SecAggError as exc:
            self._abort(server_round, exc)
            return []
        self._round["setup-seconds"] = time.perf_counter() - start
        out = []
        for m in msgs:
            nid = m.metadata.dst_node_id
            if nid in self._round["forward"]:
                fwd = self._round["forward"][nid]
                content = RecordDict(dict(m.content.items()))  # strategies share one content
                content.config_records[RECORD_KEY_CONFIGS] = ConfigRecord({
                    Key.STAGE: Stage.COLLECT_MASKED_VECTORS, Key.SOURCE_LIST: [s for s, _ in fwd],
                    Key.CIPHERTEXT_LIST: [c for _, c in fwd],
                    sa.MIN_SURVIVORS: self._round["floor"],
                })  # fmt: skip
                out.append(Message(content, dst_node_id=nid, message_type=m.metadata.message_type,
                                   group_id=m.metadata.group_id))  # fmt: skip
        return out

    def _setup(self, rnd: int, nodes: list[int], arrays: ArrayRecord) -> set[int]:
        n = len(nodes)
        if n < 2:
            raise SecAggError(f"{n} client sampled; secure aggregation needs at least 2")
        shares, threshold, floor = self.sizes(n)
        if not 2 <= threshold <= shares:
            raise SecAggError(f"threshold {threshold} not in [2, num_shares={shares}]")
        if n * self.quantization_range >= self.modulus_range:
            raise SecAggError(
                f"{n} clients x quantization_range {self.quantization_range} reach the "
                f"modulus_range {self.modulus_range}: the masked sum would wrap"
            )
        spec, size = sa.layout(arrays)
        self._round = {
            "threshold": threshold, "neighbours": sa.neighbours(nodes, shares, self._rng),
            "structure": spec, "size": size,
            "sampled": set(nodes), "floor": floor,
        }  # fmt: skip
        cfg = {
            Key.STAGE: Stage.SETUP, Key.SAMPLE_NUMBER: n, Key.SHARE_NUMBER: shares,
            Key.THRESHOLD: threshold, Key.CLIPPING_RANGE: float(self.clipping_range),
            Key.TARGET_RANGE: int(self.quantization_range), Key.MOD_RANGE: int(self.modulus_range),
            Key.MAX_WEIGHT: float(self.max_weight), "weighted_by_key": self.weighted_by_key,
        }  # fmt: skip
        keys = {}
        for nid, rec in self._send(rnd, {nid: ConfigRecord(dict(cfg)) for nid in nodes}).items():
            pk1, pk2 = rec.get(Key.PUBLIC_KEY_1), rec.get(Key.PUBLIC_KEY_2)
            try:
                bytes_to_public_key(pk1), bytes_to_public_key(pk2)
            except (TypeError, ValueError):
                self._reject(rnd, nid, "setup: malformed public keys")
                continue
            keys[nid] = [pk1, pk2]
        self._round["keys"] = keys
        self._check_threshold(set(keys))
        return set(keys)

    def _share_keys(self, rnd: int, alive: set[int]) -> None:
        st = self._round
        payload = {}
        for nid in alive:
            rec = {str(v): st["keys"][v] for v in st["neighbours"][nid] & alive}
            payload[nid] = ConfigRecord({**rec, Key.STAGE: Stage.SHARE_KEYS})
        forward: dict[int, list[tuple[int, bytes]]] = {}
        commits = {}
        for src, rec in self._send(rnd, payload).items():
            parsed = sa.share_keys_reply(rec, (st["neighbours"][src] & alive) - {src})
            if parsed is None:
                self._reject(rnd, src, "share keys: malformed destinations, shares or commitment")
                continue
            dsts, ctxts, commit = parsed
            commits[src] = commit
            for dst, ctxt in zip(dsts, ctxts, strict=True):
                forward.setdefault(dst, []).append((src, ctxt))
        st["commitments"] = commits
        st["forward"] = {
            dst: [(s, c) for s, c in items if s in commits]
            for dst, items in forward.items()
            if dst in commits
        }
        for nid in commits:
            st["forward"].setdefault(nid, [])
        self._check_threshold(set(commits))

    # ---------------------------------------------------------------- stage 2 + 3
    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        replies = list(replies)
        if not self._round:
            return None, None
        start = time.perf_counter()
        try:
            total, correction, accepted, n_dead = self._collect_and_unmask(server_round, replies)
            st, self._round = self._round, {}
            record = self._release(st, total, correction, len(accepted))
        except SecAggError as exc:
            self._abort(server_round, exc)
            return None, None
        arrays, metrics = self._aggregate(server_round, record, accepted)
        metrics = MetricRecord(dict(metrics or {}))
        metrics["secagg-survivors"] = len(accepted)
        metrics["secagg-dropped"] = n_dead
        metrics["secagg-setup-seconds"] = float(st.get("setup-seconds", 0.0))
        metrics["secagg-unmask-seconds"] = time.perf_counter() - start
        return arrays, metrics

    def _aggregate(
        self, rnd: int, record: ArrayRecord, accepted: list[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """The wrapped strategy aggregates replies that all carry the released mean."""
        for msg in accepted:
            msg.content.config_records.pop(RECORD_KEY_CONFIGS, None)
            msg.content.array_records["arrays"] = record
        return self.strategy.aggregate_train(rnd, accepted)

    def _collect_and_unmask(
        self, rnd: int, replies: list[Message]
    ) -> tuple[Any, np.ndarray, list[Message], int]:
        st, mod = self._round, self.modulus_range
        total = None
        accepted: dict[int, Message] = {}
        for msg in replies:
            nid = msg.metadata.src_node_id
            if msg.has_error() or nid not in st["forward"] or nid in accepted:
                continue
            try:
                total = self._add_vector(total, msg)
            except SecAggError as exc:
                self._reject(rnd, nid, f"collect: {exc}")
                continue
            accepted[nid] = msg
        alive = set(accepted)
        self._check_threshold(alive)
        # dropped after sharing keys: their pairwise masks with survivors must be removed
        dead = {s for u in alive for s, _ in st["forward"][u] if s not in alive}
        payload = {}
        for u in alive:
            held = {s for s, _ in st["forward"][u]} | {u}
            payload[u] = ConfigRecord({
                Key.STAGE: Stage.UNMASK, Key.ACTIVE_NODE_ID_LIST: sorted(held & alive),
                Key.DEAD_NODE_ID_LIST: sorted(held & dead),
            })  # fmt: skip
        seed_sh: dict[int, dict[int, bytes]] = {v: {} for v in alive}
        sk_sh: dict[int, dict[int, bytes]] = {v: {} for v in dead}
        for holder, rec in self._send(rnd, payload).items():
            asked = payload[holder]
            nids = asked[Key.ACTIVE_NODE_ID_LIST] + asked[Key.DEAD_NODE_ID_LIST]
            shares = sa.unmask_reply(rec, nids)
            if shares is None:
                self._reject(rnd, holder, "unmask: malformed share list")
                continue
            for owner, share in zip(nids, shares, strict=True):
                (seed_sh if owner in alive else sk_sh)[owner][holder] = share
        correction = np.zeros(st["size"], dtype=np.uint32)  # minus every mask, mod 2^32
        for h, owner in sa.remove_masks(correction, alive, dead, seed_sh, sk_sh, st, mod):
            self._reject(rnd, h, f"unmask: wrong share of node {owner}'s secret")
        return total, correction, list(accepted.values()), len(st["sampled"]) - len(alive)

    def _add_vector(self, total: Any, msg: Message) -> Any:
        """Running sum of the masked vectors (``uint32``, wrap-around = mod 2^32)."""
        vec = sa.parse_reply(msg, self._round, self.weighted_by_key, self.modulus_range)
        return vec if total is None else total + vec

    def _release(self, st: dict, total: Any, correction: np.ndarray, n_alive: int) -> ArrayRecord:
        """The aggregate from the masked sum and the mask correction: the weighted mean."""
        total = sa.reduce(total + correction, self.modulus_range)
        factor, q = int(total[0]), self.quantization_range
        if factor == 0:
            raise SecAggError("the survivors' total weight is zero")
        values = sa.dequantize(total[1:], n_alive, self.clipping_range, q) * (q / factor)
        return ArrayRecord({k: Array(a) for k, a in sa.unflatten(values, st["structure"])})
