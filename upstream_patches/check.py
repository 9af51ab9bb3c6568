#!/usr/bin/env python3
"""Check that an upstream patch set applies to the pinned release and passes upstream's own checks.

Usage::

    python upstream_patches/check.py <project> [--keep] [--source PATH] [--scratch DIR]

For ``upstream_patches/<project>/check.json``: obtain the pinned release's source (PyPI sdist, or
the git tag where the sdist lacks tests / harness / linter config; from the network unless
``--source PATH`` or ``$UPSTREAM_MIRROR`` gives a local copy), apply the patches to a scratch git
repository, install into a fresh venv constrained by the product's pins (torch stays the product's
``torch==2.13.0``), run the upstream tests, linters and the agreement script (product installed
too), print ``project patch tests_run tests_passed lint agree`` per patch and exit 0 only when all
pass. Details: ``upstream_patches/README.md``.

``check.json`` keys: ``source`` (``pypi``, ``github`` + ``tag``, or the composite keys
``commit`` / ``overlay_pypi`` / ``tests_from``; all but a tag built by ``make_source.py``),
``patches`` (file names in the project folder), ``pip`` (list), ``install`` (string, e.g.
``"-e ."``), ``tests`` (paths in the source tree, run in one
invocation; a list entry, extra arguments + paths, runs on its own), ``test_command``
(argv list), ``lint`` (list of argv lists; ``{changed_py}`` expands to the Python files the patches
add or change, ``{changed_py:PREFIX}`` to those under PREFIX), ``agree`` (optional script in the
project folder), ``env`` (optional environment variables for tests, lint and agree), ``dist``
(optional distribution name, defaults to the pypi name; kept out of the product constraints).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
PRODUCT_ROOT = HERE.parent
REQUIRED_KEYS = ("source", "patches", "install", "tests", "test_command")


def _load_make_source():
    spec = importlib.util.spec_from_file_location("upstream_make_source", HERE / "make_source.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_source = _load_make_source()


class CheckError(RuntimeError):
    """A step of the check could not run (source missing, patch does not apply, install failed)."""


def log(msg: str) -> None:
    print(f"[check {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(cmd, cwd=None, env=None, check=True, capture=False, timeout=None):
    """Run ``cmd`` (argv list); raise :class:`CheckError` naming it on a non-zero exit when ``check``."""
    log("$ " + " ".join(shlex.quote(str(c)) for c in cmd))
    res = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        text=True,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
        timeout=timeout,
    )
    if check and res.returncode != 0:
        tail = (res.stdout or "")[-4000:] if capture else ""
        raise CheckError(f"command failed ({res.returncode}): {' '.join(map(str, cmd))}\n{tail}")
    return res


def load_config(project: str) -> dict:
    path = HERE / project / "check.json"
    if not path.is_file():
        raise CheckError(f"no check config: {path}")
    cfg = json.loads(path.read_text())
    missing = [k for k in REQUIRED_KEYS if k not in cfg]
    if missing:
        raise CheckError(f"{path}: missing keys {missing}")
    src = cfg["source"]
    if not ("pypi" in src or ("github" in src and ("tag" in src or "commit" in src))):
        raise CheckError(f'{path}: "source" needs "pypi" or "github" + "tag"/"commit", got {src}')
    for patch in cfg["patches"]:
        if not (HERE / project / patch).is_file():
            raise CheckError(f"patch file missing: {HERE / project / patch}")
    return cfg


def _is_git_dir(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir()


def _from_git(git_dir: Path, tag: str, dest: Path) -> Path:
    dest.mkdir(parents=True)
    ref = run(
        ["git", "--git-dir", git_dir, "rev-parse", "--verify", "-q", f"refs/tags/{tag}"],
        check=False,
        capture=True,
    )
    if ref.returncode != 0:
        raise CheckError(f"tag {tag!r} not found in {git_dir}")
    archive = dest.parent / "source.tar"
    # A partial mirror may lack some large blobs: export everything else and say what is missing.
    tree = run(["git", "--git-dir", git_dir, "ls-tree", "-r", f"refs/tags/{tag}"], capture=True)
    entries = [line.split(None, 3) for line in tree.stdout.splitlines()]
    blobs = {e[2]: e[3] for e in entries if e[1] == "blob"}
    probe = subprocess.run(
        ["git", "--git-dir", str(git_dir), "cat-file", "--batch-check"],
        input="\n".join(blobs) + "\n",
        capture_output=True,
        text=True,
    )
    missing = sorted(
        blobs[line.split()[0]] for line in probe.stdout.splitlines() if line.endswith(" missing")
    )
    if missing:
        log(f"{len(missing)} file(s) absent from the mirror, left out: {', '.join(missing)}")
    excludes = [f":(exclude,literal){path}" for path in missing]
    run(
        [
            "git",
            "--git-dir",
            git_dir,
            "archive",
            "--format=tar",
            "-o",
            archive,
            f"refs/tags/{tag}",
            "--",
            ".",
        ]
        + excludes
    )
    with tarfile.open(archive) as tf:
        tf.extractall(dest, filter="data")
    return dest


def obtain_source(cfg: dict, scratch: Path, source: str | None) -> Path:
    """Return the unpacked pristine release tree inside ``scratch``."""
    src = cfg["source"]
    dest = scratch / "src"
    if source:
        path = Path(source).resolve()
        if not path.exists():
            raise CheckError(f"--source {path} does not exist")
        if path.is_file():
            return make_source.unpack(path, dest)
        git_dir = path / ".git" if (path / ".git").is_dir() else path
        if "tag" in src and _is_git_dir(git_dir):
            return _from_git(git_dir, src["tag"], dest)
        shutil.copytree(path, dest, ignore=shutil.ignore_patterns(".git"))
        return dest
    if make_source.needs_build(src) or "pypi" in src:
        # One builder for every non-tag source: the sdist (pip download with build isolation, so
        # flit_core / uv_build / setuptools come from the index, not from this interpreter), a
        # mirror commit with an sdist overlay, and tests copied from a mirror commit.
        try:
            make_source.build(src, dest)
        except (subprocess.CalledProcessError, ValueError, OSError) as exc:
            raise CheckError(f"could not build the release tree {src}: {exc}") from exc
        return dest
    mirror = os.environ.get("UPSTREAM_MIRROR")
    if mirror:
        base = Path(mirror) / src["github"].replace("/", "+")
        for cand in (base / "repo", base, Path(mirror) / src["github"]):
            git_dir = cand / ".git" if (cand / ".git").is_dir() else cand
            if _is_git_dir(git_dir):
                return _from_git(git_dir, src["tag"], dest)
        raise CheckError(f"UPSTREAM_MIRROR={mirror} holds no git mirror of {src['github']}")
    url = f"https://github.com/{src['github']}.git"
    run(["git", "clone", "--quiet", "--depth", "1", "--branch", src["tag"], url, dest])
    shutil.rmtree(dest / ".git")
    return dest


def git_init(tree: Path) -> None:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="check",
        GIT_AUTHOR_EMAIL="check@localhost",
        GIT_COMMITTER_NAME="check",
        GIT_COMMITTER_EMAIL="check@localhost",
    )
    run(["git", "init", "-q", tree])
    run(["git", "-C", tree, "add", "-A", "-f"], env=env)
    run(["git", "-C", tree, "commit", "-q", "-m", "pristine release", "--no-gpg-sign"], env=env)


def apply_patches(cfg: dict, project: str, tree: Path) -> dict[str, list[str]]:
    """Apply the patches in order; return the paths each one adds or changes."""
    touched = {}
    for patch in cfg["patches"]:
        p = HERE / project / patch
        res = run(["git", "-C", tree, "apply", "--check", p], check=False, capture=True)
        if res.returncode != 0:
            raise CheckError(f"{patch} does not apply:\n{res.stdout}")
        run(["git", "-C", tree, "apply", "--whitespace=nowarn", p])
        names = run(["git", "-C", tree, "apply", "--numstat", p], capture=True).stdout
        touched[patch] = [line.split("\t")[2] for line in names.splitlines() if line.strip()]
    return touched


def product_constraints(cfg: dict, path: Path) -> Path:
    """Write the product's own requirement pins (all extras) as a pip constraints file."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    meta = tomllib.loads((PRODUCT_ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta.get("dependencies", []))
    for extra in meta.get("optional-dependencies", {}).values():
        reqs.extend(extra)
    own = cfg.get("dist") or cfg["source"].get("pypi", "").split("==")[0]
    norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()  # noqa: E731
    lines = set()
    for req in reqs:
        name = re.match(r"[A-Za-z0-9_.-]+", req).group(0)
        if name.startswith("ai4media") or norm(name) == norm(own):
            continue
        lines.add(re.sub(r"\[.*?\]", "", req))  # constraints may not carry extras
    path.write_text("\n".join(sorted(lines)) + "\n")
    return path


def make_venv(scratch: Path) -> tuple[Path, dict]:
    venv = scratch / "venv"
    run([sys.executable, "-m", "venv", venv])
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return venv / "bin" / "python", env


def pytest_counts(junit: Path, tree: Path) -> list[tuple[str, str]]:
    """Return ``(test file, outcome)`` per test case of a JUnit XML report."""
    out = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
            elif child.tag == "skipped" and outcome == "passed":
                outcome = "skipped"
        fname = case.get("file")
        if not fname:
            parts = (case.get("classname") or "").split(".")
            for i in range(len(parts), 0, -1):
                cand = "/".join(parts[:i]) + ".py"
                if (tree / cand).is_file():
                    fname = cand
                    break
        out.append((fname or "?", outcome))
    return out


def expand_lint(cmd: list[str], changed: list[str]) -> list[str]:
    argv = []
    for arg in cmd:
        m = re.fullmatch(r"\{changed_py(?::(.*))?\}", arg)
        if m:
            prefix = m.group(1) or ""
            argv.extend(c for c in changed if c.endswith(".py") and c.startswith(prefix))
        else:
            argv.append(arg)
    return argv


def check(project: str, keep: bool, source: str | None, scratch_root: str | None) -> int:
    cfg = load_config(project)
    scratch = Path(tempfile.mkdtemp(prefix=f"upstream-{project}-", dir=scratch_root))
    log(f"scratch directory {scratch}")
    try:
        return _check(project, cfg, scratch, source)
    finally:
        if keep:
            log(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def _check(project: str, cfg: dict, scratch: Path, source: str | None) -> int:
    tree = obtain_source(cfg, scratch, source)
    git_init(tree)
    touched = apply_patches(cfg, project, tree)
    changed = sorted({p for paths in touched.values() for p in paths if (tree / p).exists()})
    python, env = make_venv(scratch)
    env.update({k: str(v) for k, v in cfg.get("env", {}).items()})
    cons = product_constraints(cfg, scratch / "constraints.txt")
    pip = [python, "-m", "pip", "install", "-q", "-c", cons]
    run(pip + ["--upgrade", "pip", "setuptools", "wheel"], env=env)
    if cfg.get("pip"):
        run(pip + list(cfg["pip"]), env=env)
    run(pip + shlex.split(cfg["install"]), cwd=tree, env=env)

    # String entries of "tests" run in one invocation; each list entry (extra arguments + test
    # paths, e.g. another --framework) runs in its own.
    groups = [[t for t in cfg["tests"] if isinstance(t, str)]]
    groups = [g for g in groups if g] + [list(t) for t in cfg["tests"] if not isinstance(t, str)]
    is_pytest = "pytest" in " ".join(cfg["test_command"])
    cases, test_rc = [], 0
    for i, group in enumerate(groups):
        junit = scratch / f"junit-{i}.xml"
        test_cmd = list(cfg["test_command"]) + group
        if is_pytest:
            test_cmd += [f"--junitxml={junit}"]
        rc = run(test_cmd, cwd=tree, env=env, check=False).returncode
        test_rc = test_rc or rc
        if is_pytest and junit.is_file():
            cases += pytest_counts(junit, tree)

    lint_ok = True
    for cmd in cfg.get("lint", []):
        argv = expand_lint(cmd, changed)
        rc = run(argv, cwd=tree, env=env, check=False).returncode
        lint_ok &= rc == 0
        log(f"lint {'pass' if rc == 0 else 'FAIL'}: {' '.join(argv[:3])} ...")

    agree = "-"
    if cfg.get("agree"):
        run(pip + ["--no-deps", "-e", PRODUCT_ROOT], env=env)
        rc = run([python, HERE / project / cfg["agree"]], cwd=scratch, env=env, check=False)
        agree = "pass" if rc.returncode == 0 else "FAIL"

    return report(project, cfg, touched, cases, test_rc, lint_ok, agree)


def report(project, cfg, touched, cases, test_rc, lint_ok, agree) -> int:
    owners = {}
    for patch, paths in touched.items():
        for p in paths:
            owners.setdefault(p, patch)
    rows = {patch: [0, 0] for patch in cfg["patches"]}
    rows["neighbours"] = [0, 0]
    for fname, outcome in cases:
        if outcome == "skipped":
            continue
        row = rows[owners.get(fname, "neighbours")]
        row[0] += 1
        row[1] += outcome == "passed"
    run_total = sum(r[0] for r in rows.values())
    passed_total = sum(r[1] for r in rows.values())
    skipped = sum(outcome == "skipped" for _, outcome in cases)
    lint = "pass" if lint_ok else "FAIL"
    print(
        f"{'project':<14} {'patch':<44} {'tests_run':>9} {'tests_passed':>12} {'lint':>5} {'agree':>5}"
    )
    for name, (n_run, n_pass) in rows.items():
        print(f"{project:<14} {name:<44} {n_run:>9} {n_pass:>12} {lint:>5} {agree:>5}")
    print(f"{project:<14} {'TOTAL':<44} {run_total:>9} {passed_total:>12} {lint:>5} {agree:>5}")
    print(f"# skipped: {skipped}; test command exit status: {test_rc}")
    ok = (
        run_total > 0
        and passed_total == run_total
        and (test_rc == 0 or not cases)
        and all(r[0] > 0 for name, r in rows.items() if name != "neighbours")
        and lint_ok
        and agree in ("pass", "-")
    )
    print(f"# {project}: {'OK' if ok else 'FAILED'}")
    return 0 if ok else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("project", help="folder under upstream_patches/ holding check.json")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--source", help="local source: unpacked tree, sdist archive or git dir")
    parser.add_argument("--scratch", help="parent of the scratch directory (default: $TMPDIR)")
    args = parser.parse_args(argv)
    try:
        return check(args.project, args.keep, args.source, args.scratch)
    except CheckError as exc:
        print(f"# {args.project}: ERROR {exc}", file=sys.stderr)
        print(f"# {args.project}: FAILED")
        return 2


if __name__ == "__main__":
    sys.exit(main())
