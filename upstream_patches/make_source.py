#!/usr/bin/env python3
"""Build the pristine release tree a ``check.json`` describes (check.py calls :func:`build`).

Usage (the same tree by hand, e.g. for ``check.py PROJECT --source DEST``)::

    python upstream_patches/make_source.py <project> DEST

check.py builds every source but a git tag with :func:`build`. For releases whose sdist lacks the
tests and whose repository mirror lacks the release tag (captum 0.9.0, torch-geometric 2.8.1,
Flower 1.42.0), ``check.json``'s ``"source"`` says how the tree is made, with keys beside
``pypi`` / ``github`` + ``tag``:

- ``"pypi": "<dist>==<ver>"``: the sdist (``pip download --no-binary <dist> --no-deps``, with
  build isolation, so build backends such as flit_core or uv_build come from the index);
- ``"github"`` + ``"commit"``: the tree of that commit (the release's code; ``"tag"`` names the
  release); ``"overlay_pypi": {"pypi": ..., "paths": [...]}`` lays those paths of the sdist over it;
- ``"tests_from": {"github", "commit", "copy": {"<repo dir>/": "<tree dir>/"}, "only": "<glob>"}``
  copies test files from a commit of the repository into the tree.

Repositories are read from ``$UPSTREAM_MIRROR`` (default ``/work/.mirror``), laid out as
``<owner>+<repo>/repo``; files absent from a partial mirror are left out.
"""

from __future__ import annotations

import fnmatch
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def unpack(archive: Path, dest: Path) -> Path:
    """Unpack a source archive (sdist ``.tar.gz`` or ``.zip``) into ``dest``; its top folder."""
    dest.mkdir(parents=True)
    if archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(dest)
    else:
        with tarfile.open(archive) as tf:
            tf.extractall(dest, filter="data")
    entries = [p for p in dest.iterdir() if not p.name.startswith(".")]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else dest


def sdist(spec: str, dest: Path) -> None:
    """Unpack the sdist of ``spec`` (``dist==version``) into ``dest``."""
    name = spec.split("==")[0]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", name,
             spec, "-d", tmp],
            check=True,
        )  # fmt: skip
        (archive,) = Path(tmp).iterdir()
        with tarfile.open(archive) as tf:
            tf.extractall(tmp, filter="data")
        (top,) = [p for p in Path(tmp).iterdir() if p.is_dir()]
        shutil.copytree(top, dest, dirs_exist_ok=True)


def git_files(repo: str, commit: str, prefix: str = "") -> dict[str, bytes]:
    """Files under ``prefix`` at ``commit`` of the mirrored ``repo`` (absent blobs left out)."""
    mirror = Path(os.environ.get("UPSTREAM_MIRROR", "/work/.mirror")) / repo.replace("/", "+")
    git = ["git", "--git-dir", str(mirror / "repo" if (mirror / "repo").exists() else mirror)]
    tree = subprocess.run(git + ["ls-tree", "-r", commit, "--", prefix or "."], check=True,
                          capture_output=True, text=True).stdout  # fmt: skip
    paths: dict[str, list[str]] = {}  # blob id -> paths (identical files share one blob)
    for line in tree.splitlines():
        meta, path = line.split("\t", 1)
        if meta.split()[1] == "blob":
            paths.setdefault(meta.split()[2], []).append(path)
    batch = subprocess.run(git + ["cat-file", "--batch"], input="\n".join(paths).encode() + b"\n",
                           check=True, capture_output=True).stdout  # fmt: skip
    out, stream = {}, io.BytesIO(batch)
    while header := stream.readline().split():
        if header[-1] == b"missing":
            print(f"absent from the mirror, left out: {paths[header[0].decode()]}")
            continue
        data = stream.read(int(header[2]))
        stream.read(1)
        out.update(dict.fromkeys(paths[header[0].decode()], data))
    return out


def write(files: dict[str, bytes], dest: Path, strip: str = "", into: str = "") -> int:
    for path, data in files.items():
        target = dest / into / path[len(strip) :]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return len(files)


def needs_build(src: dict) -> bool:
    """Whether ``src`` (a check.json ``"source"``) is a composite tree only :func:`build` makes."""
    return "commit" in src or "tests_from" in src or "overlay_pypi" in src


def build(src: dict, dest: Path) -> None:
    """Lay the release tree ``src`` describes into the (empty or new) folder ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    if "commit" in src:
        print(f"{write(git_files(src['github'], src['commit']), dest)} files of {src['commit']}")
        overlay = src.get("overlay_pypi")
        if overlay:
            with tempfile.TemporaryDirectory() as tmp:
                sdist(overlay["pypi"], Path(tmp) / "s")
                for path in overlay["paths"]:
                    shutil.rmtree(dest / path, ignore_errors=True)
                    copy = shutil.copytree if path.endswith("/") else shutil.copy2
                    copy(Path(tmp) / "s" / path, dest / path)
    else:
        sdist(src["pypi"], dest)
    extra = src.get("tests_from")
    if extra:
        for repo_dir, tree_dir in extra["copy"].items():
            files = git_files(extra["github"], extra["commit"], repo_dir)
            files = {p: d for p, d in files.items()
                     if fnmatch.fnmatch(Path(p).name, extra.get("only", "*"))}  # fmt: skip
            n = write(files, dest, strip=repo_dir, into=tree_dir)
            print(f"{n} test files from {extra['commit'][:8]}:{repo_dir} -> {tree_dir}")


def main(project: str, dest: Path) -> None:
    src = json.loads((HERE / project / "check.json").read_text())["source"]
    if dest.exists():
        raise SystemExit(f"{dest} exists")
    build(src, dest)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], Path(sys.argv[2]))
