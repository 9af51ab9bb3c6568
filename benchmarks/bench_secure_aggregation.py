"""SecAgg+ vs single-key CKKS (HEFedAvg's packing) vs plaintext FedAvg, 1M parameters, 10 and
100 clients, same run. SecAgg+ runs the real SecAggPlus strategy and SecAggPlusMod on the
in-process LocalGrid (all four stages, Flower messages serialised to count bytes; the clients
run one after another in this process, so client seconds are per client); HE runs the CKKS
helpers HEFedAvg / HEMod use (server adds as replies come); HE + SecAgg+ runs HESecAggPlus /
HESecAggPlusMod on the LocalGrid (up to --he-secaggplus-up-to clients); plaintext is the
weighted mean.

Run: python benchmarks/bench_secure_aggregation.py [--params 1000000] [--clients 10 100]
     [--skip-he-above 10]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from typing import Any

import numpy as np
from flwr.app import Array, ArrayRecord, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp.strategy import FedAvg

from ai4media_ext.privacy.federated import (
    DEFAULT_PARAMS,
    HESecAggPlus,
    HESecAggPlusMod,
    LocalGrid,
    SecAggPlus,
    SecAggPlusMod,
    decrypt_aggregate,
    make_bfv_context,
    make_context,
    public_bytes,
)
from ai4media_ext.privacy.federated._ckks import decrypt, encrypt, load_context, sum_ciphertexts
from ai4media_ext.privacy.federated.local_grid import FIRST_NODE_ID


def secaggplus(updates: dict, counts: dict, params: int, bfv: Any = None) -> dict:
    """One SecAgg+ round (or HE + SecAgg+ with a BFV secret context ``bfv``)."""
    if bfv is None:
        mods, wrap, extra = [SecAggPlusMod(random_state=0)], SecAggPlus, {}
    else:
        secret = bfv.serialize(save_secret_key=True)
        mods, wrap = [HESecAggPlusMod(secret, random_state=0)], HESecAggPlus
        extra = {"public_context": public_bytes(bfv)}
    app = ClientApp(mods=mods)

    @app.train()
    def train(msg: Message, ctx) -> Message:
        rec = RecordDict({"arrays": ArrayRecord({"w": Array(updates[ctx.node_id])}),
                          "metrics": MetricRecord({"num-examples": counts[ctx.node_id]})})  # fmt: skip
        return Message(rec, reply_to=msg)

    n = len(updates)
    grid = LocalGrid(app, n)
    strategy = wrap(FedAvg(fraction_evaluate=0.0, min_available_nodes=n, min_train_nodes=n),
                    num_shares=1.0 if n <= 10 else 0.1, reconstruction_threshold=0.5,
                    random_state=0, **extra)  # fmt: skip
    start = time.perf_counter()
    result = strategy.start(grid=grid, initial_arrays=ArrayRecord({"w": Array(np.zeros(params,
                            np.float32))}), num_rounds=1)  # fmt: skip
    seconds = time.perf_counter() - start
    metrics = result.train_metrics_clientapp[1]
    arrays = result.arrays
    if bfv is not None:
        arrays = decrypt_aggregate(arrays, load_context(secret, expect_secret=True))
    out = arrays["w"].numpy().astype(np.float64)
    return {"round_s": seconds, "client_mask_s": float(metrics["secagg-mask-seconds"]),
            "server_setup_s": float(metrics["secagg-setup-seconds"]),
            "server_unmask_s": float(metrics["secagg-unmask-seconds"]),
            "upload_bytes_per_client": sum(grid.bytes_received_.values()) / n,
            "aggregate": out}  # fmt: skip


def he(updates: dict, counts: dict) -> dict:
    """HEFedAvg's CKKS packing; the server adds each client's ciphertexts as they come
    (HEFedAvg's running sum), so memory stays at one client's ciphertexts plus the sum."""
    import tenseal as ts

    key = make_context(**DEFAULT_PARAMS)
    server = load_context(public_bytes(key))
    unit, total, enc, agg, size = 1024.0, None, 0.0, 0.0, 0
    for i, u in updates.items():
        start = time.perf_counter()
        blobs = encrypt(key, u.astype(np.float64) * (counts[i] / unit))
        enc += time.perf_counter() - start
        size = sum(len(b) for b in blobs)
        start = time.perf_counter()
        vectors = [ts.ckks_vector_from(server, b) for b in blobs]
        total = vectors if total is None else sum_ciphertexts([total, vectors])
        agg += time.perf_counter() - start
    start = time.perf_counter()
    out = decrypt(key, [v.serialize() for v in total]) / (sum(counts.values()) / unit)
    dec = time.perf_counter() - start
    return {"client_encrypt_s": enc / len(updates), "server_aggregate_s": agg,
            "client_decrypt_s": dec, "upload_bytes_per_client": float(size), "aggregate": out}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--skip-he-above", type=int, default=10**9)
    parser.add_argument("--he-secaggplus-up-to", type=int, default=10)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    report = []
    for n in args.clients:
        rng = np.random.default_rng(0)
        ids = [FIRST_NODE_ID + i for i in range(n)]
        updates = {i: rng.normal(scale=0.05, size=args.params).astype(np.float32) for i in ids}
        counts = {i: int(rng.integers(500, 1000)) for i in ids}
        start = time.perf_counter()
        plain = sum(counts[i] * updates[i].astype(np.float64) for i in ids) / sum(counts.values())
        row = {"clients": n, "params": args.params, "plaintext_aggregate_s": time.perf_counter() - start,
               "float32_bytes_per_client": 4 * args.params}  # fmt: skip
        sa = secaggplus(updates, counts, args.params)
        row.update({f"secaggplus_{k}": v for k, v in sa.items() if k != "aggregate"})
        row["secaggplus_max_abs_error"] = float(np.abs(sa["aggregate"] - plain).max())
        row["secaggplus_bytes_ratio_vs_float32"] = sa["upload_bytes_per_client"] / (4 * args.params)
        if n <= args.skip_he_above:
            h = he(updates, counts)
            row.update({f"he_{k}": v for k, v in h.items() if k != "aggregate"})
            row["he_max_abs_error"] = float(np.abs(h["aggregate"] - plain).max())
            row["he_bytes_ratio_vs_float32"] = h["upload_bytes_per_client"] / (4 * args.params)
        if n <= args.he_secaggplus_up_to:
            hs = secaggplus(updates, counts, args.params, bfv=make_bfv_context())
            row.update({f"he_secaggplus_{k}": v for k, v in hs.items() if k != "aggregate"})
            row["he_secaggplus_max_abs_error"] = float(np.abs(hs["aggregate"] - plain).max())
            row["he_secaggplus_bytes_ratio_vs_float32"] = hs["upload_bytes_per_client"] / (
                4 * args.params
            )
        base = row["plaintext_aggregate_s"]  # ratios against the plaintext mean, same run
        row["secaggplus_server_time_ratio_vs_plaintext"] = (
            row["secaggplus_server_setup_s"] + row["secaggplus_server_unmask_s"]
        ) / base
        if "he_server_aggregate_s" in row:
            row["he_server_time_ratio_vs_plaintext"] = row["he_server_aggregate_s"] / base
        report.append(row)
        print(json.dumps(row, indent=2), flush=True)


if __name__ == "__main__":
    main()
