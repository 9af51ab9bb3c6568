"""The secure-FL Flower App on Flower's Deployment Engine (issue 21 item 5).

Real ``flower-superlink`` and ``flower-supernode`` processes on loopback, TLS certificates and
SuperNode keys generated at start, SuperNode authentication enabled (an unregistered SuperNode is refused), the App submitted with
``flwr run <app> <connection>`` against a connection entry in a temporary ``FLWR_HOME``, once
with FedAvg and once with HEFedAvg (CKKS keys made here; the encrypted aggregate the ServerApp
writes is opened with a client's secret key). Only the
processes this test launches are stopped (each started in its own process group, ended by that
group's id; descendants the Flower processes start in sessions of their own are tracked and
ended by pid). Both global models must equal plaintext FedAvg computed here from the same
ClientApp.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("flwr")
pytest.importorskip("psutil")

from flwr.app import Array, ArrayRecord  # noqa: E402

from ai4media_ext.apps.deployment import write_supernode_keys, write_tls_certificates  # noqa: E402
from ai4media_ext.privacy.federated import decrypt_arrays, provision  # noqa: E402
from ai4media_ext.privacy.federated._ckks import load_context  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "plugins" / "flower_secure_fl"
ROUNDS, NODES = 2, 2
RUN_CONFIG = {"dataset": "digits", "he": False, "num-server-rounds": ROUNDS, "local-epochs": 1}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _flower_scripts(directory: Path) -> Path:
    """Flower's console scripts as shims running on this interpreter: the SuperLink and
    SuperNodes start ``flower-superexec``, ``flwr-serverapp`` and ``flwr-clientapp`` by name,
    and those must import the ai4media-ext installed here."""
    from importlib.metadata import distribution

    directory.mkdir()
    for ep in distribution("flwr").entry_points:
        if ep.group != "console_scripts":
            continue
        module, func = ep.value.split(":")
        shim = directory / ep.name
        shim.write_text(
            f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -c "
            f"'import sys; from {module} import {func} as main; sys.exit(main())' \"$@\"\n"
        )
        shim.chmod(0o755)
    return directory


class Processes:
    """Processes started here, each in a new session; stopped by their own group ids only."""

    def __init__(self, logs: Path, env: dict[str, str]) -> None:
        self.logs, self.env, self.started = logs, env, []
        self.spawned: dict[int, object] = {}  # descendants seen so far (psutil.Process by pid)

    def snapshot(self) -> None:
        """Remember the descendants of the launched processes (SuperExec, ServerApp and
        ClientApp processes run in sessions of their own and may outlive their parent)."""
        import psutil

        for _, proc, _ in self.started:
            try:
                for child in psutil.Process(proc.pid).children(recursive=True):
                    self.spawned.setdefault(child.pid, child)
            except psutil.NoSuchProcess:
                pass

    def start(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 (closed in stop_all)
        proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
        )
        self.started.append((name, proc, log))
        return proc

    def stop_all(self) -> None:
        """SIGTERM to each launched group, then to any descendant the Flower processes started
        in sessions of their own (SuperExec, ServerApp, ClientApp), by pid; SIGKILL after 15 s."""
        import psutil

        self.snapshot()
        spawned = list(self.spawned.values())
        for _, proc, _ in reversed(self.started):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)  # the group this test created
        deadline = time.monotonic() + 15
        for _, proc, log in reversed(self.started):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            log.close()
        alive = [p for p in spawned if p.is_running()]
        for child in alive:
            child.terminate()
        _, alive = psutil.wait_procs(alive, timeout=10)
        for child in alive:
            child.kill()
        self.leftovers = [p.pid for p in spawned if p.is_running() and p.status() != "zombie"]

    def tail(self) -> str:
        out = []
        for name, _, _ in self.started:
            text = (self.logs / f"{name}.log").read_text(errors="replace")
            out.append(f"--- {name} ---\n{text[-3000:]}")
        return "\n".join(out)


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"port {port} did not open within {timeout} s")


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return f'"{v}"' if isinstance(v, str) else str(v)


def _federation(tmp: Path, address: str, ca: Path) -> tuple[Path, Path]:
    """A copy of the App, and ``$FLWR_HOME/config.toml`` with the loopback SuperLink as the
    ``loopback`` connection (Flower 1.42's federation entry; ``flwr run`` migrates the App's
    legacy ``[tool.flwr.federations]`` into it and comments them out in the copy, never in the
    repository)."""
    app = tmp / "app"
    shutil.copytree(APP, app, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    home = tmp / "flwr_home"
    home.mkdir()
    (home / "config.toml").write_text(
        '[superlink]\ndefault = "loopback"\n\n[superlink.loopback]\n'
        f'address = "{address}"\nroot-certificates = "{ca}"\n'
    )
    return app, home


def _plaintext_fedavg(rounds: int, nodes: int) -> dict[str, np.ndarray]:
    """Flower FedAvg's rule (weights = num-examples) over the same ClientApp's train replies,
    computed in this process (float64), round after round."""
    from flwr.supercore.task_identity import TaskIdentity

    # the identity a ServerApp task has, so that instruction Messages can be built here
    saved = (TaskIdentity._run_id, TaskIdentity._node_id, TaskIdentity._task_id)
    TaskIdentity.run_id, TaskIdentity.node_id, TaskIdentity.task_id = 1, 0, 1
    try:
        return _fedavg_rounds(rounds, nodes)
    finally:
        TaskIdentity._run_id, TaskIdentity._node_id, TaskIdentity._task_id = saved


def _fedavg_rounds(rounds: int, nodes: int) -> dict[str, np.ndarray]:
    import torch
    from flwr.app import ArrayRecord, ConfigRecord, Context, Message, RecordDict

    from ai4media_ext.apps.secure_fl import make_client_app, make_model, settings

    cfg = settings(RUN_CONFIG)
    torch.manual_seed(int(cfg["seed"]))
    state = {k: v.detach().clone() for k, v in make_model(cfg).state_dict().items()}
    app = make_client_app()
    for server_round in range(1, rounds + 1):
        replies = []
        for pid in range(nodes):
            content = RecordDict({
                "arrays": ArrayRecord(state),
                "config": ConfigRecord({"lr": float(cfg["learning-rate"]),
                                        "server-round": server_round}),
            })  # fmt: skip
            msg = Message(content=content, dst_node_id=pid + 1, message_type="train")
            context = Context(
                run_id=1, node_id=pid + 1, state=RecordDict(),
                node_config={"partition-id": pid, "num-partitions": nodes},
                run_config=dict(RUN_CONFIG),
            )  # fmt: skip
            replies.append(app(msg, context).content)
        weights = np.array([r["metrics"]["num-examples"] for r in replies], dtype=np.float64)
        new = {}
        for key in state:
            stacked = np.stack([r["arrays"].to_torch_state_dict()[key].numpy() for r in replies])
            new[key] = torch.from_numpy(
                np.tensordot(weights / weights.sum(), stacked.astype(np.float64), axes=1)
            ).to(state[key].dtype)
        state = new
    return {k: v.numpy() for k, v in state.items()}


def _flwr(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(["flwr", *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_secure_fl_app_on_the_deployment_engine(tmp_path):
    start = time.perf_counter()
    certs = write_tls_certificates(tmp_path / "certs", hosts=("127.0.0.1", "localhost"))
    keys = [write_supernode_keys(tmp_path / "keys", f"supernode-{i}") for i in range(NODES)]
    port = _free_port()  # Flower 1.42 serves the Fleet, Control and Runtime APIs on one port
    address = f"127.0.0.1:{port}"
    app, home = _federation(tmp_path, address, certs["ca"])
    bin_dir = _flower_scripts(tmp_path / "bin")
    env = {
        **os.environ,
        "FLWR_HOME": str(home),
        "FLWR_DISABLE_UPDATE_CHECK": "1",
        "FLWR_TELEMETRY_ENABLED": "0",
        "OMP_NUM_THREADS": "1",
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    results = {p: tmp_path / "result" / f"{p}.npz" for p in ("plain", "he")}
    he_keys = provision(tmp_path / "he_keys")  # CKKS keys, as `ai4media-ext he-keys DIR`
    he_config = {"he": True, "key-dir": str(Path(he_keys.client_context).parent)}
    procs = Processes(tmp_path, env)
    timings: dict[str, float] = {}
    try:
        superlink = procs.start("superlink", [
            str(bin_dir / "flower-superlink"),
            "--ssl-ca-certfile", str(certs["ca"]),
            "--ssl-certfile", str(certs["cert"]),
            "--ssl-keyfile", str(certs["key"]),
            "--enable-supernode-auth",
            "--host", "127.0.0.1", "--port", str(port),
            "--disable-runtime-dependency-installation",
        ])  # fmt: skip
        _wait_for_port(port, superlink)
        timings["superlink_up_s"] = round(time.perf_counter() - start, 1)
        # the federation owner registers each SuperNode's public key
        for i, key in enumerate(keys):
            done = _flwr(["supernode", "register", str(key["public"]), "loopback",
                          "--name", f"supernode-{i}"], env, 120)  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr + procs.tail()
        for i, key in enumerate(keys):
            procs.start(f"supernode-{i}", [
                str(bin_dir / "flower-supernode"),
                "--superlink", address,
                "--root-certificates", str(certs["ca"]),
                "--auth-supernode-private-key", str(key["private"]),
                "--node-config", f"partition-id={i} num-partitions={NODES}",
                "--port", str(_free_port()),
            ])  # fmt: skip
        # a SuperNode whose key was never registered is refused by the SuperLink
        stranger = write_supernode_keys(tmp_path / "keys", "stranger")
        intruder = procs.start("stranger", [
            str(bin_dir / "flower-supernode"), "--superlink", address,
            "--root-certificates", str(certs["ca"]),
            "--auth-supernode-private-key", str(stranger["private"]),
            "--node-config", f"partition-id=0 num-partitions={NODES}",
            "--port", str(_free_port()), "--max-retries", "2", "--max-wait-time", "20",
        ])  # fmt: skip
        for protection, extra in (("plain", {"he": False}), ("he", he_config)):
            path = results[protection]
            overrides = " ".join(
                f"{k}={_toml_value(v)}"
                for k, v in {**RUN_CONFIG, **extra, "result-path": str(path)}.items()
            )
            procs.snapshot()
            run = _flwr(["run", str(app), "loopback", "--run-config", overrides, "--stream"],
                        env, 600)  # fmt: skip
            procs.snapshot()
            assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:] + procs.tail()
            deadline = time.monotonic() + 120
            while not path.exists() and time.monotonic() < deadline:
                time.sleep(0.5)
            assert path.exists(), run.stdout[-4000:] + procs.tail()
            timings[f"flwr_run_{protection}_done_s"] = round(time.perf_counter() - start, 1)
    finally:
        procs.stop_all()
        timings["stopped_s"] = round(time.perf_counter() - start, 1)
    assert procs.leftovers == []  # nothing this test started outlives it
    stranger_log = (tmp_path / "stranger.log").read_text(errors="replace")
    assert intruder.returncode not in (None, 0, -signal.SIGTERM), stranger_log
    assert "Failed to activate SuperNode" in stranger_log, stranger_log
    superlink_log = (tmp_path / "superlink.log").read_text(errors="replace")
    assert "No SuperNode found with the given public key" in superlink_log
    expected = _plaintext_fedavg(ROUNDS, NODES)
    with np.load(results["plain"], allow_pickle=False) as data:
        deployed = {k: data[k] for k in data.files if k != "__round_metrics__"}
    assert set(deployed) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(deployed[key], value, rtol=1e-5, atol=1e-6, err_msg=key)
    worst = max(float(np.abs(deployed[k] - v).max()) for k, v in expected.items())
    # HEFedAvg: the server holds only the encrypted aggregate; a client's secret key opens it
    with np.load(results["he"], allow_pickle=False) as data:
        record = ArrayRecord({k: Array(data[k]) for k in data.files if k != "__round_metrics__"})
    secret = load_context(Path(he_keys.client_context).read_bytes(), expect_secret=True)
    opened = decrypt_arrays(record, secret).to_torch_state_dict()
    assert set(opened) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(opened[key].numpy(), value, rtol=1e-5, atol=1e-6, err_msg=key)
    worst_he = max(float(np.abs(opened[k].numpy() - v).max()) for k, v in expected.items())
    print(f"deployment engine: {timings}, total {time.perf_counter() - start:.1f} s, "
          f"max |deployed - plaintext FedAvg| = {worst:.3g} (FedAvg), {worst_he:.3g} (HEFedAvg)")  # fmt: skip
