"""Secure federated learning on Flower: CKKS FedAvg vs plain FedAvg (and with DP), encrypted
inference on Iris, and CKKS ciphertext size / error vs parameters (seed §5.4, Figs. 17-18)."""

from __future__ import annotations

import tempfile
import time
from typing import Any

import numpy as np

from ._core import Experiment, RunContext, save_figure


def _simulate(overrides: dict[str, Any], n_clients: int) -> tuple[Any, dict[str, Any]]:
    from flwr.simulation import run_simulation

    from ..apps.secure_fl import make_client_app, make_server_app

    out: dict[str, Any] = {}
    run_simulation(
        make_server_app(overrides, lambda result, info: out.update(result=result, info=info)),
        make_client_app(overrides),
        num_supernodes=n_clients,
        backend_config={"client_resources": {"num_cpus": 1, "num_gpus": 0.0}},
    )
    if "result" not in out:
        raise RuntimeError(f"the Flower simulation with {overrides} did not finish")
    return out["result"], out["info"]


def aggregation_error(
    cfg: dict[str, Any], secret: bytes, public: bytes, n_clients: int
) -> dict[str, float]:
    """Real client updates (one local epoch each from a common start) aggregated by HEFedAvg
    through the client mod, and by plain weighted FedAvg: max abs difference and timings."""
    import torch
    from flwr.app import (
        Array,
        ArrayRecord,
        ConfigRecord,
        Context,
        Message,
        Metadata,
        MetricRecord,
        RecordDict,
    )

    from ..apps.secure_fl import load_partition, make_model
    from ..privacy.federated import HEFedAvg, decrypt_arrays, make_he_mod
    from ..privacy.federated._ckks import load_context

    def message(content: RecordDict, node: int) -> Message:
        meta = Metadata(run_id=1, message_id=str(node), src_node_id=node, dst_node_id=0,
                        reply_to_message_id="", group_id="1", created_at=time.time(), ttl=60.0,
                        message_type="train")  # fmt: skip
        return Message(content=content, metadata=meta)

    torch.manual_seed(cfg["seed"])
    start_state = {k: v.numpy().copy() for k, v in make_model(cfg).state_dict().items()}
    strategy = HEFedAvg(public)
    mod = make_he_mod(secret)
    replies, weights, ns, enc_s = [], [], [], []
    for pid in range(n_clients):
        x, y, _, _ = load_partition(cfg, pid, n_clients)
        model = make_model(cfg)
        model.load_state_dict({k: torch.from_numpy(v) for k, v in start_state.items()})
        opt = torch.optim.SGD(model.parameters(), lr=cfg["learning-rate"], momentum=0.9)
        # numpy indexing, not train_epochs' torch indexing: a torch-indexed (n, 1, 28, 28) batch
        # has other strides, a different conv kernel and last-bit different weights
        for idx in torch.randperm(len(x)).split(32):
            opt.zero_grad()
            xb, yb = torch.from_numpy(x[idx]), torch.from_numpy(y[idx]).long()
            torch.nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()
        w = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
        weights.append(w)
        ns.append(len(x))
        cfg_rec = strategy._with_he_config(ConfigRecord({"server-round": 1}))
        sent = ArrayRecord({k: Array(v) for k, v in start_state.items()})
        instruction = message(RecordDict({"arrays": sent, "config": cfg_rec}), pid + 1)

        def app(
            msg: Message, context: Any, w: dict = w, n: int = len(x), node: int = pid + 1
        ) -> Message:
            return message(RecordDict({"arrays": ArrayRecord({k: Array(v) for k, v in w.items()}),
                                       "metrics": MetricRecord({"num-examples": n})}), node)  # fmt: skip

        ctx = Context(run_id=1, node_id=pid + 1, node_config={}, state=RecordDict(), run_config={})
        reply = mod(instruction, ctx, app)
        enc_s.append(reply.content["metrics"]["he-encrypt-seconds"])
        replies.append(reply)
    t0 = time.perf_counter()
    arrays, _ = strategy.aggregate_train(1, replies)
    agg_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    decrypted = decrypt_arrays(arrays, load_context(secret, expect_secret=True))
    dec_s = time.perf_counter() - t0
    err, scale = _error_vs_plain_fedavg(decrypted, weights, ns)
    he_bytes = float(
        np.mean(
            [sum(len(c) for c in r.content.config_records["he"]["ciphertexts"]) for r in replies]
        )
    )
    n_params = sum(v.size for v in weights[0].values())
    return {
        "max_abs_error_vs_plain": err,
        "max_rel_error_vs_plain": err / scale,
        "client_encrypt_s": float(np.mean(enc_s)),
        "server_aggregate_s": agg_s,
        "client_decrypt_s": dec_s,
        "bytes_per_client_he": he_bytes,
        "bytes_per_client_float32": 4.0 * n_params,
        "bytes_ratio_vs_float32": he_bytes / (4.0 * n_params),
        "n_parameters": float(n_params),
    }


def _error_vs_plain_fedavg(
    decrypted: Any, weights: list[dict], ns: list[int]
) -> tuple[float, float]:
    """Max |HE aggregate - plain weighted FedAvg| over every value, and max |plain value|."""
    total = float(sum(ns))
    err, scale = 0.0, 0.0
    for k in weights[0]:
        plain = sum(n * w[k].astype(np.float64) for n, w in zip(ns, weights, strict=True)) / total
        err = max(err, float(np.abs(decrypted[k].numpy().astype(np.float64) - plain).max()))
        scale = max(scale, float(np.abs(plain).max()))
    return err, scale


def encrypted_iris(seed: int) -> dict[str, float]:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from ..privacy.federated.encrypted_inference import EncryptedLinearScorer, inference_context

    x, y = load_iris(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, random_state=seed, stratify=y)
    scaler = StandardScaler().fit(x_tr)
    model = LogisticRegression(max_iter=1000).fit(scaler.transform(x_tr), y_tr)
    ctx = inference_context()
    scorer = EncryptedLinearScorer(model)
    t0 = time.perf_counter()
    enc = scorer.encrypt(ctx, scaler.transform(x_te))
    pred = scorer.decrypt_predict(scorer.scores(enc))
    seconds = time.perf_counter() - t0
    return {
        "iris_acc_plain": float((model.predict(scaler.transform(x_te)) == y_te).mean()),
        "iris_acc_encrypted": float((pred == y_te).mean()),
        "iris_agreement_encrypted_vs_plain": float(
            (pred == model.predict(scaler.transform(x_te))).mean()
        ),
        "iris_encrypted_seconds_per_sample": seconds / len(y_te),
    }


class SecureFLExperiment(Experiment):
    """HE FedAvg vs plain FedAvg on Flower's Simulation Engine, with DP, plus encrypted inference."""

    name = "secure-fl"
    title = "Secure federated learning on Flower: CKKS-encrypted FedAvg and DP updates"
    reference = "AI4Media D4.1 §5.4, Fig. 17; NVFlare HE aggregation design; TenSEAL CKKS"

    def run(self, ctx: RunContext) -> dict[str, float]:
        from ..apps.secure_fl import settings
        from ..privacy.federated import provision

        n_clients = 10
        base = {
            "dataset": "mnist" if ctx.data_root is not None else "digits",
            "data-root": str(ctx.data_root or ""),
            "num-server-rounds": 5 if ctx.quick else 10,
            "local-epochs": 1 if ctx.data_root is not None else 5,
            "seed": ctx.seed,
        }
        results: dict[str, Any] = {"n_clients": n_clients, "rounds": base["num-server-rounds"]}
        runs = {"plain": {"he": False}, "he": {"he": True}}
        if not ctx.quick:
            runs["he_dp"] = {"he": True, "dp": True, "dp-mechanism": "gaussian", "dp-epsilon": 10.0,
                             "dp-delta": 1e-5, "clipping-norm": 2.0}  # fmt: skip
        curves = {}
        with tempfile.TemporaryDirectory() as keys:  # the secret key never reaches the output
            files = provision(keys)
            secret, public = files.client_context.read_bytes(), files.server_context.read_bytes()
            for name, extra in runs.items():
                start = time.perf_counter()
                result, _ = _simulate({**base, **extra, "key-dir": keys}, n_clients)
                results[f"{name}_seconds"] = time.perf_counter() - start
                acc = [
                    float(result.evaluate_metrics_clientapp[r]["accuracy"])
                    for r in sorted(result.evaluate_metrics_clientapp)
                ]
                curves[name] = acc
                for r, a in enumerate(acc, start=1):
                    results[f"acc_{name}_round_{r}"] = a
                train = result.train_metrics_clientapp
                last = train[max(train)]
                if "he-bytes" in last:
                    results[f"{name}_sim_bytes_ratio_vs_float32"] = float(last["he-bytes"]) / float(
                        last["plain-float32-bytes"]
                    )
                    results[f"{name}_sim_client_encrypt_s"] = float(
                        np.mean([float(train[r]["he-encrypt-seconds"]) for r in train])
                    )
                    results[f"{name}_sim_server_aggregate_s"] = float(
                        np.mean([float(train[r]["he-aggregate-seconds"]) for r in train])
                    )
                if "dp-epsilon" in last:
                    # every client trains every round (fraction_train = 1): its budget is the
                    # sum of the per-round epsilons it reported
                    results[f"{name}_dp_epsilon_per_client"] = sum(
                        float(train[r]["dp-epsilon"]) for r in train
                    )
                    results[f"{name}_dp_epsilon_total_reported_mean"] = float(
                        last["dp-epsilon-total"]
                    )
            results["final_acc_he"] = curves["he"][-1]
            results["final_acc_plain"] = curves["plain"][-1]
            results["final_acc_gap_points"] = 100 * abs(curves["he"][-1] - curves["plain"][-1])
            measured = aggregation_error(settings({}, base), secret, public, n_clients)
        results.update(measured)
        results.update(encrypted_iris(ctx.seed))
        self._plot(ctx, curves)
        return results

    @staticmethod
    def _plot(ctx: RunContext, curves: dict[str, list[float]]) -> None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.4))
        for name, acc in curves.items():
            ax.plot(
                range(1, len(acc) + 1),
                acc,
                marker="o",
                label={"plain": "FedAvg", "he": "HEFedAvg (CKKS)", "he_dp": "HEFedAvg + DP"}[name],
            )
        ax.set_xlabel("round")
        ax.set_ylabel("federated accuracy")
        ax.legend()
        save_figure(fig, ctx.out_dir / "accuracy_per_round.png")


class HESizeExperiment(Experiment):
    """CKKS ciphertext bytes and aggregation error vs poly modulus degree and moduli (Fig. 18)."""

    name = "he-size"
    title = "CKKS ciphertext size and aggregation error vs encryption parameters"
    reference = "AI4Media D4.1 §5.4, Fig. 18; NVFlare (8192, [60, 40, 40]); TenSEAL defaults"

    GRID = (
        (2048, (54,), 30), (4096, (60, 49), 40), (4096, (50, 50), 34), (4096, (40, 40), 26),
        (8192, (60, 40, 40, 60), 40), (8192, (60, 40, 40), 40), (8192, (60, 60), 40),
        (16384, (60, 40, 40, 40, 40, 60), 40),
    )  # fmt: skip

    def run(self, ctx: RunContext) -> dict[str, float]:

        from ..privacy.federated import make_context, public_bytes
        from ..privacy.federated._ckks import add_encrypted, decrypt, encrypt, load_context

        rng = np.random.default_rng(ctx.seed)
        n_params = 20_000 if ctx.quick else 200_000
        weights = [rng.normal(scale=0.05, size=n_params) for _ in range(10)]
        ns = rng.integers(500, 1500, size=10).astype(float)
        plain = sum(n * w for n, w in zip(ns, weights, strict=True)) / ns.sum()
        results: dict[str, Any] = {"n_parameters": n_params}
        rows = []
        for n, coeffs, scale in self.GRID:
            label = f"N{n}_{'-'.join(map(str, coeffs))}_s{scale}"
            try:
                key = make_context(n, coeffs, scale)
            except (ValueError, RuntimeError) as exc:
                results[f"{label}_error"] = str(exc)
                continue
            server = load_context(public_bytes(key))
            blobs = [encrypt(key, (w * n_i / 1024.0)) for w, n_i in zip(weights, ns, strict=True)]
            out = decrypt(key, add_encrypted(server, blobs)) / (ns.sum() / 1024.0)
            ratio = sum(len(b) for b in blobs[0]) / (4.0 * n_params)
            err = float(np.abs(out - plain).max())
            results[f"{label}_bytes_ratio_vs_float32"] = ratio
            results[f"{label}_max_abs_error"] = err
            results[f"{label}_max_rel_error"] = err / float(np.abs(plain).max())
            rows.append((label, ratio, err))
        self._plot(ctx, rows)
        return results

    @staticmethod
    def _plot(ctx: RunContext, rows: list[tuple[str, float, float]]) -> None:
        import matplotlib.pyplot as plt

        fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.8))
        labels = [r[0] for r in rows]
        a.barh(labels, [r[1] for r in rows])
        a.axvline(10, color="k", ls="--", lw=0.8)
        a.set_xlabel("ciphertext bytes / float32 bytes")
        b.barh(labels, [r[2] for r in rows])
        b.set_xscale("log")
        b.set_xlabel("max abs error of the 10-client weighted average")
        b.set_yticklabels([])
        save_figure(fig, ctx.out_dir / "he_size.png")
