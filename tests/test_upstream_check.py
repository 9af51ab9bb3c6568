"""Fast tests of ``upstream_patches/check.py``'s own logic (the full runs are in
``test_upstream_patches.py``, slow): lint placeholders, JUnit counting, the verdict, patch application,
the product constraints and the shipped ``check.json`` files."""

import importlib.util
import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "upstream_patches"
_spec = importlib.util.spec_from_file_location("upstream_check", ROOT / "check.py")
check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check)


def test_expand_lint_placeholders():
    changed = ["pkg/a.py", "pkg/b.txt", "tests/test_a.py", "docs/x.rst"]
    assert check.expand_lint(["lint", "{changed_py}"], changed) == [
        "lint",
        "pkg/a.py",
        "tests/test_a.py",
    ]
    assert check.expand_lint(["lint", "{changed_py:tests/}", "-q"], changed) == [
        "lint",
        "tests/test_a.py",
        "-q",
    ]


def _junit(path: Path, cases: list[tuple[str, str]]) -> Path:
    body = []
    for name, outcome in cases:
        inner = {"passed": "", "failed": "<failure/>", "error": "<error/>", "skipped": "<skipped/>"}
        body.append(f'<testcase classname="{name}" name="t">{inner[outcome]}</testcase>')
    path.write_text(f"<testsuites><testsuite>{''.join(body)}</testsuite></testsuites>")
    return path


def test_pytest_counts_maps_classnames_to_files(tmp_path):
    (tmp_path / "tests" / "mech").mkdir(parents=True)
    (tmp_path / "tests" / "mech" / "test_new.py").write_text("")
    junit = _junit(
        tmp_path / "j.xml",
        [
            ("tests.mech.test_new.TestNew", "passed"),
            ("tests.mech.test_new", "failed"),
            ("tests.mech.test_new", "skipped"),
            ("tests.other", "error"),
        ],
    )
    cases = check.pytest_counts(junit, tmp_path)
    assert cases == [
        ("tests/mech/test_new.py", "passed"),
        ("tests/mech/test_new.py", "failed"),
        ("tests/mech/test_new.py", "skipped"),
        ("?", "failed"),
    ]


def test_report_verdicts(capsys):
    cfg = {"patches": ["0001-x.patch"]}
    touched = {"0001-x.patch": ["tests/test_x.py", "pkg/x.py"]}
    ok = [
        ("tests/test_x.py", "passed"),
        ("tests/test_y.py", "passed"),
        ("tests/test_y.py", "skipped"),
    ]
    assert check.report("p", cfg, touched, ok, 0, True, "pass") == 0
    out = capsys.readouterr().out
    assert "0001-x.patch" in out and "# p: OK" in out and "# skipped: 1" in out
    # a failed test, a failed linter, a failed agreement or no test of the patch itself: not OK
    assert check.report("p", cfg, touched, ok + [("tests/test_x.py", "failed")], 1, True, "-") == 1
    assert check.report("p", cfg, touched, ok, 0, False, "-") == 1
    assert check.report("p", cfg, touched, ok, 0, True, "FAIL") == 1
    assert check.report("p", cfg, touched, ok[1:], 0, True, "-") == 1


def test_apply_patches_and_refusal(tmp_path, monkeypatch):
    repo = tmp_path / "src"
    repo.mkdir()
    (repo / "a.txt").write_text("one\n")
    check.git_init(repo)
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(repo), str(work)], check=True)
    (work / "a.txt").write_text("two\n")
    (work / "b.py").write_text("x = 1\n")
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t")
    env.update(GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
    subprocess.run(["git", "-C", str(work), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(work), "commit", "-qm", "change"], check=True, env=env)
    project = tmp_path / "patches" / "proj"
    project.mkdir(parents=True)
    subprocess.run(
        ["git", "-C", str(work), "format-patch", "-1", "-o", str(project)],
        check=True,
        capture_output=True,
    )
    patch = next(project.glob("*.patch")).name
    monkeypatch.setattr(check, "HERE", tmp_path / "patches")
    touched = check.apply_patches({"patches": [patch]}, "proj", repo)
    assert sorted(touched[patch]) == ["a.txt", "b.py"]
    assert (repo / "a.txt").read_text() == "two\n"
    with pytest.raises(check.CheckError, match="does not apply"):
        check.apply_patches({"patches": [patch]}, "proj", repo)  # already applied


def test_load_config_errors(tmp_path, monkeypatch):
    monkeypatch.setattr(check, "HERE", tmp_path)
    with pytest.raises(check.CheckError, match="no check config"):
        check.load_config("nothing")
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "check.json").write_text(json.dumps({"source": {"pypi": "x==1"}}))
    with pytest.raises(check.CheckError, match="missing keys"):
        check.load_config("p")


def test_product_constraints_pin_torch_and_skip_the_project(tmp_path):
    path = check.product_constraints({"source": {"pypi": "diffprivlib==0.6.6"}}, tmp_path / "c.txt")
    lines = path.read_text().splitlines()
    assert "torch==2.13.0" in lines
    assert not any(line.startswith(("diffprivlib", "ai4media")) for line in lines)
    assert not any("[" in line for line in lines)


@pytest.mark.parametrize("config", sorted(ROOT.glob("*/check.json")), ids=lambda p: p.parent.name)
def test_shipped_configs_are_complete(config):
    cfg = check.load_config(config.parent.name)  # raises on a missing key or patch file
    assert cfg["patches"], "a check.json must list at least one patch"
    for patch in cfg["patches"]:
        assert (config.parent / patch.replace(".patch", ".md")).is_file(), f"PR text for {patch}"
    if cfg.get("agree"):
        assert (config.parent / cfg["agree"]).is_file()


def _mirror(tmp_path: Path, monkeypatch) -> str:
    """A local git mirror ``<owner>+<repo>/repo`` (as $UPSTREAM_MIRROR lays it out); its commit."""
    work = tmp_path / "work"
    (work / "pkg").mkdir(parents=True)
    (work / "pkg" / "core.py").write_text("x = 1\n")
    (work / "tests" / "unit").mkdir(parents=True)
    (work / "tests" / "unit" / "test_core.py").write_text("def test(): pass\n")
    (work / "tests" / "unit" / "helper.py").write_text("")
    check.git_init(work)
    bare = tmp_path / "mirror" / "own+proj" / "repo"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    monkeypatch.setenv("UPSTREAM_MIRROR", str(tmp_path / "mirror"))
    rev = subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True)
    return rev.stdout.decode().strip()


def test_composite_source_from_a_mirror_commit(tmp_path, monkeypatch):
    commit = _mirror(tmp_path, monkeypatch)
    cfg = {"source": {"github": "own/proj", "tag": "9.9", "commit": commit}}
    tree = check.obtain_source(cfg, tmp_path / "scratch", None)  # no --source, no such tag
    assert (tree / "pkg" / "core.py").read_text() == "x = 1\n"
    assert (tree / "tests" / "unit" / "test_core.py").is_file()


def test_tests_from_copies_only_the_matching_files(tmp_path, monkeypatch):
    commit = _mirror(tmp_path, monkeypatch)
    src = {"github": "own/proj", "commit": commit}
    src["tests_from"] = {
        "github": "own/proj",
        "commit": commit,
        "copy": {"tests/unit/": "src/tests/"},
        "only": "test_*.py",
    }
    dest = tmp_path / "tree"
    check.make_source.build(src, dest)
    assert (dest / "src" / "tests" / "test_core.py").is_file()
    assert not (dest / "src" / "tests" / "helper.py").exists()


def test_pypi_and_composite_sources_use_the_builder(tmp_path, monkeypatch):
    # every non-tag source goes through make_source.build (sdist with build isolation), never
    # through a pip download of this interpreter's own build backends
    calls = []
    monkeypatch.setattr(check.make_source, "build", lambda src, dest: calls.append(src))
    for src in (
        {"pypi": "flwr==1.42.0", "tests_from": {}},
        {"pypi": "aif360==0.6.1"},
        {"github": "a/b", "tag": "1", "commit": "c" * 40},
    ):
        check.obtain_source({"source": src}, tmp_path / str(len(calls)), None)
    assert len(calls) == 3
    assert check.make_source.needs_build({"pypi": "x==1", "tests_from": {}})
    assert not check.make_source.needs_build({"pypi": "x==1"})


def test_builder_failure_is_a_check_error(tmp_path, monkeypatch):
    def fail(src, dest):
        raise subprocess.CalledProcessError(1, ["pip", "download"])

    monkeypatch.setattr(check.make_source, "build", fail)
    with pytest.raises(check.CheckError, match="could not build the release tree"):
        check.obtain_source({"source": {"pypi": "x==1"}}, tmp_path, None)


def test_load_config_source_kinds(tmp_path, monkeypatch):
    monkeypatch.setattr(check, "HERE", tmp_path)
    (tmp_path / "p").mkdir()
    base = {"patches": [], "install": "-e .", "tests": [], "test_command": ["pytest"]}
    for src, ok in (
        ({"github": "a/b", "commit": "c" * 40}, True),
        ({"github": "a/b", "tag": "1"}, True),
        ({"github": "a/b"}, False),
    ):
        (tmp_path / "p" / "check.json").write_text(json.dumps(dict(base, source=src)))
        if ok:
            check.load_config("p")
        else:
            with pytest.raises(check.CheckError, match='needs "pypi"'):
                check.load_config("p")


def test_source_archive_is_unpacked(tmp_path):
    import tarfile

    (tmp_path / "x-1.0" / "pkg").mkdir(parents=True)
    (tmp_path / "x-1.0" / "pkg" / "a.py").write_text("a = 1\n")
    with tarfile.open(tmp_path / "x-1.0.tar.gz", "w:gz") as tf:
        tf.add(tmp_path / "x-1.0", arcname="x-1.0")
    cfg = {"source": {"pypi": "x==1.0"}}
    tree = check.obtain_source(cfg, tmp_path / "scratch", str(tmp_path / "x-1.0.tar.gz"))
    assert (tree / "pkg" / "a.py").read_text() == "a = 1\n"
