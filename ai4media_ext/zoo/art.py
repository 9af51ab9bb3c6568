"""An ART ``PyTorchClassifier`` around a reference network, as the experiments build it."""

from __future__ import annotations

import numbers
from typing import Any

from .._compat import require
from .._validation import Interval, Options, check_params

__all__ = ["art_classifier"]

_CONSTRAINTS = {
    "input_shape": [tuple],
    "device": [Options(str, {"cpu", "cuda"})],
    "nb_classes": [Interval(numbers.Integral, 2, None, closed="left")],
    "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
}


def art_classifier(
    model: Any,
    input_shape: tuple[int, ...],
    device: str = "cpu",
    *,
    nb_classes: int = 10,
    learning_rate: float = 1e-3,
) -> Any:
    """ART ``PyTorchClassifier`` with cross-entropy, Adam and pixels clipped to [0, 1].

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(N, *input_shape)`` float32 to ``(N, nb_classes)`` logits.
    input_shape : tuple of int
        One sample's shape, e.g. ``(1, 28, 28)`` (channels first).
    device : {"cpu", "cuda"}
        ART's ``device_type`` ``"cpu"`` or ``"gpu"``.
    nb_classes : int, default 10
    learning_rate : float, default 1e-3
        Adam step size of ``classifier.fit`` and the trainers built on it.

    Returns
    -------
    art.estimators.classification.PyTorchClassifier
        ``clip_values=(0.0, 1.0)``; ``predict`` returns ``(N, nb_classes)`` float32 logits.

    Raises
    ------
    InvalidParameterError
        A parameter outside the constraints above.
    """
    check_params(
        "art_classifier",
        {
            "input_shape": tuple(input_shape) if isinstance(input_shape, list) else input_shape,
            "device": device,
            "nb_classes": nb_classes,
            "learning_rate": learning_rate,
        },
        _CONSTRAINTS,
    )
    torch = require("torch", "art")
    classification = require("art.estimators.classification", "art")
    return classification.PyTorchClassifier(
        model,
        loss=torch.nn.CrossEntropyLoss(),
        optimizer=torch.optim.Adam(model.parameters(), learning_rate),
        input_shape=tuple(input_shape),
        nb_classes=nb_classes,
        clip_values=(0.0, 1.0),
        device_type="gpu" if device == "cuda" else "cpu",
    )
