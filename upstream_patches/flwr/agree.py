"""Agreement: ai4media_ext's HEFedAvg + HE client mod vs the Flower example's (fl-he-tenseal).

Run in the scratch environment of ``check.py flwr`` (Flower 1.42.0 with the example installed,
ai4media-ext installed with ``--no-deps``). One CKKS key pair; for three seeded sets of client
weights (a 64x10 layer, a bias and a 3000-value vector, 1 to 4 clients with different
num-examples), the encrypted FedAvg is run four ways: product clients + product server, example
clients + example server, and both crossings (the wire formats are the same). Each decrypted
aggregate must equal plaintext FedAvg to 1e-6 of the largest weight (CKKS is approximate and its
encryption randomised, so the four differ by noise only), the aggregated client metrics must be
equal, and a plaintext reply must be rejected by both servers. Exits 1 on a mismatch.
"""

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from fl_he_tenseal import mods as ex_mods
from fl_he_tenseal.strategy import HEFedAvg as ExampleHEFedAvg
from flwr.app import (
    Array,
    ArrayRecord,
    ConfigRecord,
    Context,
    Message,
    MessageType,
    Metadata,
    MetricRecord,
    RecordDict,
)

from ai4media_ext.privacy.federated import HEFedAvg, decrypt_arrays, make_context, make_he_mod
from ai4media_ext.privacy.federated import public_bytes as product_public_bytes


def message(content, node):
    meta = Metadata(run_id=1, message_id=f"m{node}", src_node_id=node, dst_node_id=0,
                    reply_to_message_id="", group_id="1", created_at=time.time(), ttl=60.0,
                    message_type=MessageType.TRAIN)  # fmt: skip
    return Message(content=content, metadata=meta)


def weights(rng):
    return {
        "weight": rng.normal(size=(64, 10)).astype(np.float32),
        "bias": rng.normal(size=10).astype(np.float32),
        "extra": rng.normal(size=3000).astype(np.float32),
    }


def reply(mod, w, n, node, config, run_config):
    arrays = ArrayRecord({k: Array(v) for k, v in w.items()})
    instruction = message(RecordDict({"arrays": arrays, "config": config}), node)
    ctx = Context(run_id=1, node_id=node, node_config={}, state=RecordDict(),
                  run_config=run_config)  # fmt: skip

    def app(msg, context):
        metrics = MetricRecord({"num-examples": n, "train_loss": float(node)})
        return message(RecordDict({"arrays": arrays, "metrics": metrics}), node)

    return mod(instruction, ctx, app)


def main():
    ctx = make_context()
    public = product_public_bytes(ctx)
    key_dir = Path(tempfile.mkdtemp())
    (key_dir / "client_context.bin").write_bytes(ctx.serialize(save_secret_key=True))
    clients = {
        "product": (make_he_mod(ctx.serialize(save_secret_key=True)), {}),
        "example": (ex_mods.he_mod, {"key-dir": str(key_dir)}),
    }
    servers = {"product": HEFedAvg, "example": ExampleHEFedAvg}
    decrypters = {"product": decrypt_arrays, "example": ex_mods.decrypt_arrays}
    checked = 0
    for seed in range(3):
        rng = np.random.default_rng(seed)
        ws = [weights(rng) for _ in range(seed + 2)]
        ns = [int(n) for n in rng.integers(10, 500, len(ws))]
        plain = {k: sum(n * w[k].astype(np.float64) for n, w in zip(ns, ws, strict=True)) / sum(ns)
                 for k in ws[0]}  # fmt: skip
        loss = sum(n * (i + 1) for i, n in enumerate(ns)) / sum(ns)
        for client_name, (mod, run_config) in clients.items():
            for server_name, server_cls in servers.items():
                server = server_cls(public)
                config = ConfigRecord({"server-round": 1})
                config = (server._with_he_config(config) if server_name == "product"
                          else server._he_config(config))  # fmt: skip
                replies = [reply(mod, w, n, i + 1, config, run_config)
                           for i, (w, n) in enumerate(zip(ws, ns, strict=True))]  # fmt: skip
                plain_reply = message(RecordDict({
                    "arrays": ArrayRecord({k: Array(v) for k, v in ws[0].items()}),
                    "metrics": MetricRecord({"num-examples": 5})}), 99)  # fmt: skip
                arrays, metrics = server.aggregate_train(1, replies + [plain_reply])
                out = decrypters[server_name](arrays, ctx)
                tag = f"seed={seed} clients={client_name} server={server_name}"
                if metrics["he-accepted"] != len(ws) or metrics["he-rejected"] != 1:
                    print(f"MISMATCH {tag}: accepted/rejected {dict(metrics)}")
                    return 1
                if abs(metrics["train_loss"] - loss) > 1e-12:
                    print(f"MISMATCH {tag}: train_loss {metrics['train_loss']} != {loss}")
                    return 1
                for k, v in plain.items():
                    err = np.abs(out[k].numpy() - v).max() / np.abs(v).max()
                    if not err <= 1e-6:
                        print(f"MISMATCH {tag} {k}: relative error {err:.3g}")
                        return 1
                    checked += 1
    print(f"agree: {checked} decrypted arrays equal plaintext FedAvg to 1e-6 (3 seeds x "
          f"2 client mods x 2 servers x 3 arrays); plaintext replies rejected by both")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
