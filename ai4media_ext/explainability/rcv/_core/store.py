"""On-disk store of layer activations and regression concept vectors (TCAV's AV/CAV store).

Layout under ``save_path`` (every name percent-encoded, so a concept or model name cannot
leave the directory)::

    <save_path>/<model_id>/av/<layer>/<concept identifier>.npz    activations (N, F)
    <save_path>/<model_id>/rcv/<layer>/<concept identifier>.npz   fitted RCV and its settings

Files are NumPy ``.npz`` archives read with ``allow_pickle=False`` (no code runs on load, unlike
captum's pickled CAVs) and written atomically (``ai4media_ext._io``). Each file records the
settings it was computed with (a SHA-256 of the measures, ``n_splits``, ``ridge``,
``random_state``, ``attribute_to_layer_input``); a file whose settings differ from the
interpreter's is recomputed, never reused. As for TCAV's store, ``model_id`` must name one set of
weights and a concept identifier one set of examples: a retrained model needs a new
``model_id`` (weights and examples are not fingerprinted).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import torch
from torch import Tensor

from ...._io import write_bytes_atomic


def _component(name: str) -> str:
    encoded = quote(str(name), safe="") or "%00root"
    return encoded if encoded not in (".", "..") else encoded.replace(".", "%2E")


def measures_digest(measures: Tensor) -> str:
    """SHA-256 of the float64 measures: identifies the regression target."""
    return hashlib.sha256(measures.double().contiguous().numpy().tobytes()).hexdigest()


class RCVStore:
    """Activations and fitted RCVs of one model (``model_id``) under ``save_path``."""

    def __init__(self, save_path: str | os.PathLike[str], model_id: str) -> None:
        self.root = Path(save_path) / _component(model_id)

    def _path(self, kind: str, identifier: str, layer: str) -> Path:
        return self.root / kind / _component(layer) / f"{_component(identifier)}.npz"

    def av_path(self, identifier: str, layer: str) -> Path:
        return self._path("av", identifier, layer)

    def rcv_path(self, identifier: str, layer: str) -> Path:
        return self._path("rcv", identifier, layer)

    @staticmethod
    def _write(path: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        buf = io.BytesIO()
        np.savez(buf, __meta__=np.array(json.dumps(meta, sort_keys=True)), **arrays)
        write_bytes_atomic(path, buf.getvalue())

    @staticmethod
    def _read(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files if k != "__meta__"}
            meta = json.loads(str(data["__meta__"]))
        return arrays, meta

    def save_activations(self, identifier: str, layer: str, acts: Tensor, meta: dict) -> None:
        self._write(self.av_path(identifier, layer), {"activations": acts.numpy()}, meta)

    def load_activations(self, identifier: str, layer: str, meta: dict) -> Tensor | None:
        """Stored activations if computed with ``meta``'s settings, else ``None``."""
        found = self._read(self.av_path(identifier, layer))
        if found is None or found[1] != meta:
            return None
        return torch.from_numpy(found[0]["activations"])

    def save_fit(self, identifier: str, layer: str, fit: dict[str, Any], meta: dict) -> None:
        arrays = {k: v.numpy() for k, v in fit.items() if isinstance(v, Tensor)}
        self._write(
            self.rcv_path(identifier, layer), arrays, {**meta, "degenerate": fit.get("degenerate")}
        )

    def load_fit(self, identifier: str, layer: str, meta: dict) -> dict[str, Any] | None:
        """A stored fit made with ``meta``'s settings (``{"direction", ..., "degenerate"}``)."""
        found = self._read(self.rcv_path(identifier, layer))
        if found is None:
            return None
        arrays, stored = found
        degenerate = stored.pop("degenerate", None)
        if stored != meta:
            return None
        fit: dict[str, Any] = {k: torch.from_numpy(v) for k, v in arrays.items()}
        if degenerate:
            fit["degenerate"] = degenerate
        return fit
