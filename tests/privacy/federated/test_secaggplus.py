"""SecAgg+ for Message-API strategies and distributed DP: exact sums under dropouts, clean
aborts, rejection of malformed shares / masked vectors, the server's view, accounting. Most
runs use the in-process LocalGrid (Flower's own messages, mods and strategies); one runs on
Flower's Simulation Engine."""

import math

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp.strategy import FedAvg
from scipy import stats

from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.privacy.federated import (
    DistributedDPMod,
    LocalGrid,
    SecAggError,
    SecAggPlus,
    SecAggPlusMod,
    distributed_noise_std,
    gaussian_epsilon,
)
from ai4media_ext.privacy.federated._secagg import RECORD_KEY_CONFIGS, Key
from ai4media_ext.privacy.federated.local_grid import FIRST_NODE_ID

P = 2000
NODES = 5


def _updates(seed=0, n=NODES):
    rng = np.random.default_rng(seed)
    ids = [FIRST_NODE_ID + i for i in range(n)]
    return (
        {i: rng.normal(scale=0.5, size=P).astype(np.float32) for i in ids},
        {i: int(rng.integers(100, 900)) for i in ids},
    )


def _app(weights, counts, mods=None):
    app = ClientApp(mods=mods or [SecAggPlusMod(random_state=0)])

    @app.train()
    def train(msg, ctx):
        arrays = ArrayRecord({"w": Array(weights[ctx.node_id]), "b": Array(np.ones(3, np.int64))})
        metrics = MetricRecord({"num-examples": counts[ctx.node_id], "train-loss": 0.1})
        return Message(RecordDict({"arrays": arrays, "metrics": metrics}), reply_to=msg)

    @app.evaluate()
    def evaluate(msg, ctx):
        metrics = MetricRecord({"accuracy": 1.0, "num-examples": 1})
        return Message(RecordDict({"metrics": metrics}), reply_to=msg)

    return app


def _initial():
    return ArrayRecord({"w": Array(np.zeros(P, np.float32)), "b": Array(np.zeros(3, np.int64))})


def _drop_at(stage, nodes):
    def drop(msg):
        cfg = msg.content.config_records.get(RECORD_KEY_CONFIGS)
        return msg.metadata.dst_node_id in nodes and cfg is not None and cfg[Key.STAGE] == stage

    return drop


def _run(strategy, app, n=NODES, drop=None):
    grid = LocalGrid(app, n, drop=drop)
    return strategy.start(grid=grid, initial_arrays=_initial(), num_rounds=1), grid


def _weighted_mean(weights, counts, nodes):
    return sum(counts[i] * weights[i].astype(np.float64) for i in nodes) / sum(
        counts[i] for i in nodes
    )


@pytest.mark.parametrize("stage", ["collect_masked_vectors", "unmask"])
@pytest.mark.parametrize("n_drop", [0, 1, 2])
def test_dropouts_up_to_threshold_give_the_exact_sum(stage, n_drop):
    weights, counts = _updates()
    dropped = {FIRST_NODE_ID + 1 + i for i in range(n_drop)}
    strategy = SecAggPlus(FedAvg(), reconstruction_threshold=3, random_state=0)
    result, _ = _run(strategy, _app(weights, counts), drop=_drop_at(stage, dropped))
    # a client lost after uploading its masked vector still counts; one lost before does not
    alive = [i for i in weights if stage == "unmask" or i not in dropped]
    got = result.arrays["w"].numpy().astype(np.float64)
    # quantisation: < 2c/Q per client value before the weight ratio (stochastic rounding)
    bound = 2 * 8.0 / 2**22 * len(alive) / (sum(counts[i] for i in alive) / 1000.0)
    assert np.abs(got - _weighted_mean(weights, counts, alive)).max() < bound
    assert result.train_metrics_clientapp[1]["secagg-survivors"] == len(alive)
    assert strategy.aborted_ == [] and strategy.rejected_ == []


@pytest.mark.parametrize("stage", ["collect_masked_vectors", "unmask"])
def test_beyond_threshold_aborts_cleanly(stage):
    weights, counts = _updates()
    dropped = {FIRST_NODE_ID + 1, FIRST_NODE_ID + 2, FIRST_NODE_ID + 3}
    strategy = SecAggPlus(FedAvg(), reconstruction_threshold=3, random_state=0)
    result, _ = _run(strategy, _app(weights, counts), drop=_drop_at(stage, dropped))
    assert len(result.arrays) == 0  # no model from this round, not a partial one
    assert len(strategy.aborted_) == 1
    raising = SecAggPlus(FedAvg(), reconstruction_threshold=3, on_abort="raise")
    with pytest.raises(SecAggError, match="threshold|shares"):
        _run(raising, _app(weights, counts), drop=_drop_at(stage, dropped))


def _tamper(stage, node, edit):
    """A client mod wrapping SecAggPlusMod that corrupts one field of one node's reply."""
    inner = SecAggPlusMod(random_state=1)

    def mod(msg, ctx, call_next):
        reply = inner(msg, ctx, call_next)
        cfg = msg.content.config_records.get(RECORD_KEY_CONFIGS)
        if ctx.node_id == node and cfg is not None and cfg[Key.STAGE] == stage:
            rec = reply.content.config_records[RECORD_KEY_CONFIGS]
            edit(rec)
        return reply

    return mod


def test_malformed_masked_vector_is_rejected_and_its_masks_removed():
    weights, counts = _updates()
    bad = FIRST_NODE_ID + 2

    def truncate(rec):
        rec[Key.MASKED_PARAMETERS] = rec[Key.MASKED_PARAMETERS][:-4]

    app = _app(weights, counts, mods=[_tamper("collect_masked_vectors", bad, truncate)])
    strategy = SecAggPlus(FedAvg(), reconstruction_threshold=3, random_state=0)
    result, _ = _run(strategy, app)
    assert [r["node"] for r in strategy.rejected_] == [bad]
    alive = [i for i in weights if i != bad]
    got = result.arrays["w"].numpy().astype(np.float64)
    assert np.abs(got - _weighted_mean(weights, counts, alive)).max() < 1e-3


def test_wrong_share_is_detected_and_outvoted():
    weights, counts = _updates()
    liar = FIRST_NODE_ID  # lowest id: its share is among the first `threshold` used

    def corrupt(rec):
        shares = list(rec[Key.SHARE_LIST])
        shares[0] = shares[0][:4] + bytes(b ^ 0xFF for b in shares[0][4:])
        rec[Key.SHARE_LIST] = shares

    app = _app(weights, counts, mods=[_tamper("unmask", liar, corrupt)])
    strategy = SecAggPlus(FedAvg(), reconstruction_threshold=3, random_state=0)
    result, _ = _run(strategy, app)
    assert liar in {r["node"] for r in strategy.rejected_}
    got = result.arrays["w"].numpy().astype(np.float64)
    assert np.abs(got - _weighted_mean(weights, counts, list(weights))).max() < 1e-3


def test_tampered_share_ciphertext_makes_the_recipient_drop_out():
    weights, counts = _updates()
    mod = SecAggPlusMod()
    strategy = SecAggPlus(FedAvg(), reconstruction_threshold=3, random_state=0)
    app = _app(weights, counts, mods=[mod])

    def forward_tampered(msg):  # the server flips a byte of a forwarded share (Fernet MAC)
        cfg = msg.content.config_records.get(RECORD_KEY_CONFIGS)
        if cfg is not None and cfg[Key.STAGE] == "collect_masked_vectors":
            if msg.metadata.dst_node_id == FIRST_NODE_ID:
                ctxts = list(cfg[Key.CIPHERTEXT_LIST])
                ctxts[0] = ctxts[0][:-3] + b"AAA"
                cfg[Key.CIPHERTEXT_LIST] = ctxts
        return False

    result, _ = _run(strategy, app, drop=forward_tampered)
    assert result.train_metrics_clientapp[1]["secagg-survivors"] == NODES - 1


def _capture_masked(grid):
    seen = {}
    push = grid.push_messages

    def capture(messages):
        messages = list(messages)
        ids = push(messages)
        for mid in ids:
            reply = grid._replies.get(mid)
            if reply is not None and not reply.has_error():
                rec = reply.content.config_records.get(RECORD_KEY_CONFIGS, {})
                if Key.MASKED_PARAMETERS in rec:
                    seen[reply.metadata.src_node_id] = rec[Key.MASKED_PARAMETERS]
        return ids

    grid.push_messages = capture
    return seen


def test_server_view_is_independent_of_one_update():
    """Two runs whose updates differ only in how the same sum is split between two clients:
    each masked vector the server receives is uniform on [0, 2^32) and does not correlate
    with the update; the unmasked sums agree (to quantisation)."""
    weights, counts = _updates()
    counts = dict.fromkeys(counts, 500)
    a, b = FIRST_NODE_ID, FIRST_NODE_ID + 1
    shifted = dict(weights)
    delta = np.random.default_rng(7).normal(scale=2.0, size=P).astype(np.float32)
    shifted[a], shifted[b] = weights[a] + delta, weights[b] - delta
    views, sums = [], []
    for w in (weights, shifted):
        grid = LocalGrid(_app(w, counts), NODES)
        seen = _capture_masked(grid)
        strategy = SecAggPlus(FedAvg(), reconstruction_threshold=3, random_state=0)
        result = strategy.start(grid=grid, initial_arrays=_initial(), num_rounds=1)
        views.append(np.frombuffer(seen[a], dtype="<u4")[1 : P + 1].astype(np.float64))
        sums.append(result.arrays["w"].numpy().astype(np.float64))
    for view in views:
        assert stats.kstest(view / 2**32, "uniform").pvalue > 1e-3
    assert stats.ks_2samp(views[0], views[1]).pvalue > 1e-3
    assert abs(np.corrcoef(views[1], shifted[a])[0, 1]) < 0.1
    assert np.abs(sums[0] - sums[1]).max() < 1e-3


def test_parameters_validated():
    with pytest.raises(InvalidParameterError, match="modulus_range"):
        SecAggPlus(FedAvg(), modulus_range=3)
    with pytest.raises(InvalidParameterError, match="strategy"):
        SecAggPlus("fedavg")
    with pytest.raises(ValueError, match="greater than quantization_range"):
        SecAggPlus(FedAvg(), quantization_range=2**20, modulus_range=2**16)
    with pytest.raises(InvalidParameterError, match="noise_multiplier"):
        DistributedDPMod(noise_multiplier=-1.0, clipping_norm=1.0)


def test_overflow_is_refused_not_wrapped():
    weights, counts = _updates()
    strategy = SecAggPlus(FedAvg(), quantization_range=2**20, modulus_range=2**22,
                          on_abort="raise")  # fmt: skip
    with pytest.raises(SecAggError, match="wrap"):
        _run(strategy, _app(weights, counts))


def test_distributed_noise_std_and_accounting_known_values():
    assert distributed_noise_std(2.0, 0.5, 4) == pytest.approx(0.5)
    # RDP of the Gaussian mechanism: rounds * alpha / (2 z^2); Balle et al. 2020 conversion
    z, rounds, delta = 1.1, 5, 1e-5
    orders = np.array([1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)))
    rdp = rounds * orders / (2 * z**2)
    eps = rdp + np.log1p(-1 / orders) - (np.log(delta) + np.log(orders)) / (orders - 1)
    assert gaussian_epsilon(z, rounds, delta) == pytest.approx(float(eps.min()), rel=1e-9)
    assert gaussian_epsilon(z, 1, delta) < gaussian_epsilon(z, rounds, delta)


def test_distributed_dp_sum_carries_the_central_noise():
    """Clients send back the weights they got (zero update): the aggregate is pure noise with
    std sigma / n per coordinate (mean of n clients, each sigma / sqrt(n))."""
    n, z, c = 8, 1.5, 2.0
    weights = {FIRST_NODE_ID + i: np.zeros(P, np.float32) for i in range(n)}
    counts = dict.fromkeys(weights, 1)
    mods = [SecAggPlusMod(random_state=0), DistributedDPMod(noise_multiplier=z, clipping_norm=c,
                                                            random_state=0)]  # fmt: skip
    strategy = SecAggPlus(FedAvg(), reconstruction_threshold=4, min_survivors=n, max_weight=1.0)
    result, _ = _run(strategy, _app(weights, counts, mods=mods), n=n)
    noise = result.arrays["w"].numpy().astype(np.float64)
    assert noise.std() == pytest.approx(z * c / n, rel=0.06)
    assert abs(noise.mean()) < 4 * z * c / n / math.sqrt(P)


def test_distributed_dp_refuses_without_secure_aggregation():
    weights, counts = _updates()
    mods = [DistributedDPMod(noise_multiplier=1.0, clipping_norm=1.0)]
    result, _ = _run(FedAvg(), _app(weights, counts, mods=mods))
    assert len(result.arrays) == 0  # every client refused: nothing to aggregate


@pytest.mark.slow
def test_message_api_conformance_on_the_simulation_engine():
    from flwr.serverapp import ServerApp
    from flwr.simulation import run_simulation

    weights, counts = _updates(n=3)
    by_partition = dict(enumerate(weights.values()))
    count_of = dict(enumerate(counts.values()))
    client = ClientApp(mods=[SecAggPlusMod()])

    @client.train()
    def train(msg, ctx):
        pid = int(ctx.node_config["partition-id"])
        arrays = ArrayRecord({"w": Array(by_partition[pid]), "b": Array(np.ones(3, np.int64))})
        metrics = MetricRecord({"num-examples": count_of[pid]})
        return Message(RecordDict({"arrays": arrays, "metrics": metrics}), reply_to=msg)

    out = {}
    server = ServerApp()

    @server.main()
    def main(grid, context):
        inner = FedAvg(fraction_evaluate=0.0, min_available_nodes=3, min_train_nodes=3)
        strategy = SecAggPlus(inner, reconstruction_threshold=2)
        out["result"] = strategy.start(grid=grid, initial_arrays=_initial(), num_rounds=1)

    run_simulation(server, client, num_supernodes=3,
                   backend_config={"client_resources": {"num_cpus": 1, "num_gpus": 0.0}})  # fmt: skip
    got = out["result"].arrays["w"].numpy().astype(np.float64)
    expected = _weighted_mean(by_partition, count_of, list(by_partition))
    assert np.abs(got - expected).max() < 1e-3


def test_distributed_dp_floor_does_not_outlive_the_secure_round():
    """After a SecAgg+ round, a plain FedAvg round on the same nodes must not reuse the
    announced floor: the clients refuse (their update would leave with a noise share only)."""
    n = 4
    weights = {FIRST_NODE_ID + i: np.zeros(P, np.float32) for i in range(n)}
    counts = dict.fromkeys(weights, 1)
    mods = [SecAggPlusMod(), DistributedDPMod(noise_multiplier=1.0, clipping_norm=1.0)]
    grid = LocalGrid(_app(weights, counts, mods=mods), n)
    secure = SecAggPlus(FedAvg(), reconstruction_threshold=2, max_weight=1.0)
    assert len(secure.start(grid=grid, initial_arrays=_initial(), num_rounds=1).arrays) == 2
    plain = FedAvg(fraction_evaluate=0.0).start(grid=grid, initial_arrays=_initial(), num_rounds=1)
    assert len(plain.arrays) == 0


def test_client_refuses_out_of_order_stages_and_double_reveals():
    from flwr.app import ConfigRecord, Context, MessageType, Metadata

    mod = SecAggPlusMod()
    ctx = Context(run_id=1, node_id=7, node_config={}, state=RecordDict(), run_config={})

    def message(cfg):
        meta = Metadata(run_id=1, message_id="m", src_node_id=1, dst_node_id=7,
                        reply_to_message_id="", group_id="1", created_at=0.0, ttl=60.0,
                        message_type=MessageType.TRAIN)  # fmt: skip
        return Message(content=RecordDict({RECORD_KEY_CONFIGS: ConfigRecord(cfg)}), metadata=meta)

    with pytest.raises(SecAggError, match="stage"):
        mod(message({Key.STAGE: "unmask"}), ctx, None)  # nothing set up yet
    state = ConfigRecord({Key.THRESHOLD: 2, "seed_shares:K": [3, 4], "seed_shares:V": [b"a", b"b"],
                          "sk1_shares:K": [3, 4], "sk1_shares:V": [b"c", b"d"]})  # fmt: skip
    both = ConfigRecord({Key.ACTIVE_NODE_ID_LIST: [3, 4], Key.DEAD_NODE_ID_LIST: [4]})
    with pytest.raises(SecAggError, match="both active and dropped"):
        SecAggPlusMod._unmask(state, both)


def test_distributed_dp_client_floor_above_the_servers_is_refused():
    n = 4
    weights = {FIRST_NODE_ID + i: np.zeros(P, np.float32) for i in range(n)}
    mods = [SecAggPlusMod(),
            DistributedDPMod(noise_multiplier=1.0, clipping_norm=1.0, min_survivors=4)]  # fmt: skip
    strategy = SecAggPlus(FedAvg(), reconstruction_threshold=2, min_survivors=3, max_weight=1.0)
    result, _ = _run(strategy, _app(weights, dict.fromkeys(weights, 1), mods=mods), n=n)
    assert len(result.arrays) == 0 and len(strategy.aborted_) == 1
