import json
import os
import subprocess
import sys

import pytest

from ai4media_ext.cli import main


def test_list_prints_table(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "host base class" in out
    assert "secure_laplace" in out and "diffprivlib.mechanisms.DPMechanism" in out
    assert "dp-naive-bayes" in out


def test_list_one_group(capsys):
    assert main(["list", "--group", "ai4media_ext.experiments"]) == 0
    out = capsys.readouterr().out
    assert "dp-float-attack" in out and "secure_laplace" not in out


def test_info(capsys):
    assert main(["info", "multi_bit"]) == 0
    out = capsys.readouterr().out
    assert "ai4media_ext.privacy.mechanisms.multibit.MultiBit" in out
    assert "epsilon" in out


def test_info_unknown_name(capsys):
    assert main(["info", "nope"]) == 2
    assert "no plugin named 'nope'" in capsys.readouterr().err


def test_reproduce_unknown_experiment(tmp_path, capsys):
    assert main(["reproduce", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown experiment" in capsys.readouterr().err
    assert not (tmp_path / "index.html").exists()


def test_reproduce_bad_data_root(tmp_path, capsys):
    code = main(["reproduce", "--data-root", str(tmp_path / "missing"), "--out", str(tmp_path)])
    assert code == 2
    assert "not a directory" in capsys.readouterr().err


def test_reproduce_writes_results_and_index(tmp_path):
    out = tmp_path / "out"
    assert main(["reproduce", "dp-naive-bayes", "--quick", "--out", str(out)]) == 0
    results = json.loads((out / "dp-naive-bayes" / "results.json").read_text())
    assert results["setting_quick"] is True
    assert 0.0 <= results["acc_secure_eps_1"] <= 1.0
    assert (out / "dp-naive-bayes" / "accuracy_vs_epsilon.png").stat().st_size > 1000
    index = (out / "index.html").read_text()
    assert 'href="dp-naive-bayes/results.json"' in index
    assert 'src="dp-naive-bayes/accuracy_vs_epsilon.png"' in index
    assert not list(out.rglob("*.tmp"))


def test_console_script_is_installed():
    proc = subprocess.run(
        [sys.executable, "-m", "ai4media_ext.cli", "list"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "secure_laplace" in proc.stdout


def test_import_is_light():
    code = (
        "import sys, ai4media_ext, ai4media_ext.registry, ai4media_ext.cli, ai4media_ext.data;"
        "heavy = [m for m in ('torch', 'diffprivlib', 'art', 'aif360', 'flwr', 'captum',"
        " 'torch_geometric', 'sklearn', 'pandas') if m in sys.modules];"
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_reproduce_without_data_skips_or_refuses_data_experiments(tmp_path, capsys, monkeypatch):
    from ai4media_ext.experiments.fairness_report import FairnessReportExperiment

    # no shipped experiment needs the data root any more (German credit is embedded): the
    # refusal is exercised on a stand-in that does
    monkeypatch.delenv("AI4MEDIA_EXT_DATA", raising=False)
    monkeypatch.setattr(FairnessReportExperiment, "needs_data", True)
    assert main(["reproduce", "fairness-report", "--quick", "--out", str(tmp_path)]) == 2
    assert "fairness-report need(s) the offline data" in capsys.readouterr().err


def test_every_experiment_runs_without_the_data_root():
    from ai4media_ext import registry

    needing = [
        p.name
        for p in registry.plugins("ai4media_ext.experiments")
        if registry.load(p.group, p.name).needs_data
    ]
    assert needing == []


def test_he_keys_provisions_once(tmp_path, capsys):
    assert main(["he-keys", str(tmp_path / "keys")]) == 0
    assert (tmp_path / "keys" / "client_context.bin").stat().st_mode & 0o777 == 0o600
    assert main(["he-keys", str(tmp_path / "keys")]) == 2
    assert "already holds" in capsys.readouterr().err


def _all_qualified_names():
    from ai4media_ext import registry

    return [f"{p.group}:{p.name}" for p in registry.plugins()]


@pytest.mark.parametrize("qualified", _all_qualified_names())
def test_info_works_for_every_registered_name(qualified, capsys):
    """Every plugin of the registry: by group:name always, by its bare name when unique, and an
    ambiguous bare name is an error listing the group:name choices."""
    from ai4media_ext import registry

    group, name = qualified.rsplit(":", 1)
    assert main(["info", qualified]) == 0
    out = capsys.readouterr().out
    assert f"name:        {name}" in out and f"group:       {group}" in out
    short = qualified.removeprefix("ai4media_ext.")
    assert main(["info", short]) == 0
    assert f"group:       {group}" in capsys.readouterr().out
    choices = registry.ambiguous_names().get(name)
    if choices is None:
        assert main(["info", name]) == 0
        assert f"group:       {group}" in capsys.readouterr().out
    else:
        assert main(["info", name]) == 2
        err = capsys.readouterr().err
        assert "ambiguous" in err and all(c in err for c in choices)


def test_hcp_is_ambiguous_and_says_how_to_choose(capsys):
    assert main(["info", "hcp"]) == 2
    err = capsys.readouterr().err
    assert "ai4media_ext.art.defences:hcp" in err and "ai4media_ext.experiments:hcp" in err
    assert main(["info", "art.defences:hcp"]) == 0
    assert "HCPTrainer" in capsys.readouterr().out
    assert main(["info", "experiments:hcp"]) == 0
    assert "HCPExperiment" in capsys.readouterr().out
    assert main(["info", "nope:hcp"]) == 2
    assert "valid groups" in capsys.readouterr().err


def test_cli_is_quiet_when_the_reader_leaves_early():
    """`ai4media-ext list | head -1`: no BrokenPipeError traceback, exit status 0."""
    import fcntl

    read_fd, write_fd = os.pipe()
    fcntl.fcntl(write_fd, 1031, 4096)  # F_SETPIPE_SZ: a one-page pipe, smaller than the listing
    os.close(read_fd)  # the reader has already left
    proc = subprocess.run(
        [sys.executable, "-m", "ai4media_ext.cli", "list"],
        stdout=write_fd,
        stderr=subprocess.PIPE,
        check=False,
    )
    os.close(write_fd)
    assert b"BrokenPipeError" not in proc.stderr and b"Traceback" not in proc.stderr
    assert proc.returncode == 0
