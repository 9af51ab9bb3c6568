"""Experiment base class, the runner behind ``ai4media-ext reproduce`` and atomic writers."""

from __future__ import annotations

import abc
import contextlib
import html
import json
import math
import os
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._io import set_default_mode, write_text_atomic


@contextlib.contextmanager
def numpy_global_seed(seed: int) -> Iterator[None]:
    """Seed NumPy's global generator for the block and restore its state after: ART's random
    starts and shuffles draw from it, and a rerun should give the same numbers."""
    import numpy as np

    state = np.random.get_state()  # noqa: NPY002 (ART draws from the legacy global RNG)
    np.random.seed(seed)  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


@dataclass(frozen=True)
class RunContext:
    """What an experiment is told about the run.

    Attributes
    ----------
    out_dir : Path
        The experiment's own output folder (``OUT/<experiment>``), already created.
    quick : bool
        Reduced setting that finishes in a few minutes on 2 CPU cores.
    data_root : Path or None
        Root of the offline data (``--data-root`` or ``AI4MEDIA_EXT_DATA``); ``None`` means the
        experiment uses data shipped inside a pinned dependency.
    device : str
        ``"cpu"`` or ``"cuda"``.
    seed : int
        Base random seed.
    options : Mapping[str, str]
        Experiment-specific settings (``--option KEY=VALUE``); an experiment refuses keys it does
        not know.
    """

    out_dir: Path
    quick: bool = False
    data_root: Path | None = None
    device: str = "cpu"
    seed: int = 0
    options: Mapping[str, str] = field(default_factory=dict)


class Experiment(abc.ABC):
    """One published table or figure, reproduced.

    Subclasses set :attr:`name` (the entry-point name), :attr:`title` and :attr:`reference`, and
    implement :meth:`run`, which returns a flat mapping of named numbers and writes its PNG
    figures into ``ctx.out_dir`` with :func:`save_figure`. The runner adds the settings used and
    writes ``results.json``.
    """

    name: str = ""
    title: str = ""
    reference: str = ""
    #: True when the experiment has no in-wheel fallback and needs the offline data root
    needs_data: bool = False

    @abc.abstractmethod
    def run(self, ctx: RunContext) -> dict[str, float]:
        """Run the experiment and return its named numbers (keys stable across versions)."""


def _json_number(value: Any) -> Any:
    # JSON has no NaN/inf: keep them as strings rather than writing invalid JSON.
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def write_json_atomic(path: Path, obj: Mapping[str, Any]) -> None:
    """Write ``obj`` as JSON to ``path`` through a temporary file and an atomic rename."""
    payload = {k: _json_number(v) for k, v in obj.items()}
    text = json.dumps(payload, indent=2, sort_keys=True, allow_nan=False) + "\n"
    write_text_atomic(path, text)


def save_figure(fig: Any, path: Path, **kwargs: Any) -> Path:
    """Save a matplotlib figure as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, format="png", dpi=kwargs.pop("dpi", 120), bbox_inches="tight", **kwargs)
        set_default_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        plt.close(fig)
    return path


def _index_html(entries: list[dict[str, Any]]) -> str:
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>ai4media-ext reproductions</title>',
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;"
        "text-align:left}img{max-width:100%}</style></head><body>",
        "<h1>ai4media-ext reproductions</h1>",
    ]
    for e in entries:
        name = e["name"]
        parts.append(f'<h2 id="{esc(name)}">{esc(name)}: {esc(e["title"])}</h2>')
        if e["reference"]:
            parts.append(f"<p>Reproduces: {esc(e['reference'])}</p>")
        parts.append(
            f'<p><a href="{esc(name)}/results.json">{esc(name)}/results.json</a> '
            f"({e['seconds']:.1f} s)</p>"
        )
        for png in e["figures"]:
            parts.append(f'<p><img src="{esc(name)}/{esc(png)}" alt="{esc(png)}"></p>')
        rows = "".join(
            f"<tr><td>{esc(str(k))}</td><td>{esc(str(v))}</td></tr>"
            for k, v in sorted(e["results"].items())
        )
        parts.append(
            f"<details><summary>numbers</summary><table>"
            f"<tr><th>key</th><th>value</th></tr>{rows}</table></details>"
        )
    parts.append("</body></html>\n")
    return "\n".join(parts)


def run_experiments(
    experiments: Iterable[Experiment],
    out: Path,
    *,
    quick: bool = False,
    data_root: Path | None = None,
    device: str = "cpu",
    seed: int = 0,
    options: Mapping[str, str] | None = None,
) -> list[Path]:
    """Run experiments, write ``OUT/<name>/results.json`` for each and ``OUT/index.html``.

    Returns the paths of the written ``results.json`` files.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, Any]] = []
    written: list[Path] = []
    for exp in experiments:
        exp_dir = out / exp.name
        exp_dir.mkdir(parents=True, exist_ok=True)
        ctx = RunContext(
            out_dir=exp_dir, quick=quick, data_root=data_root, device=device, seed=seed,
            options=dict(options or {}),
        )  # fmt: skip
        start = time.perf_counter()
        results = dict(exp.run(ctx))
        seconds = time.perf_counter() - start
        clash = {"setting_quick", "setting_device", "setting_seed", "setting_data_root"} & set(
            results
        )
        if clash:
            raise RuntimeError(f"experiment {exp.name!r} returned reserved keys {sorted(clash)}")
        results.update(
            setting_quick=quick,
            setting_device=device,
            setting_seed=seed,
            setting_data_root=str(data_root) if data_root else "embedded",
            runtime_s=round(seconds, 3),
        )
        path = exp_dir / "results.json"
        write_json_atomic(path, results)
        written.append(path)
        entries.append(
            {
                "name": exp.name,
                "title": exp.title,
                "reference": exp.reference,
                "seconds": seconds,
                "results": results,
                "figures": sorted(p.name for p in exp_dir.glob("*.png")),
            }
        )
    write_text_atomic(out / "index.html", _index_html(entries))
    return written
