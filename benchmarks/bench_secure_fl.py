"""HEFedAvg cost for 1M parameters and 10 clients vs plaintext FedAvg, same run: client
encryption, server aggregation (ciphertext additions, keyless), client decryption, bytes.

Run: python benchmarks/bench_secure_fl.py [--params 1000000] [--clients 10]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from ai4media_ext.privacy.federated import DEFAULT_PARAMS, make_context, public_bytes
from ai4media_ext.privacy.federated._ckks import add_encrypted, decrypt, encrypt, load_context


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--params", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    updates = [
        rng.normal(scale=0.05, size=args.params).astype(np.float32) for _ in range(args.clients)
    ]
    ns = rng.integers(500, 1500, size=args.clients).astype(float)
    unit = 1024.0

    start = time.perf_counter()
    plain = sum(n * u.astype(np.float64) for n, u in zip(ns, updates, strict=True)) / ns.sum()
    plain_s = time.perf_counter() - start

    key = make_context(**DEFAULT_PARAMS)
    server = load_context(public_bytes(key))
    start = time.perf_counter()
    blobs = [
        encrypt(key, u.astype(np.float64) * (n / unit)) for u, n in zip(updates, ns, strict=True)
    ]
    encrypt_s = (time.perf_counter() - start) / args.clients
    start = time.perf_counter()
    aggregate = add_encrypted(server, blobs)
    aggregate_s = time.perf_counter() - start
    start = time.perf_counter()
    out = decrypt(key, aggregate) / (ns.sum() / unit)
    decrypt_s = time.perf_counter() - start
    he_bytes = sum(len(b) for b in blobs[0])
    print(json.dumps({
        "params": args.params, "clients": args.clients, "ckks": DEFAULT_PARAMS,
        "client_encrypt_s": encrypt_s, "server_aggregate_s": aggregate_s, "client_decrypt_s": decrypt_s,
        "plain_fedavg_aggregate_s": plain_s,
        "aggregate_time_ratio_vs_plain": aggregate_s / plain_s,
        "bytes_per_client_he": he_bytes, "bytes_per_client_float32": 4 * args.params,
        "bytes_ratio_vs_float32": he_bytes / (4 * args.params),
        "max_abs_error_vs_plain": float(np.abs(out - plain).max()),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
