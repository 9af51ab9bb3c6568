"""What each party of a federated round sees under each protection (for ``fl-inversion``).

A client's update is new minus received weights after local SGD (``zoo.train_epochs``), flattened
in ``model.parameters()`` order. Local DP goes through the real Flower client mod
(:class:`~ai4media_ext.privacy.federated.DPMod`, Gaussian, replace-one sensitivity 2C), single-key
HE through the real CKKS primitives of ``privacy.federated``; SecAgg+ is modelled by its
guarantee (the server learns the exact sum, nothing else), distributed DP by each client clipping
to C and adding its Gaussian share (:func:`_distributed_noise_std`).
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

#: protection -> (who attacks, what that party sees)
VIEWS = {
    "none": ("server", "the individual update"),
    "local_dp": ("server", "the individual update, clipped and noised by the client (DPMod)"),
    "ddp": ("server", "the sum of n clipped updates, each with a Gaussian noise share"),
    "secaggplus": ("server", "the exact sum of n updates"),
    "he_colluding_client": ("a client holding the CKKS key", "the individual update, decrypted"),
}


@contextlib.contextmanager
def _quiet_calibration() -> Iterator[None]:
    """diffprivlib's analytic-Gaussian search evaluates exp(epsilon), which overflows for
    epsilon > ~700 (RuntimeWarnings); its bisection then settles on a larger, still valid sigma
    (delta(sigma) < 1e-100 at epsilon = 1000), so those warnings are silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _distributed_noise_std(epsilon: float, delta: float, clipping_norm: float, n: int) -> float:
    """Per-client Gaussian noise std of distributed DP: ``sigma / sqrt(n)``, with ``sigma`` the
    analytic-Gaussian scale (Balle & Wang 2018, diffprivlib's ``GaussianAnalytic``) of the sum's
    replace-one sensitivity ``2 C`` at ``(epsilon, delta)`` per round, so that the sum of the n
    shares carries exactly the central noise ``sigma`` (the calibration ``DPMod`` uses for one
    client); the split is the library's :func:`~ai4media_ext.privacy.federated.distributed_noise_std`
    (the rule :class:`~ai4media_ext.privacy.federated.DistributedDPMod` applies)."""
    from diffprivlib.mechanisms import GaussianAnalytic

    from ..privacy.federated.ddp import distributed_noise_std

    with _quiet_calibration():
        sigma = GaussianAnalytic(
            epsilon=epsilon, delta=delta, sensitivity=2.0 * clipping_norm
        )._scale
    return distributed_noise_std(float(sigma) / clipping_norm, clipping_norm, n)


def _flat(model: Any) -> np.ndarray:
    import torch

    return (
        torch.nn.utils.parameters_to_vector(model.parameters()).detach().numpy().astype(np.float64)
    )


def local_update(
    model: Any, start: np.ndarray, x: np.ndarray, y: np.ndarray, cfg: dict[str, Any], seed: int,
    *, full_batch_steps: int | None = None,
) -> np.ndarray:  # fmt: skip
    """New minus ``start`` weights after local SGD: ``cfg['local_epochs']`` epochs of mini-batches
    of ``cfg['batch_size']`` with momentum ``cfg['momentum']``, or ``full_batch_steps`` plain
    full-batch steps (the attacked round)."""
    import torch

    from ..zoo import train_epochs

    torch.nn.utils.vector_to_parameters(
        torch.tensor(start, dtype=torch.float32), model.parameters()
    )
    momentum = cfg["momentum"] if full_batch_steps is None else 0.0
    opt = torch.optim.SGD(model.parameters(), lr=cfg["local_lr"], momentum=momentum)
    gen = torch.Generator().manual_seed(seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y).long()
    if full_batch_steps is None:
        train_epochs(model, xt, yt, opt, epochs=cfg["local_epochs"], batch_size=cfg["batch_size"],
                     generator=gen)  # fmt: skip
    else:
        train_epochs(model, xt, yt, opt, epochs=full_batch_steps, batch_size=len(x), generator=gen)
    return _flat(model) - start


def dp_mod_update(mod: Any, model: Any, start: np.ndarray, update: np.ndarray) -> np.ndarray:
    """Pass a client's reply through a Flower client mod (``DPMod``) and return what leaves the
    client, as an update."""
    from flwr.app import Array, ArrayRecord, Context, Message, Metadata, MetricRecord, RecordDict

    shapes = [(n, tuple(p.shape)) for n, p in model.named_parameters()]

    def record(vec: np.ndarray) -> ArrayRecord:
        out, i = {}, 0
        for name, shape in shapes:
            size = int(np.prod(shape))
            out[name] = Array(vec[i : i + size].reshape(shape).astype(np.float32))
            i += size
        return ArrayRecord(out)

    def message(content: RecordDict) -> Message:
        meta = Metadata(run_id=1, message_id="1", src_node_id=1, dst_node_id=0,
                        reply_to_message_id="", group_id="1", created_at=time.time(), ttl=60.0,
                        message_type="train")  # fmt: skip
        return Message(content=content, metadata=meta)

    sent = message(RecordDict({"arrays": record(start)}))
    new = record(start + update)

    def app(msg: Message, context: Any) -> Message:
        return message(RecordDict({"arrays": new, "metrics": MetricRecord({"num-examples": 1})}))

    ctx = Context(run_id=1, node_id=1, node_config={}, state=RecordDict(), run_config={})
    reply = mod(sent, ctx, app)
    after = np.concatenate(
        [a.numpy().astype(np.float64).ravel() for a in reply.content["arrays"].values()]
    )
    return after - start.astype(np.float32).astype(np.float64)


def make_dp_mod(epsilon: float, cfg: dict[str, Any], seed: int) -> Any:
    from diffprivlib.accountant import BudgetAccountant

    from ..privacy.federated import DPMod

    with _quiet_calibration():
        return DPMod(clipping_norm=cfg["clip"], epsilon=epsilon, delta=cfg["delta"],
                 mechanism="gaussian", accountant=BudgetAccountant(), random_state=seed)  # fmt: skip


def clip_l2(update: np.ndarray, c: float) -> np.ndarray:
    norm = float(np.linalg.norm(update))
    return update * (c / norm) if norm > c else update


def protect(
    protection: str, epsilon: float | None, updates: list[np.ndarray], model: Any,
    start: np.ndarray, cfg: dict[str, Any], rng: np.random.Generator,
) -> list[np.ndarray]:  # fmt: skip
    """What leaves each client under ``protection`` (plaintext for exact aggregations)."""
    if protection == "local_dp":
        mod = make_dp_mod(epsilon, cfg, int(rng.integers(2**31)))
        return [dp_mod_update(mod, model, start, u) for u in updates]
    if protection == "ddp":
        std = _distributed_noise_std(epsilon, cfg["delta"], cfg["clip"], len(updates))
        return [clip_l2(u, cfg["clip"]) + rng.normal(0.0, std, size=u.shape) for u in updates]
    return list(updates)


def he_roundtrip(update: np.ndarray, context: Any) -> np.ndarray:
    """The update encrypted as ``HEMod`` does (CKKS, TenSEAL) and decrypted with the shared key,
    as a colluding client holding that key can."""
    from ..privacy.federated._ckks import decrypt, encrypt

    return np.asarray(decrypt(context, encrypt(context, update)), dtype=np.float64)
