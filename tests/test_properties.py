"""Property-based tests over the public entry points (issue 15, "Must show").

Each entry point gets arrays of wrong shape, dtype (bool, int, float32/64, complex, text), NaN/inf,
empty and huge values. Each call either gives the documented result or raises ``ValueError`` /
``TypeError`` whose message names the argument; the caller's inputs are never modified. Example
counts are small (``max_examples``) so that the file runs in well under 30 s on 2 cores.

Entry points of other engineers' files (``HCPTrainer.fit``, ``FairnessReport.audit``,
``HEFedAvg`` aggregation) are exercised through the public API only; where one fails today the
test is ``xfail(strict=True)`` with the fault named, so that it turns red once fixed (then drop
the marker).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from diffprivlib.accountant import BudgetAccountant
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
FEW = settings(SETTINGS, max_examples=8)

DTYPES = [np.bool_, np.int8, np.int32, np.int64, np.float16, np.float32, np.float64, np.complex128]


def _elements(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return st.floats(allow_nan=True, allow_infinity=True, width=dtype.itemsize * 8)
    if dtype.kind == "c":
        return st.complex_numbers(allow_nan=False, allow_infinity=False, max_magnitude=1e3)
    return None  # hypothesis' default for the dtype (full integer range, bools)


@st.composite
def arrays(draw, min_dims=0, max_dims=3, max_side=5):
    """Arrays of any dtype above and shape, with NaN/inf/huge values where floats allow."""
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(
        hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=0, max_side=max_side)
    )
    return draw(hnp.arrays(dtype, shape, elements=_elements(dtype)))


def anything(**kw):
    """Arrays plus the non-arrays users pass by mistake."""
    return st.one_of(
        arrays(**kw),
        st.sampled_from(["text", None, [[1, "a"]], {"a": 1}]),
        st.floats(allow_nan=True, allow_infinity=True),
    )


def snapshot(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, torch.Tensor):
        return value.clone()
    return copy.deepcopy(value)


def unchanged(before, after) -> bool:
    if isinstance(before, np.ndarray):
        return before.dtype == after.dtype and np.array_equal(before, after, equal_nan=True)
    if isinstance(before, torch.Tensor):
        return before.dtype == after.dtype and torch.equal(
            torch.nan_to_num(before), torch.nan_to_num(after)
        )
    if isinstance(before, float) and math.isnan(before):
        return math.isnan(after)
    return before == after


def run(fn, inputs: dict, names: tuple[str, ...]):
    """Call ``fn()``; a ValueError/TypeError must name one of ``names``; inputs unchanged.
    Returns the result, or None when the call was (rightly) refused."""
    before = {k: snapshot(v) for k, v in inputs.items()}
    try:
        out = fn()
    except (ValueError, TypeError) as exc:
        message = str(exc)
        assert any(n in message for n in names), (
            f"{type(exc).__name__} names none of {names}: {message}"
        )
        out = None
    for k, v in inputs.items():
        assert unchanged(before[k], v), f"the caller's {k} was modified"
    return out


def valid_real(value) -> bool:
    arr = np.asarray(value) if not isinstance(value, str | dict | type(None)) else None
    return (
        arr is not None
        and arr.dtype.kind in "iuf"
        and bool(np.all(np.isfinite(arr)))
        and (arr.size == 0 or float(np.max(np.abs(arr))) < 1e6)
    )


# --- diffprivlib mechanisms ---------------------------------------------------------------------


@SETTINGS
@given(value=anything())
def test_secure_laplace_randomise(value):
    from ai4media_ext.privacy.mechanisms import SecureLaplace

    m = SecureLaplace(epsilon=1.0, sensitivity=1.0, random_state=0, accountant=BudgetAccountant())
    out = run(lambda: m.randomise(value), {"value": value}, ("value",))
    if valid_real(value):
        assert out is not None, "a finite real input must be randomised"
    if out is not None:
        arr = np.asarray(value)
        assert np.shape(out) == arr.shape and np.all(np.isfinite(out))
        assert isinstance(out, float) if arr.ndim == 0 else out.dtype == np.float64


@SETTINGS
@given(value=anything())
def test_multibit_randomise(value):
    from ai4media_ext.privacy.mechanisms import MultiBit

    m = MultiBit(epsilon=2.0, m="max", random_state=0, accountant=BudgetAccountant())
    out = run(lambda: m.randomise(value), {"value": value}, ("value",))
    if out is not None:
        assert out.shape == np.shape(value) and out.dtype == np.int8
        assert np.isin(out, [-1, 1]).all()
        est = m.rectify(out)
        assert est.dtype == np.float64 and np.isfinite(est).all()


@SETTINGS
@given(value=anything())
def test_randomized_response_randomise(value):
    from ai4media_ext.privacy.mechanisms import GeneralizedRandomizedResponse

    m = GeneralizedRandomizedResponse(
        epsilon=1.0, k=4, random_state=0, accountant=BudgetAccountant()
    )
    out = run(lambda: m.randomise(value), {"value": value}, ("value",))
    if out is not None:
        assert np.shape(out) == np.shape(value) and np.all((0 <= out) & (out < 4))


# --- torch-geometric -----------------------------------------------------------------------------


def _tensor(arr):
    try:
        return torch.from_numpy(np.ascontiguousarray(arr))
    except TypeError:  # a dtype torch lacks
        return arr


@FEW
@given(x=arrays(min_dims=1, max_dims=3), edges=arrays(min_dims=1, max_dims=2))
def test_kprop(x, edges):
    from ai4media_ext.privacy.lpgnn import KProp

    xt, et = _tensor(x), _tensor(edges)
    out = run(lambda: KProp(2)(xt, et), {"x": xt, "edge_index": et}, ("x", "edge_index", "edge"))
    if out is not None:
        assert out.shape == xt.shape and out.dtype == xt.dtype


@SETTINGS
@given(x=arrays(min_dims=1, max_dims=3))
def test_feature_perturbation(x):
    from torch_geometric.data import Data

    from ai4media_ext.privacy.lpgnn import FeaturePerturbation

    xt = _tensor(x)
    data = Data(x=xt)
    t = FeaturePerturbation(2.0, random_state=0, accountant=BudgetAccountant())
    out = run(lambda: t(data), {"x": xt}, ("data.x", "x"))
    if out is not None:
        assert out.x.is_floating_point() and torch.isfinite(out.x).all()
        assert out.x.shape[0] == xt.shape[0]


@SETTINGS
@given(y=arrays(min_dims=0, max_dims=2))
def test_label_perturbation(y):
    from torch_geometric.data import Data

    from ai4media_ext.privacy.lpgnn import LabelPerturbation

    yt = _tensor(y)
    n = y.shape[0] if y.ndim else 1
    mask = torch.arange(n) % 2 == 0
    data = Data(y=yt, train_mask=mask, val_mask=~mask, num_nodes=n)
    t = LabelPerturbation(1.0, num_classes=3, random_state=0, accountant=BudgetAccountant())
    out = run(lambda: t(data), {"y": yt}, ("data.y", "y"))
    if out is not None:
        assert out.y.shape == yt.shape and out.y.dtype == yt.dtype
        assert int(out.y.min()) >= 0 and int(out.y.max()) < 3


# --- ART ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_classifier():
    from art.estimators.classification import PyTorchClassifier

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    return PyTorchClassifier(
        model,
        loss=torch.nn.CrossEntropyLoss(),
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        input_shape=(4,),
        nb_classes=3,
        clip_values=(0.0, 1.0),
    )


@FEW
@given(x=arrays(min_dims=1, max_dims=2, max_side=4), y=st.one_of(st.none(), arrays(max_dims=2)))
def test_kanonymity_generate(tiny_classifier, x, y):
    from ai4media_ext.robustness.kanonymity import KAnonymityAttack

    atk = KAnonymityAttack(tiny_classifier, k=1, max_iter=2, random_state=0, verbose=False)
    inputs = {"x": x} if y is None else {"x": x, "y": y}
    out = run(lambda: atk.generate(x, y), inputs, ("x", "y"))
    if out is not None:
        assert out.shape == x.shape and out.dtype == np.float32
        assert (out >= 0).all() and (out <= 1).all()


@settings(FEW, max_examples=5)
@given(x=arrays(min_dims=1, max_dims=2, max_side=4), y=arrays(max_dims=2))
def test_hcp_trainer_fit(tiny_classifier, x, y):
    from ai4media_ext.robustness.hcp import HCPTrainer

    trainer = HCPTrainer(tiny_classifier, ["1"], warmup_epochs=0, verbose=False)
    run(lambda: trainer.fit(x, y, nb_epochs=1, batch_size=4), {"x": x, "y": y}, ("x", "y"))


# --- captum ------------------------------------------------------------------------------------


@FEW
@given(inputs=arrays(min_dims=1, max_dims=3, max_side=4))
def test_rcv_interpret(inputs):
    from torch.utils.data import DataLoader

    from ai4media_ext.explainability.rcv import RCV, RegressionConcept

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(1, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    m = torch.linspace(-1, 1, 12)
    concept = RegressionConcept(0, "c", DataLoader(m[:, None], batch_size=12), m)
    it = _tensor(inputs)
    out = run(
        lambda: RCV(model, model[0]).interpret(it, [concept], target=0), {"inputs": it}, ("inputs",)
    )
    if out is not None:
        assert torch.isfinite(out["c-0"]["0"]["sensitivity"]).all()


# --- AIF360 ------------------------------------------------------------------------------------


@FEW
@given(predictions=arrays(min_dims=0, max_dims=2, max_side=8))
def test_fairness_report_audit(predictions):
    from ai4media_ext.fairness import FairnessReport
    from tests.fairness.conftest import toy_dataset

    data = toy_dataset([1, 0, 1, 0, 1, 0], [1, 1, 1, 0, 0, 0])
    report = FairnessReport(n_bootstrap=0, n_probes=0, random_state=0)
    run(lambda: report.audit(data, predictions), {"predictions": predictions}, ("predictions",))


# --- Flower + TenSEAL ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def he_keys():
    from ai4media_ext.privacy.federated import make_context, public_bytes

    ctx = make_context()
    return ctx, ctx.serialize(save_secret_key=True), public_bytes(ctx)


@settings(FEW, max_examples=5)
@given(weights=arrays(min_dims=0, max_dims=2, max_side=4))
def test_he_fedavg_round_trip(he_keys, weights):
    import time

    from flwr.app import (
        Array,
        ArrayRecord,
        Context,
        Message,
        MessageType,
        Metadata,
        MetricRecord,
        RecordDict,
    )

    from ai4media_ext.privacy.federated import HEFedAvg, decrypt_arrays, make_he_mod

    ctx, secret, public = he_keys
    strategy = HEFedAvg(public)
    meta = Metadata(run_id=1, message_id="m1", src_node_id=1, dst_node_id=0,
                    reply_to_message_id="", group_id="1", created_at=time.time(), ttl=60.0,
                    message_type=MessageType.TRAIN)  # fmt: skip
    from flwr.app import ConfigRecord

    config = strategy._with_he_config(ConfigRecord({"server-round": 1}))
    instruction = Message(
        content=RecordDict({"arrays": ArrayRecord({"w": Array(weights)}), "config": config}),
        metadata=meta,
    )

    def app(msg, context):
        return Message(
            content=RecordDict(
                {
                    "arrays": ArrayRecord({"w": Array(weights)}),
                    "metrics": MetricRecord({"num-examples": 3}),
                }
            ),
            metadata=meta,
        )

    before = weights.copy()

    def round_trip():
        context = Context(run_id=1, node_id=1, node_config={}, state=RecordDict(), run_config={})
        reply = make_he_mod(secret)(instruction, context, app)
        arrays, _ = strategy.aggregate_train(1, [reply])
        if arrays is None:
            raise ValueError("weights: the reply was rejected")
        return decrypt_arrays(arrays, ctx)["w"].numpy()

    out = run(round_trip, {"weights": weights}, ("weights", "w", "value", "finite"))
    assert np.array_equal(before, weights, equal_nan=True)
    if out is not None:
        assert out.shape == weights.shape and out.dtype == weights.dtype
        np.testing.assert_allclose(out, weights, rtol=1e-4, atol=1e-3)


# --- atomic output files -----------------------------------------------------------------------


@SETTINGS
@given(data=st.binary(max_size=4096), fail=st.booleans())
def test_atomic_writer_never_leaves_a_half_written_file(tmp_path_factory, data, fail):
    from unittest import mock

    from ai4media_ext._io import write_bytes_atomic

    folder = tmp_path_factory.mktemp("atomic")
    target = folder / "results.json"
    target.write_bytes(b"old")
    if fail:
        with mock.patch("os.replace", side_effect=OSError("disk full")):
            with pytest.raises(OSError):
                write_bytes_atomic(target, data)
        assert target.read_bytes() == b"old"
    else:
        write_bytes_atomic(target, data)
        assert target.read_bytes() == data
    assert sorted(p.name for p in folder.iterdir()) == ["results.json"]  # no temporary left
