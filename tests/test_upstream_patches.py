"""Run ``upstream_patches/check.py`` for every project that has a ``check.json`` (slow: each builds
a fresh virtual environment, installs the patched upstream release and runs its own tests, linters
and the agreement script). GitHub sources are read from ``$UPSTREAM_MIRROR`` when it is set."""

import subprocess
import sys
from pathlib import Path

import pytest

PATCHES = Path(__file__).resolve().parents[1] / "upstream_patches"
PROJECTS = sorted(p.parent.name for p in PATCHES.glob("*/check.json"))


@pytest.mark.slow
@pytest.mark.parametrize("project", PROJECTS)
def test_upstream_patch_check(project, tmp_path):
    res = subprocess.run(
        [sys.executable, str(PATCHES / "check.py"), project, "--scratch", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    print(res.stdout)  # the counts table (shown with pytest -s)
    assert res.returncode == 0, res.stdout + res.stderr[-6000:]
    assert f"# {project}: OK" in res.stdout
