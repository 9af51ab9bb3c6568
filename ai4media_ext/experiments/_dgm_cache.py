"""Checkpoints for ``dgm-backdoor``: every generator the experiment trains (TrAIL from scratch,
ReD / ReX poisonings, clean fine-tunes) is saved under ``$AI4MEDIA_EXT_CACHE/dgm-backdoor/`` as
soon as it is trained, so a run cut by a time limit resumes where it stopped and a finished one
reruns its metrics without training.

A checkpoint is a generator ``state_dict`` plus the training seconds, keyed by a SHA-256 of
everything that determines the training: the benign generator's weights, the attack and its
parameters, the trigger and target arrays, the seed. A checkpoint whose stored key does not match
is retrained and replaced (written atomically, never half-written).
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .._io import write_bytes_atomic


def digest(*arrays: Any) -> str:
    """SHA-256 (hex) of arrays / tensors / state dicts, in order (names included for dicts)."""
    h = hashlib.sha256()
    for a in arrays:
        items = sorted(a.items()) if isinstance(a, dict) else [("", a)]
        for name, value in items:
            h.update(name.encode())
            v = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
            h.update(str(v.dtype).encode() + str(v.shape).encode())
            h.update(np.ascontiguousarray(v).tobytes())
    return h.hexdigest()


def cached_generator(
    tag: dict[str, Any],
    build: Callable[[], Any],
    template: Callable[[], Any],
    wrap: Callable[[Any], Any],
) -> tuple[Any, float]:
    """The generator described by ``tag``, from its checkpoint when present.

    Args:
        tag: JSON-serialisable description of the training (its hash names the file).
        build: trains and returns a :class:`~ai4media_ext.robustness.dgm.PyTorchGenerator`.
        template: returns an untrained ``nn.Module`` of the trained model's architecture.
        wrap: turns a loaded ``nn.Module`` into the estimator ``build`` would have returned.

    Returns:
        ``(generator, seconds)``: seconds are the original training's wall time.
    """
    import torch

    from ..data._paths import cache_dir

    text = json.dumps(tag, sort_keys=True)
    path = cache_dir("dgm-backdoor") / f"{hashlib.sha256(text.encode()).hexdigest()[:24]}.pt"
    if path.is_file():
        state = torch.load(path, map_location="cpu", weights_only=True)
        if state.get("tag") == text:
            model = template()
            model.load_state_dict(state["model"])
            return wrap(model.eval()), float(state["seconds"])
    start = time.perf_counter()
    generator = build()
    seconds = time.perf_counter() - start
    buf = io.BytesIO()
    state_dict = {k: v.detach().cpu() for k, v in generator.model.state_dict().items()}
    torch.save({"tag": text, "model": state_dict, "seconds": seconds}, buf)
    write_bytes_atomic(path, buf.getvalue())
    return generator, seconds
