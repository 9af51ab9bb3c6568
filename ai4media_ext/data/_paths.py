"""Where the offline data lives, and the error raised when a file is missing."""

from __future__ import annotations

import os
from pathlib import Path

ENV_DATA = "AI4MEDIA_EXT_DATA"
ENV_CACHE = "AI4MEDIA_EXT_CACHE"


class DataNotFoundError(FileNotFoundError):
    """A data file is missing; the message names the file and where to put it."""


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the data root: the ``root`` argument, else ``$AI4MEDIA_EXT_DATA``."""
    chosen = root if root is not None else os.environ.get(ENV_DATA)
    if not chosen:
        raise DataNotFoundError(
            f"no data root given: pass root=... (or --data-root) or set ${ENV_DATA} to the folder "
            "holding the offline data sets (the layout of shared/data: planetoid/, graph/, "
            "aif360_raw/, mnist/, cifar10_jpeg/)"
        )
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise DataNotFoundError(f"data root {path} does not exist or is not a directory")
    return path


def require_file(root: Path, relative: str) -> Path:
    """Return ``root/relative`` or raise :class:`DataNotFoundError` naming it."""
    path = root / relative
    if not path.is_file():
        raise DataNotFoundError(
            f"missing data file {relative!r}: expected it at {path} "
            f"(put the file there, or point --data-root / ${ENV_DATA} at a folder that has it)"
        )
    return path


def cache_dir(name: str) -> Path:
    """A writable scratch folder for loaders whose host writes next to its input files."""
    base = os.environ.get(ENV_CACHE) or Path.home() / ".cache" / "ai4media-ext"
    path = Path(base) / name
    path.mkdir(parents=True, exist_ok=True)
    return path
