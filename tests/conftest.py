"""Shared fixtures. Tests that need the offline data fail (never skip) when it is missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = Path(os.environ.get("AI4MEDIA_EXT_DATA") or REPO.parent / "shared" / "data")
    if not root.is_dir():
        pytest.fail(
            f"offline data not found at {root}: set AI4MEDIA_EXT_DATA to the shared data folder"
        )
    return root


@pytest.fixture(autouse=True)
def _scratch_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    # Loaders whose host writes next to its input (Planetoid) use a per-session scratch cache.
    monkeypatch.setenv("AI4MEDIA_EXT_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
