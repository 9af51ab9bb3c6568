"""Secure aggregation on Flower's Message API: plaintext FedAvg vs SecAgg+ vs single-key CKKS
(HEFedAvg), and distributed DP under SecAgg+ vs local DP (DPMod) vs central DP (Flower's
server-side fixed clipping), on real MNIST digits (issue 21, items 1-3).

Runs the real strategies and client mods on the in-process ``LocalGrid`` (Flower messages,
contexts and mods; no Ray workers), softmax regression on MNIST (scikit-learn digits without a
data root), centralised accuracy on held-out images after every round."""

from __future__ import annotations

import tempfile
import time
from typing import Any

import numpy as np

from ._core import Experiment, RunContext, save_figure

DELTA = 1e-5
CLIP = 1.0


def _data(ctx: RunContext) -> tuple[np.ndarray, ...]:
    from ..data import load_digits, load_mnist_test
    from ..data.splits import scale_pixels

    if ctx.data_root is not None:
        x, y = load_mnist_test(ctx.data_root)
        x = scale_pixels(x).reshape(len(y), -1)
        n_test = 2000
    else:
        x, y = load_digits()
        x = scale_pixels(x, 16.0).reshape(len(y), -1)
        n_test = 397
    order = np.random.default_rng(ctx.seed).permutation(len(y))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train].astype(np.int64), x[test], y[test].astype(np.int64)


def _client_app(x: np.ndarray, y: np.ndarray, n_clients: int, mods: list, seed: int) -> Any:
    import torch
    from flwr.app import ArrayRecord, Message, MetricRecord, RecordDict
    from flwr.clientapp import ClientApp

    parts = np.array_split(np.arange(len(y)), n_clients)
    app = ClientApp(mods=mods)

    @app.train()
    def train(msg: Message, context: Any) -> Message:
        pid = int(context.node_config["partition-id"])
        idx = parts[pid]
        model = torch.nn.Linear(x.shape[1], 10)
        model.load_state_dict(msg.content["arrays"].to_torch_state_dict())
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        gen = torch.Generator().manual_seed(
            seed + 1000 * pid + int(msg.content["config"]["server-round"])
        )
        xt, yt = torch.from_numpy(x[idx]), torch.from_numpy(y[idx])
        for batch in torch.randperm(len(idx), generator=gen).split(10):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xt[batch]), yt[batch]).backward()
            opt.step()
        metrics = MetricRecord({"num-examples": len(idx)})
        arrays = ArrayRecord(model.state_dict())
        return Message(RecordDict({"arrays": arrays, "metrics": metrics}), reply_to=msg)

    return app


def _with_key_id(ctx: Any) -> tuple[Any, str]:
    """A secret context and its key id, taken before it is used (TenSEAL's serialisation,
    hence the id, changes once a context has loaded or encrypted a vector)."""
    from ..privacy.federated import key_id

    return ctx, key_id(ctx)


def _protections(
    ctx: RunContext, rounds: int, epsilons: tuple[float, ...], keys: Any, n: int
) -> dict:
    """name -> (strategy factory, client mods factory[, BFV secret context for evaluation])."""
    from flwr.serverapp.strategy import DifferentialPrivacyServerSideFixedClipping, FedAvg

    from ..privacy.federated import (
        DistributedDPMod,
        DPMod,
        HEFedAvg,
        HEMod,
        HESecAggPlus,
        HESecAggPlusMod,
        SecAggPlus,
        SecAggPlusMod,
        make_bfv_context,
        noise_multiplier_for,
        public_bytes,
    )
    from ..privacy.federated._ckks import load_context

    bfv = make_bfv_context()

    def fedavg() -> FedAvg:
        return FedAvg(fraction_evaluate=0.0)

    def secagg(**kw: Any) -> SecAggPlus:
        return SecAggPlus(fedavg(), num_shares=0.1, reconstruction_threshold=0.5,
                          min_survivors=0.9, random_state=ctx.seed, **kw)  # fmt: skip

    out = {
        "plaintext": (fedavg, list),
        "secaggplus": (secagg, lambda: [SecAggPlusMod(random_state=ctx.seed)]),
        "he": (
            lambda: HEFedAvg(keys.server_context.read_bytes(), fraction_evaluate=0.0),
            lambda: [HEMod(keys.client_context)],
        ),
        "he_secaggplus": (
            lambda **kw: HESecAggPlus(
                fedavg(),
                public_bytes(bfv),
                num_shares=0.1,
                reconstruction_threshold=0.5,
                min_survivors=0.9,
                random_state=ctx.seed,
                **kw,
            ),
            lambda: [HESecAggPlusMod(bfv.serialize(save_secret_key=True), random_state=ctx.seed)],
            _with_key_id(load_context(bfv.serialize(save_secret_key=True), expect_secret=True)),
        ),  # fmt: skip
    }
    for eps in epsilons:
        z = noise_multiplier_for(eps, DELTA, rounds)
        out[f"secaggplus_ddp_eps{eps:g}"] = (
            lambda: secagg(max_weight=1.0),
            lambda z=z: [SecAggPlusMod(random_state=ctx.seed),
                         DistributedDPMod(noise_multiplier=z, clipping_norm=CLIP,
                                          random_state=ctx.seed)],
        )  # fmt: skip
        out[f"central_dp_eps{eps:g}"] = (
            lambda z=z: DifferentialPrivacyServerSideFixedClipping(
                fedavg(), noise_multiplier=z, clipping_norm=CLIP, num_sampled_clients=n
            ),
            list,
        )
        out[f"local_dp_eps{eps:g}"] = (
            fedavg,
            lambda eps=eps: [DPMod(clipping_norm=CLIP, epsilon=eps / rounds, delta=DELTA / rounds,
                                   mechanism="gaussian", random_state=ctx.seed)],
        )  # fmt: skip
        if not ctx.quick:
            out.update(_more_ddp(ctx, out, eps, z, n))
    return out


def _more_ddp(ctx: RunContext, base: dict, eps: float, z: float, n: int) -> dict:
    """Distributed DP under plaintext FedAvg and single-key HE (no survivor floor there: each
    client assumes all ``n`` report; the server, resp. server + 1 client, sees every update with
    its noise share only) and under HE + SecAgg+ (full setting)."""
    from ..privacy.federated import DistributedDPMod

    def ddp(**kw: Any) -> DistributedDPMod:
        return DistributedDPMod(noise_multiplier=z, clipping_norm=CLIP, random_state=ctx.seed,
                                **kw)  # fmt: skip

    plain, he, hs = base["plaintext"], base["he"], base["he_secaggplus"]
    return {
        f"plaintext_ddp_eps{eps:g}": (plain[0], lambda: [ddp(min_survivors=n)]),
        f"he_ddp_eps{eps:g}": (he[0], lambda: [*he[1](), ddp(min_survivors=n)]),
        f"he_secaggplus_ddp_eps{eps:g}": (
            lambda: hs[0](max_weight=1.0),
            lambda: [*hs[1](), ddp()],
            hs[2],
        ),
    }


def _run_one(name: str, spec: tuple, data: tuple, n: int, rounds: int, seed: int,
             secret: Any) -> dict[str, Any]:  # fmt: skip
    import torch
    from flwr.app import ArrayRecord, ConfigRecord

    from ..privacy.federated import LocalGrid, decrypt_aggregate, decrypt_arrays
    from ..privacy.federated._ckks import META_KEY
    from ..privacy.federated._secagg import HE_META

    x, y, xt, yt = data
    strategy = spec[0]()
    grid = LocalGrid(_client_app(x, y, n, spec[1](), seed), n)
    torch.manual_seed(seed)
    initial = ArrayRecord(torch.nn.Linear(x.shape[1], 10).state_dict())
    arrays_by_round: dict[int, dict[str, np.ndarray]] = {}

    def evaluate(rnd: int, arrays: ArrayRecord) -> Any:
        if rnd == 0:
            return None
        if META_KEY in arrays:
            arrays = decrypt_arrays(arrays, secret)
        elif HE_META in arrays:
            ctx, kid = spec[2]  # the experimenter holds the key
            arrays = decrypt_aggregate(arrays, ctx, expected_key_id=kid)
        w = {k: v.numpy().astype(np.float64) for k, v in arrays.items()}
        arrays_by_round[rnd] = w
        return None

    start = time.perf_counter()
    result = strategy.start(
        grid=grid, initial_arrays=initial, num_rounds=rounds,
        train_config=ConfigRecord({}), evaluate_fn=evaluate,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    acc = {}
    for rnd, w in arrays_by_round.items():
        logits = xt @ w["weight"].T + w["bias"]
        acc[rnd] = float((logits.argmax(1) == yt).mean())
    n_params = sum(v.size for v in arrays_by_round[min(arrays_by_round)].values())
    up = sum(grid.bytes_received_.values()) / (n * rounds)
    down = sum(grid.bytes_sent_.values()) / (n * rounds)
    return {"acc": acc, "round1": arrays_by_round.get(1), "seconds": seconds / rounds,
            "up_ratio": up / (4.0 * n_params), "down_ratio": down / (4.0 * n_params),
            "metrics": result.train_metrics_clientapp, "strategy": strategy}  # fmt: skip


class SecureAggregationExperiment(Experiment):
    """Accuracy, bytes, seconds and aggregation error per protection (issue 21)."""

    name = "secure-aggregation"
    title = "SecAgg+ vs single-key HE vs plaintext FedAvg, distributed vs local vs central DP"
    reference = "Bell et al. CCS 2020 (SecAgg+); McMahan et al. ICLR 2018; Kairouz et al. 2021"

    def run(self, ctx: RunContext) -> dict[str, float]:
        from ..privacy.federated import provision
        from ..privacy.federated._ckks import load_context

        data = _data(ctx)
        mnist = ctx.data_root is not None
        n = (100 if ctx.quick else 200) if mnist else 20
        rounds = 5 if ctx.quick else 10
        epsilons = (2.0, 8.0)
        results: dict[str, Any] = {"n_clients": n, "rounds": rounds, "delta": DELTA,
                                   "clipping_norm": CLIP, "dataset": "mnist" if mnist else "digits"}  # fmt: skip
        curves: dict[str, list[float]] = {}
        with tempfile.TemporaryDirectory() as tmp:
            keys = provision(tmp)
            secret = load_context(keys.client_context.read_bytes(), expect_secret=True)
            runs = _protections(ctx, rounds, epsilons, keys, n)
            plain = None
            for name, spec in runs.items():
                out = _run_one(name, spec, data, n, rounds, ctx.seed, secret)
                plain = out if name == "plaintext" else plain
                self._record(results, name, out, plain)
                curves[name] = [out["acc"][r] for r in sorted(out["acc"])]
        for eps in epsilons:
            from ..privacy.federated import noise_multiplier_for

            results[f"noise_multiplier_eps{eps:g}"] = noise_multiplier_for(eps, DELTA, rounds)
        results["chance_accuracy"] = 0.1
        self._plot(ctx, curves)
        return results

    @staticmethod
    def _record(results: dict, name: str, out: dict, plain: dict | None) -> None:
        for r, a in out["acc"].items():
            results[f"{name}_acc_round_{r}"] = a
        results[f"{name}_bytes_ratio_vs_float32"] = out["up_ratio"]
        results[f"{name}_download_bytes_ratio_vs_float32"] = out["down_ratio"]
        results[f"{name}_seconds_round"] = out["seconds"]
        metrics = out["metrics"]
        for key, step in (("secagg-setup-seconds", "setup"), ("secagg-unmask-seconds", "unmask"),
                          ("secagg-mask-seconds", "mask"), ("he-encrypt-seconds", "encrypt"),
                          ("he-aggregate-seconds", "aggregate")):  # fmt: skip
            vals = [float(m[key]) for m in metrics.values() if key in m]
            if vals:
                results[f"{name}_seconds_{step}"] = float(np.mean(vals))
        if plain is not None and out["round1"] is not None:
            results[f"{name}_max_abs_error"] = max(
                float(np.abs(out["round1"][k] - plain["round1"][k]).max()) for k in plain["round1"]
            )
        aborted = getattr(out["strategy"], "aborted_", [])
        results[f"{name}_aborted_rounds"] = len(aborted)

    @staticmethod
    def _plot(ctx: RunContext, curves: dict[str, list[float]]) -> None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4.2))
        for name, acc in curves.items():
            style = "--" if "local" in name else ":" if "central" in name else "-"
            ax.plot(range(1, len(acc) + 1), acc, style, marker="o", ms=3, label=name)
        ax.axhline(0.1, color="k", lw=0.6)
        ax.set_xlabel("round")
        ax.set_ylabel("test accuracy (held-out images)")
        ax.legend(fontsize=7, ncol=2)
        save_figure(fig, ctx.out_dir / "accuracy_per_round.png")
