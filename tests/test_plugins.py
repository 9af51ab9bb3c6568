"""The Flower App in plugins/ under Flower's own `flwr run` (local SuperLink + Ray simulation)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ai4media_ext.cli import main

APP = Path(__file__).resolve().parents[1] / "plugins" / "flower_secure_fl"


@pytest.mark.slow
def test_flower_app_runs_with_flwr_run(tmp_path):
    app = tmp_path / "app"
    shutil.copytree(APP, app)  # flwr migrates the federation table in place: work on a copy
    assert main(["he-keys", str(app / "keys")]) == 0
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "FLWR_HOME": str(tmp_path / "flwr"), "PATH": bindir + os.pathsep + os.environ["PATH"],
           "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1"}  # fmt: skip
    try:
        proc = subprocess.run(
            [str(Path(bindir) / "flwr"), "run", ".", "--stream", "--run-config",
             'dataset="digits" num-server-rounds=2'],
            cwd=app, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    finally:  # stop the managed SuperLink this run started (its working directory is the app)
        for proc_dir in Path("/proc").glob("[0-9]*"):
            try:
                if Path(proc_dir, "cwd").resolve() == app.resolve():
                    os.kill(int(proc_dir.name), 15)
            except OSError:
                continue
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert "'he-accepted': '10'" in log and "'he-rejected': '0'" in log
