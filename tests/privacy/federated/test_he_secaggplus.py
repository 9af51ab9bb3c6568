"""HE + SecAgg+ (BFV-encrypted masked vectors): exact weighted mean for the clients, nothing
in the clear for the server, masked (uniform) vectors for a key-holding colluder."""

import numpy as np
import pytest
from flwr.serverapp.strategy import FedAvg
from scipy import stats

from ai4media_ext.privacy.federated import (
    HEError,
    HESecAggPlus,
    HESecAggPlusMod,
    LocalGrid,
    decrypt_aggregate,
    make_bfv_context,
    make_context,
    public_bytes,
)
from ai4media_ext.privacy.federated._ckks import load_context
from ai4media_ext.privacy.federated._secagg import RECORD_KEY_CONFIGS, Key
from ai4media_ext.privacy.federated.local_grid import FIRST_NODE_ID

from .test_secaggplus import NODES, P, _app, _drop_at, _initial, _updates, _weighted_mean


@pytest.fixture(scope="module")
def bfv():
    ctx = make_bfv_context()
    return ctx.serialize(save_secret_key=True), public_bytes(ctx)


def _strategy(public, **kw):
    return HESecAggPlus(FedAvg(fraction_evaluate=0.0), public, reconstruction_threshold=3,
                        random_state=0, **kw)  # fmt: skip


@pytest.mark.parametrize("dropped", [set(), {FIRST_NODE_ID + 2, FIRST_NODE_ID + 3}])
def test_clients_get_the_exact_weighted_mean_over_two_rounds(bfv, dropped):
    secret, public = bfv
    weights, counts = _updates()
    strategy = _strategy(public)
    app = _app(weights, counts, mods=[HESecAggPlusMod(secret, random_state=0)])
    grid = LocalGrid(app, NODES, drop=_drop_at("collect_masked_vectors", dropped))
    result = strategy.start(grid=grid, initial_arrays=_initial(), num_rounds=2)
    assert strategy.aborted_ == [] and strategy.rejected_ == []
    record = result.arrays
    assert not any(k in record for k in ("w", "b"))  # the server holds no plaintext model
    mean = decrypt_aggregate(record, load_context(secret, expect_secret=True))
    alive = [i for i in weights if i not in dropped]
    assert np.abs(mean["w"].numpy() - _weighted_mean(weights, counts, alive)).max() < 1e-4


def test_a_colluding_key_holder_sees_masked_vectors_only(bfv):
    """Server + one client (the secret key): decrypting a client's reply gives its SecAgg+
    masked vector, uniform on [0, 2^32) and uncorrelated with the update."""
    import tenseal as ts

    secret, public = bfv
    weights, counts = _updates()
    grid = LocalGrid(_app(weights, counts, mods=[HESecAggPlusMod(secret)]), NODES)
    seen = {}
    push = grid.push_messages

    def capture(messages):
        ids = push(list(messages))
        for mid in ids:
            reply = grid._replies.get(mid)
            rec = reply.content.config_records.get(RECORD_KEY_CONFIGS, {}) if reply else {}
            if Key.MASKED_PARAMETERS in rec:
                seen[reply.metadata.src_node_id] = rec[Key.MASKED_PARAMETERS]
        return ids

    grid.push_messages = capture
    _strategy(public).start(grid=grid, initial_arrays=_initial(), num_rounds=1)
    ctx = load_context(secret, expect_secret=True)
    blobs = seen[FIRST_NODE_ID]
    masked = np.concatenate([ts.bfv_vector_from(ctx, b).decrypt() for b in blobs])[1 : P + 1]
    assert masked.min() >= 0 and masked.max() < 2**32
    assert stats.kstest(masked / 2**32, "uniform").pvalue > 1e-3
    assert abs(np.corrcoef(masked, weights[FIRST_NODE_ID])[0, 1]) < 0.1


def test_replies_under_another_key_are_rejected(bfv):
    _, public = bfv
    other = make_bfv_context().serialize(save_secret_key=True)
    weights, counts = _updates()
    strategy = _strategy(public)
    grid = LocalGrid(_app(weights, counts, mods=[HESecAggPlusMod(other)]), NODES)
    result = strategy.start(grid=grid, initial_arrays=_initial(), num_rounds=1)
    assert len(strategy.rejected_) == NODES and len(result.arrays) == 0


def test_contexts_are_checked(bfv):
    secret, public = bfv
    with pytest.raises(HEError):
        HESecAggPlus(FedAvg(), secret)  # the server must not hold the secret key
    with pytest.raises(HEError):
        HESecAggPlusMod(public)  # clients need it
    with pytest.raises(HEError, match="BFV"):
        HESecAggPlusMod(make_context().serialize(save_secret_key=True))  # CKKS
