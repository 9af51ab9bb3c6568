"""HEFedAvg and the client mods, driven with hand-built Flower messages (as Flower's own strategy
tests do with mock replies); one short run on Flower's Simulation Engine is marked slow."""

import logging
import time

import numpy as np
import pytest
from flwr.app import (
    Array,
    ArrayRecord,
    ConfigRecord,
    Context,
    Error,
    Message,
    MessageType,
    Metadata,
    MetricRecord,
    RecordDict,
)
from flwr.serverapp.strategy import FedAvg

from ai4media_ext.privacy.federated import (
    HEError,
    HEFedAvg,
    decrypt_arrays,
    make_context,
    make_dp_mod,
    make_he_mod,
    provision,
    public_bytes,
)


def _msg(content, node, kind=MessageType.TRAIN, error=None):
    meta = Metadata(run_id=1, message_id=f"m{node}", src_node_id=node, dst_node_id=0,
                    reply_to_message_id="", group_id="1", created_at=time.time(), ttl=60.0,
                    message_type=kind)  # fmt: skip
    if error is not None:
        return Message(error=error, metadata=meta)
    return Message(content=content, metadata=meta)


def _context():
    return Context(run_id=1, node_id=1, node_config={}, state=RecordDict(), run_config={})


@pytest.fixture(scope="module")
def keys():
    ctx = make_context()
    return ctx, ctx.serialize(save_secret_key=True), public_bytes(ctx)


def _weights(seed):
    rng = np.random.default_rng(seed)
    return {"conv.weight": rng.normal(size=(4, 1, 3, 3)).astype(np.float32),
            "fc.bias": rng.normal(size=(3000,)).astype(np.float32)}  # fmt: skip


def _client_reply(secret, weights, n, node, server_config):
    """Run the HE mod around a fake ClientApp that returns ``weights`` for ``n`` examples."""
    mod = make_he_mod(secret)
    instruction = _msg(RecordDict({"arrays": ArrayRecord({k: Array(v) for k, v in weights.items()}),
                                   "config": server_config}), node)  # fmt: skip

    def app(msg, ctx):
        return _msg(RecordDict({"arrays": ArrayRecord({k: Array(v) for k, v in weights.items()}),
                                "metrics": MetricRecord({"num-examples": n, "loss": 0.5})}), node)  # fmt: skip

    return mod(instruction, _context(), app)


def _server_config(strategy):
    return strategy._with_he_config(ConfigRecord({"server-round": 1}))


def _plain_fedavg(weights, ns):
    total = sum(ns)
    return {
        k: sum(n * w[k].astype(np.float64) for n, w in zip(ns, weights, strict=True)) / total
        for k in weights[0]
    }


def test_encrypted_fedavg_equals_plaintext_fedavg(keys):
    ctx, secret, public = keys
    strategy = HEFedAvg(public)
    weights = [_weights(i) for i in range(4)]
    ns = [120, 300, 80, 500]
    replies = [
        _client_reply(secret, w, n, i + 1, _server_config(strategy))
        for i, (w, n) in enumerate(zip(weights, ns, strict=True))
    ]
    arrays, metrics = strategy.aggregate_train(1, replies)
    assert metrics["he-accepted"] == 4 and metrics["he-rejected"] == 0
    assert metrics["loss"] == pytest.approx(0.5)  # client metrics averaged as FedAvg does
    plain = _plain_fedavg(weights, ns)
    out = decrypt_arrays(arrays, ctx)
    for k, v in plain.items():
        got = out[k].numpy()
        assert got.shape == v.shape and got.dtype == np.float32
        scale = np.abs(v).max()
        assert np.abs(got - v).max() <= 1e-6 * scale  # <= 1e-6 relative to plaintext FedAvg


def test_server_is_keyless_and_cannot_decrypt(keys):
    ctx, secret, public = keys
    strategy = HEFedAvg(public)
    assert not strategy.has_secret_key
    with pytest.raises(HEError, match="must not hold the secret key"):
        HEFedAvg(secret)
    reply = _client_reply(secret, _weights(0), 10, 1, _server_config(strategy))
    arrays, _ = strategy.aggregate_train(1, [reply])
    with pytest.raises(ValueError, match="secret_key"):
        decrypt_arrays(arrays, strategy._context)


def test_replies_carry_no_plaintext_weights(keys):
    _, secret, public = keys
    strategy = HEFedAvg(public)
    w = _weights(3)
    reply = _client_reply(secret, w, 50, 1, _server_config(strategy))
    assert not reply.content.array_records  # the ArrayRecord was replaced
    blob = b"".join(reply.content.config_records["he"]["ciphertexts"])
    for v in w.values():  # no run of 8 plaintext float32 weights appears in the bytes
        raw = v.ravel()
        for i in range(0, raw.size - 8, max(1, raw.size // 20)):
            assert raw[i : i + 8].tobytes() not in blob


def test_bad_replies_are_rejected_and_logged(keys, caplog):
    ctx, secret, public = keys
    strategy = HEFedAvg(public)
    cfg = _server_config(strategy)
    weights = [_weights(i) for i in range(3)]
    good = [_client_reply(secret, w, 100, i + 1, cfg) for i, w in enumerate(weights)]
    # malformed: truncated ciphertext bytes
    bad = _client_reply(secret, _weights(9), 100, 7, cfg)
    cts = bad.content.config_records["he"]["ciphertexts"]
    bad.content.config_records["he"]["ciphertexts"] = [cts[0][:100]] + cts[1:]
    # wrong context: other keys (key id differs) and other parameters (loads under no context)
    other = make_context()
    wrong_keys = (
        _client_reply(other.serialize(save_secret_key=True), _weights(8), 100, 8, cfg)
        if False
        else None
    )
    foreign = make_context(8192, (60, 40, 60), 40)
    wrong_params = _client_reply(secret, _weights(7), 100, 9, cfg)
    wrong_params.content.config_records["he"]["ciphertexts"] = [
        __import__("tenseal").ckks_vector(foreign, [1.0] * 10).serialize()
    ] * len(cts)
    other_key = _client_reply(secret, _weights(6), 100, 10, cfg)
    other_key.content.config_records["he"]["key-id"] = "0" * 16
    plaintext = _msg(RecordDict({"arrays": ArrayRecord({k: Array(v) for k, v in weights[0].items()}),
                                 "metrics": MetricRecord({"num-examples": 100})}), 11)  # fmt: skip
    dropped = _msg(None, 12, error=Error(code=0, reason="node went away"))
    del wrong_keys, other
    with caplog.at_level(logging.WARNING):
        arrays, metrics = strategy.aggregate_train(
            2, good + [bad, wrong_params, other_key, plaintext, dropped]
        )
    assert metrics["he-accepted"] == 3 and metrics["he-rejected"] == 4
    assert {r["node"] for r in strategy.rejected_} == {7, 9, 10, 11}
    assert "rejected reply of node 7" in caplog.text
    plain = _plain_fedavg(weights, [100] * 3)  # the aggregate is exactly the good clients'
    out = decrypt_arrays(arrays, ctx)
    assert (
        np.abs(out["fc.bias"].numpy() - plain["fc.bias"]).max()
        <= 1e-6 * np.abs(plain["fc.bias"]).max()
    )


def test_client_refuses_mismatched_keys(keys):
    _, secret, public = keys
    strategy = HEFedAvg(public)
    other = make_context()
    with pytest.raises(HEError, match="server expects key"):
        _client_reply(
            other.serialize(save_secret_key=True), _weights(0), 10, 1, _server_config(strategy)
        )
    with pytest.raises(HEError, match="secret key"):
        make_he_mod(public)


def test_round_trip_through_mod_decrypts_the_aggregate(keys):
    ctx, secret, public = keys
    strategy = HEFedAvg(public)
    weights = [_weights(i) for i in range(2)]
    arrays, _ = strategy.aggregate_train(
        1,
        [
            _client_reply(secret, w, 10 * (i + 1), i + 1, _server_config(strategy))
            for i, w in enumerate(weights)
        ],
    )
    seen = {}

    def app(msg, context):
        seen.update({k: v.numpy() for k, v in msg.content["arrays"].items()})
        return _msg(
            RecordDict({"metrics": MetricRecord({"accuracy": 1.0, "num-examples": 5})}),
            1,
            MessageType.EVALUATE,
        )

    instruction = _msg(
        RecordDict({"arrays": arrays, "config": _server_config(strategy)}), 1, MessageType.EVALUATE
    )
    make_he_mod(secret)(instruction, _context(), app)
    plain = _plain_fedavg(weights, [10, 20])
    assert (
        np.abs(seen["conv.weight"] - plain["conv.weight"]).max()
        <= 1e-6 * np.abs(plain["conv.weight"]).max()
    )


def test_provisioned_files(tmp_path):
    files = provision(tmp_path)
    assert (files.client_context.stat().st_mode & 0o777) == 0o600
    HEFedAvg(files.server_context.read_bytes())
    make_he_mod(files.client_context)


def test_dp_mod_clips_adds_noise_and_spends_budget():
    from diffprivlib.accountant import BudgetAccountant

    acc = BudgetAccountant()
    before = {"w": np.zeros(1000, dtype=np.float32)}
    after = {"w": np.full(1000, 0.1, dtype=np.float32)}  # L1 norm 100, L2 norm 3.16
    for mechanism, delta, norm in (("laplace", 0.0, 1.0), ("gaussian", 1e-5, 1.0)):
        mod = make_dp_mod(
            clipping_norm=norm,
            epsilon=1.0,
            delta=delta,
            mechanism=mechanism,
            accountant=acc,
            random_state=0,
        )
        instruction = _msg(RecordDict({"arrays": ArrayRecord({k: Array(v) for k, v in before.items()}),
                                       "config": ConfigRecord({})}), 1)  # fmt: skip

        def app(msg, context):
            return _msg(RecordDict({"arrays": ArrayRecord({k: Array(v) for k, v in after.items()}),
                                    "metrics": MetricRecord({"num-examples": 10})}), 1)  # fmt: skip

        ctx = _context()
        reply = mod(instruction, ctx, app)
        out = reply.content["arrays"]["w"].numpy()
        metrics = reply.content["metrics"]
        assert metrics["dp-epsilon"] == 1.0 and metrics["dp-epsilon-total"] == 1.0
        # the metrics travel in the clear: nothing derived from the update may be in them
        assert not any("norm" in key for key in metrics)
        # the noise dominates the clipped update (1/1000 per weight): mean stays near 1e-3
        assert abs(out.mean() - 1e-3) < 0.5 and out.std() > 0.01
        mod(instruction, ctx, app)
        assert ctx.state.metric_records["dp"]["epsilon-total"] == 2.0
    assert acc.total()[0] == pytest.approx(4.0)  # 2 rounds x 2 mechanisms x epsilon 1


def test_dp_mod_composes_with_flower_fedavg():
    """DP-noised plaintext replies aggregate with Flower's own FedAvg unchanged."""
    mod = make_dp_mod(clipping_norm=1.0, epsilon=10.0, random_state=1)
    replies = []
    for node in (1, 2):
        instruction = _msg(RecordDict({"arrays": ArrayRecord({"w": Array(np.zeros(5, np.float32))}),
                                       "config": ConfigRecord({})}), node)  # fmt: skip

        def app(msg, context, node=node):
            return _msg(RecordDict({"arrays": ArrayRecord({"w": Array(np.ones(5, np.float32))}),
                                    "metrics": MetricRecord({"num-examples": 10})}), node)  # fmt: skip

        replies.append(mod(instruction, _context(), app))
    arrays, metrics = FedAvg().aggregate_train(1, replies)
    assert arrays["w"].numpy().shape == (5,) and metrics["dp-epsilon"] == 10.0


def test_bad_parameters(keys):
    _, _, public = keys
    with pytest.raises(ValueError, match="weight_unit"):
        HEFedAvg(public, weight_unit=0)
    with pytest.raises(TypeError, match="public_context"):
        HEFedAvg("server_context.bin")
    with pytest.raises(TypeError, match="fraction_trian"):  # a typo reaches FedAvg, not swallowed
        HEFedAvg(public, fraction_trian=0.5)
    with pytest.raises(ValueError, match="value_bound"):
        HEFedAvg(public, value_bound=float("inf"))
    with pytest.raises(ValueError, match="128-bit security"):
        make_context(4096, (60, 50))
    with pytest.raises(ValueError, match="delta > 0"):
        make_dp_mod(clipping_norm=1.0, epsilon=1.0, mechanism="gaussian")
    with pytest.raises(ValueError, match="clipping_norm"):
        make_dp_mod(clipping_norm=-1.0, epsilon=1.0)
    with pytest.raises(ValueError, match="mechanism"):
        make_dp_mod(clipping_norm=1.0, epsilon=1.0, mechanism="exponential")


def test_client_refuses_values_beyond_the_headroom(keys):
    from ai4media_ext.privacy.federated._ckks import encrypt

    ctx, _, _ = keys
    with pytest.raises(HEError, match="headroom"):
        encrypt(ctx, np.full(10, 1e9))
    with pytest.raises(HEError, match="non-finite"):
        encrypt(ctx, np.array([1.0, np.nan]))


def _bn_weights(var):
    return {
        "bn.running_var": np.full(16, var, dtype=np.float32),
        "bn.num_batches_tracked": np.array(42, dtype=np.int64),  # 0-d, as in torch's BatchNorm
    }


def test_sum_beyond_the_headroom_is_refused_not_silently_wrong(keys):
    """Issue 15, item 1: 32 clients x 42,000 examples x running_var 2000 fit the headroom one
    by one, but not summed. Plain CKKS addition then decrypts wrong; HEFedAvg refuses."""
    from ai4media_ext.privacy.federated._ckks import add_encrypted, decrypt, encrypt, headroom

    ctx, secret, public = keys
    assert headroom(ctx) == pytest.approx(2.0**19, rel=1e-3)
    n, clients, var = 42_000, 32, 2000.0
    # the hazard: each client's scaled values (82,031) fit, their sum (2.6e6) does not
    one = encrypt(ctx, np.full(16, var * n / 1024))
    wrong = decrypt(ctx, add_encrypted(ctx, [one] * clients)) / (clients * n / 1024)
    assert abs(wrong[0] - var) > 1.0
    # HEFedAvg with a value bound that admits the values: the round is refused, naming the fix
    strategy = HEFedAvg(public, value_bound=4096.0)
    replies = [
        _client_reply(secret, _bn_weights(var), n, i + 1, _server_config(strategy))
        for i in range(clients)
    ]
    with pytest.raises(HEError, match=r"above the CKKS headroom.*weight_unit >= "):
        strategy.aggregate_train(1, replies)
    # with the weight unit it names, the same round is exact
    unit = strategy.required_weight_unit(clients * n)
    strategy = HEFedAvg(public, value_bound=4096.0, weight_unit=unit)
    replies = [
        _client_reply(secret, _bn_weights(var), n, i + 1, _server_config(strategy))
        for i in range(clients)
    ]
    arrays, metrics = strategy.aggregate_train(1, replies)
    assert metrics["he-accepted"] == clients
    out = decrypt_arrays(arrays, ctx)
    assert np.abs(out["bn.running_var"].numpy() - var).max() < 1e-3


def test_client_refuses_values_above_the_declared_bound(keys):
    _, secret, public = keys
    strategy = HEFedAvg(public)  # value_bound 1000
    with pytest.raises(HEError, match=r"bn.running_var.*value_bound 1000"):
        _client_reply(secret, _bn_weights(2000.0), 100, 1, _server_config(strategy))


def test_a_thousand_simulated_clients(keys):
    """Issue 15, item 1: 1,000 clients of 42,000 examples, values within the bound: exact
    with the required weight unit, refused with the default one."""
    ctx, secret, public = keys
    clients, n = 1000, 42_000
    strategy = HEFedAvg(public, weight_unit=1024.0)
    rng = np.random.default_rng(0)
    base = rng.uniform(-1000, 1000, size=8)  # at the bound
    reply = _client_reply(secret, {"w": base.astype(np.float32)}, n, 1, _server_config(strategy))
    with pytest.raises(HEError, match="headroom"):
        strategy.aggregate_train(1, [reply] * clients)
    strategy = HEFedAvg(public, weight_unit=strategy.required_weight_unit(clients * n))
    reply = _client_reply(secret, {"w": base.astype(np.float32)}, n, 1, _server_config(strategy))
    arrays, metrics = strategy.aggregate_train(1, [reply] * clients)
    assert metrics["he-accepted"] == clients
    got = decrypt_arrays(arrays, ctx)["w"].numpy()
    assert np.abs(got - base.astype(np.float32)).max() < 1e-3


def test_zero_d_and_integer_arrays_keep_shape_and_dtype(keys):
    """Issue 15, item 8: BatchNorm's 0-d int64 num_batches_tracked comes back as a 0-d int64
    (rounded), so an in-place copy_ into the model works."""
    import torch

    ctx, secret, public = keys
    strategy = HEFedAvg(public)
    bn = torch.nn.BatchNorm1d(16)
    state = {k: v.numpy() for k, v in bn.state_dict().items()}
    state["num_batches_tracked"] = np.array(7, dtype=np.int64)
    replies = [
        _client_reply(secret, state, 10 * (i + 1), i + 1, _server_config(strategy))
        for i in range(3)
    ]
    out = decrypt_arrays(strategy.aggregate_train(1, replies)[0], ctx)
    for k, v in state.items():
        got = out[k].numpy()
        assert got.shape == v.shape and got.dtype == v.dtype, k
    assert out["num_batches_tracked"].numpy() == 7
    bn.load_state_dict({k: torch.from_numpy(out[k].numpy().copy()) for k in state})
    bn.num_batches_tracked.copy_(torch.from_numpy(out["num_batches_tracked"].numpy().copy()))
