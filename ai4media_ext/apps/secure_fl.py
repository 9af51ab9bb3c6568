"""The secure-FL Flower App: a small CNN on real MNIST (or digits) across N clients, HE and DP
switchable by run config. ``plugins/flower_secure_fl`` exposes these apps to ``flwr run``.

Seed: AI4Media D4.1 §5.4 (secure federated learning), Flower's ClientApp / ServerApp API."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._compat import require

require("flwr", "fl")

from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict  # noqa: E402
from flwr.clientapp import ClientApp  # noqa: E402
from flwr.serverapp import Grid, ServerApp  # noqa: E402
from flwr.serverapp.strategy import FedAvg  # noqa: E402

from ..data.splits import scale_pixels  # noqa: E402

#: run-config keys and their defaults (the plugin's ``[tool.flwr.app.config]`` mirrors them)
DEFAULTS: dict[str, Any] = {
    "num-server-rounds": 5,
    "local-epochs": 1,
    "learning-rate": 0.05,
    "batch-size": 32,
    "dataset": "mnist",  # mnist (from data-root / $AI4MEDIA_EXT_DATA) or digits (scikit-learn)
    "data-root": "",
    "he": True,
    "key-dir": "",  # holds client_context.bin / server_context.bin (ai4media-ext he-keys DIR)
    "dp": False,
    "dp-mechanism": "laplace",
    "dp-epsilon": 10.0,
    "dp-delta": 1e-5,
    "clipping-norm": 10.0,
    "seed": 0,
    "result-path": "",  # the ServerApp writes the final global arrays here (.npz) when set
}


def settings(
    run_config: Mapping[str, Any], overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The run config completed with :data:`DEFAULTS`, ``overrides`` winning.

    Raises
    ------
    ValueError
        A key that is not in :data:`DEFAULTS` (a typo must not be ignored silently).
    """
    out = {**DEFAULTS, **dict(run_config), **dict(overrides or {})}
    unknown = set(out) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown run-config keys {sorted(unknown)}; valid: {sorted(DEFAULTS)}")
    return out


def load_partition(
    cfg: Mapping[str, Any], partition: int, n_partitions: int
) -> tuple[np.ndarray, ...]:
    """IID partition ``partition`` of the data set: (x_train, y_train, x_test, y_test), 80/20.

    ``x_*`` are float32 ``(n, 1, side, side)`` pixels in [0, 1], ``y_*`` int64 ``(n,)``.

    Raises
    ------
    ValueError
        An unknown ``dataset``.
    DataNotFoundError
        ``dataset = "mnist"`` and the MNIST files are not under the data root.
    """
    from .. import data as loaders

    if cfg["dataset"] == "mnist":
        x, y = loaders.load_mnist_test(cfg["data-root"] or None)
        x = scale_pixels(x)
    elif cfg["dataset"] == "digits":
        x, y = loaders.load_digits()
        x = scale_pixels(x, 16.0)
    else:
        raise ValueError(f"dataset must be 'mnist' or 'digits', got {cfg['dataset']!r}")
    order = np.random.default_rng(int(cfg["seed"])).permutation(len(y))
    part = np.array_split(order, n_partitions)[partition]
    cut = int(0.8 * len(part))
    return x[part[:cut]], y[part[:cut]], x[part[cut:]], y[part[cut:]]


def make_model(cfg: Mapping[str, Any]) -> Any:
    """The clients' network: :class:`~ai4media_ext.zoo.SmallCNN` for 28x28 MNIST or 8x8 digits."""
    from ..zoo.cnn import SmallCNN

    return SmallCNN(1, 28 if cfg["dataset"] == "mnist" else 8)


def _secure_mods(cfg: Mapping[str, Any]) -> list[Callable]:
    from ..privacy.federated.mods import make_dp_mod, make_he_mod

    mods = []
    if cfg["he"]:
        if not cfg["key-dir"]:
            raise ValueError(
                "he = true needs key-dir (create the keys with: ai4media-ext he-keys DIR)"
            )
        mods.append(make_he_mod(Path(cfg["key-dir"]) / "client_context.bin"))
    if cfg["dp"]:
        mods.append(make_dp_mod(
            clipping_norm=float(cfg["clipping-norm"]), epsilon=float(cfg["dp-epsilon"]),
            delta=float(cfg["dp-delta"]), mechanism=str(cfg["dp-mechanism"]),
        ))  # fmt: skip
    return mods


def _chain(mod: Callable, nxt: Callable) -> Callable[[Message, Context], Message]:
    return lambda msg, context: mod(msg, context, nxt)


def make_client_app(overrides: Mapping[str, Any] | None = None) -> ClientApp:
    """The ClientApp: local SGD (momentum 0.9, ``learning-rate``, ``batch-size``,
    ``local-epochs``) on its partition; HE/DP mods chosen from the run config (the HE mod
    outermost, so DP noise is added before encryption). Replies carry ``num-examples`` and
    ``train-loss`` (mean cross-entropy) or ``accuracy`` and ``eval-loss``.

    Raises (inside a round, as the message's error): ``ValueError`` for an unknown run-config
    key or ``he = true`` without ``key-dir``; ``HEError`` from the HE mod.
    """
    import torch

    from ..zoo.training import train_epochs

    app = ClientApp()
    cache: dict[str, Any] = {}

    def run_mods(
        msg: Message, context: Context, handler: Callable[[Message, Context], Message]
    ) -> Message:
        cfg = settings(context.run_config, overrides)
        key = repr(sorted(cfg.items()))
        if key not in cache:
            cache[key] = _secure_mods(cfg)
        call = handler
        for mod in reversed(cache[key]):
            call = _chain(mod, call)
        return call(msg, context)

    def data(context: Context, cfg: Mapping[str, Any]) -> tuple[np.ndarray, ...]:
        pid = int(context.node_config.get("partition-id", 0))
        n = int(context.node_config.get("num-partitions", 1))
        key = ("data", pid, n, cfg["dataset"], cfg["seed"])
        if key not in cache:
            cache[key] = load_partition(cfg, pid, n)
        return cache[key]

    def model_from(msg: Message, cfg: Mapping[str, Any]) -> Any:
        torch.manual_seed(int(cfg["seed"]))
        model = make_model(cfg)
        model.load_state_dict(msg.content["arrays"].to_torch_state_dict())
        return model

    def train(msg: Message, context: Context) -> Message:
        cfg = settings(context.run_config, overrides)
        x, y, _, _ = data(context, cfg)
        model = model_from(msg, cfg)
        opt = torch.optim.SGD(model.parameters(), lr=float(cfg["learning-rate"]), momentum=0.9)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y).long()
        gen = torch.Generator().manual_seed(
            int(cfg["seed"]) + int(msg.content["config"]["server-round"])
        )
        train_loss = train_epochs(
            model, xt, yt, opt, epochs=int(cfg["local-epochs"]),
            batch_size=int(cfg["batch-size"]), generator=gen,
        )  # fmt: skip
        metrics = MetricRecord({"num-examples": len(x), "train-loss": train_loss})
        content = RecordDict({"arrays": ArrayRecord(model.state_dict()), "metrics": metrics})
        return Message(content=content, reply_to=msg)

    def evaluate(msg: Message, context: Context) -> Message:
        cfg = settings(context.run_config, overrides)
        _, _, x, y = data(context, cfg)
        model = model_from(msg, cfg).eval()
        with torch.no_grad():
            logits = model(torch.from_numpy(x))
        acc = float((logits.argmax(1).numpy() == y).mean())
        loss = float(torch.nn.functional.cross_entropy(logits, torch.from_numpy(y).long()))
        content = RecordDict(
            {"metrics": MetricRecord({"accuracy": acc, "eval-loss": loss, "num-examples": len(x)})}
        )
        return Message(content=content, reply_to=msg)

    app.train()(lambda msg, context: run_mods(msg, context, train))
    app.evaluate()(lambda msg, context: run_mods(msg, context, evaluate))
    return app


def save_result(result: Any, path: str | Path) -> Path:
    """Write the final global model of Flower's ``Result`` to ``path`` (``.npz``, atomically):
    one array per ``ArrayRecord`` entry, plus ``__round_metrics__``, the JSON of the clients'
    aggregated train and evaluate metrics per round. With ``he = true`` the entries are the
    encrypted aggregate (ciphertext bytes as uint8 arrays) that only the clients' secret context
    decrypts (:func:`~ai4media_ext.privacy.federated.mods.decrypt_arrays`). On the Deployment
    Engine the ServerApp runs where the SuperLink runs, so ``path`` is a path on that machine."""
    import io
    import json

    from .._io import write_bytes_atomic

    metrics = {
        kind: {str(r): dict(m) for r, m in getattr(result, kind).items()}
        for kind in ("train_metrics_clientapp", "evaluate_metrics_clientapp")
    }
    arrays = {k: v.numpy() for k, v in result.arrays.items()}
    buf = io.BytesIO()
    np.savez(buf, __round_metrics__=np.array(json.dumps(metrics)), **arrays)
    return write_bytes_atomic(path, buf.getvalue())


def make_server_app(
    overrides: Mapping[str, Any] | None = None,
    on_result: Callable[[Any, Mapping[str, Any]], None] | None = None,
) -> ServerApp:
    """The ServerApp: ``HEFedAvg`` (public context from key-dir) or Flower's ``FedAvg``, all
    clients every round, federated evaluation on the clients' held-out data; ``on_result``
    receives Flower's ``Result`` and ``{"seconds", "strategy", "settings"}``.

    Raises (when the app runs): ``ValueError`` for an unknown run-config key,
    ``FileNotFoundError`` for a missing ``server_context.bin``, ``HEError`` for an aggregate
    beyond the CKKS headroom or a context holding the secret key.
    """
    import torch

    from ..privacy.federated.he_fedavg import HEFedAvg

    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        cfg = settings(context.run_config, overrides)
        torch.manual_seed(int(cfg["seed"]))
        initial = ArrayRecord(make_model(cfg).state_dict())
        common = {"fraction_train": 1.0, "fraction_evaluate": 1.0}
        if cfg["he"]:
            public = (Path(cfg["key-dir"]) / "server_context.bin").read_bytes()
            strategy = HEFedAvg(public, **common)
        else:
            strategy = FedAvg(**common)
        start = time.perf_counter()
        result = strategy.start(
            grid=grid, initial_arrays=initial, num_rounds=int(cfg["num-server-rounds"]),
            train_config=ConfigRecord({"lr": float(cfg["learning-rate"])}),
        )  # fmt: skip
        if cfg["result-path"]:
            save_result(result, cfg["result-path"])
        if on_result is not None:
            on_result(
                result,
                {"seconds": time.perf_counter() - start, "strategy": strategy, "settings": cfg},
            )

    return app
