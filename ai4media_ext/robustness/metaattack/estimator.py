"""An ART estimator for embedding (retrieval / re-ID) models in PyTorch.

ART 1.20 has estimators for classification, regression, detection, tracking, speech, GANs and
more, but none for embeddings (wave-2 feasibility §4.4). ``PyTorchRetrievalEstimator`` fills that
gap: ``predict`` returns features, ``loss_gradient`` the input gradient of a retrieval loss,
with ART's clip values, preprocessing (differentiable in torch) and defences. ART's gradient
attacks that only need ``LossGradientsMixin`` (FGM, PGD) run on it unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..._compat import require
from ..._validation import InvalidParameterError, check_array, check_kwargs, check_params

require("art", "art")

from art.estimators.pytorch import PyTorchEstimator  # noqa: E402

__all__ = ["PyTorchRetrievalEstimator", "squared_distance_loss"]


def squared_distance_loss(features: Any, reference: Any) -> Any:
    """Per-sample squared Euclidean distance ``||f(x) - y||^2`` (torch ``(n,)``): the default
    retrieval loss; its gradient moves ``f(x)`` away from the reference features ``y``."""
    return ((features - reference) ** 2).sum(dim=1)


class PyTorchRetrievalEstimator(PyTorchEstimator):
    """ART estimator for a PyTorch embedding model: ``predict`` returns retrieval features.

    :param model: A ``torch.nn.Module`` mapping a batch ``(n,) + input_shape`` to features
                  ``(n, d)`` (e.g. :class:`ai4media_ext.zoo.reid.IDENet`). It is put in eval mode.
    :param input_shape: Shape of one sample, e.g. ``(3, 28, 28)``.
    :param loss: ``loss(features, y) -> (n,)`` torch tensor (per-sample) used by
                 :meth:`loss_gradient` / :meth:`compute_loss`; default :func:`squared_distance_loss`
                 with ``y`` the reference features ``(n, d)``.
    :param normalize: L2-normalise the features (re-ID retrieval compares unit vectors).
    :param clip_values: ``(min, max)`` of the input features.
    :param preprocessing_defences: ART preprocessing defence(s).
    :param postprocessing_defences: ART postprocessing defence(s) applied to the features.
    :param preprocessing: ``(subtrahend, divisor)`` standardisation (done in torch, differentiable).
    :param device_type: ``"cpu"`` or ``"gpu"``.
    :raises InvalidParameterError: ``input_shape`` not a tuple of positive ints, ``loss`` not
                                   callable, ``normalize`` not a bool; ART's own checks for
                                   ``clip_values`` / ``preprocessing``.
    """

    estimator_params = PyTorchEstimator.estimator_params + ["input_shape", "loss", "normalize"]
    _parameter_constraints = {"loss": [None, callable], "normalize": ["boolean"]}

    def __init__(
        self,
        model: Any,
        input_shape: tuple[int, ...],
        loss: Callable[[Any, Any], Any] | None = None,
        normalize: bool = True,
        clip_values: tuple[float, float] | None = None,
        preprocessing_defences: Any = None,
        postprocessing_defences: Any = None,
        preprocessing: Any = (0.0, 1.0),
        device_type: str = "gpu",
    ) -> None:
        super().__init__(
            model=model,
            clip_values=clip_values,
            preprocessing_defences=preprocessing_defences,
            postprocessing_defences=postprocessing_defences,
            preprocessing=preprocessing,
            device_type=device_type,
            channels_first=True,
        )
        shape = tuple(input_shape) if isinstance(input_shape, tuple | list) else input_shape
        if (
            not isinstance(shape, tuple)
            or not shape
            or not all(
                isinstance(s, int | np.integer) and not isinstance(s, bool) and s > 0 for s in shape
            )
        ):
            raise InvalidParameterError(
                f"The 'input_shape' parameter of PyTorchRetrievalEstimator must be a tuple of "
                f"positive ints. Got {input_shape!r} instead."
            )
        self._input_shape = tuple(int(s) for s in shape)
        self.loss = loss
        self.normalize = normalize
        self._model.to(self._device)
        self._model.eval()
        self._check_params()

    def _check_params(self) -> None:
        super()._check_params()
        present = {k: getattr(self, k) for k in ("loss", "normalize") if hasattr(self, k)}
        check_params(self, present, self._parameter_constraints)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self._input_shape

    @property
    def device(self) -> Any:
        """The ``torch.device`` the model runs on."""
        return self._device

    @property
    def model(self) -> Any:
        return self._model

    def _check_x(self, x: Any) -> np.ndarray:
        arr = check_array(x, name="x", dtype=np.float32)
        if arr.shape[1:] != self._input_shape:
            raise InvalidParameterError(
                f"x must have shape (n,) + {self._input_shape}, got {arr.shape}"
            )
        return arr

    def features(self, x: Any, normalize: bool | None = None) -> Any:
        """Differentiable features of a torch batch ``x`` (raw inputs, before preprocessing):
        preprocessing in torch, the model, then L2 normalisation if ``normalize``
        (default: the estimator's setting). Returns a torch tensor ``(n, d)``."""
        import torch.nn.functional as F

        if not self.all_framework_preprocessing:
            raise NotImplementedError(
                "differentiable features need all preprocessing in PyTorch (ART's *PyTorch "
                "preprocessors and the (subtrahend, divisor) standardisation)"
            )
        x_pre, _ = self._apply_preprocessing(x, y=None, fit=False, no_grad=False)
        out = self._model(x_pre)
        if self.normalize if normalize is None else normalize:
            out = F.normalize(out, dim=1)
        return out

    def predict(self, x: np.ndarray, batch_size: int = 128, training_mode: bool = False,
                **kwargs: Any) -> np.ndarray:  # fmt: skip
        """Features ``(n, d)`` float32 of ``x`` ``(n,) + input_shape`` (not modified)."""
        check_kwargs("PyTorchRetrievalEstimator.predict", kwargs)
        import torch
        import torch.nn.functional as F

        x = self._check_x(x)
        self._model.train(mode=training_mode)
        x_pre, _ = self._apply_preprocessing(x, y=None, fit=False)
        outs = []
        with torch.no_grad():
            for start in range(0, len(x_pre), batch_size):
                batch = torch.as_tensor(x_pre[start : start + batch_size], device=self._device)
                out = self._model(batch)
                outs.append(F.normalize(out, dim=1) if self.normalize else out)
        self._model.eval()
        feats = torch.cat(outs).cpu().numpy() if outs else np.zeros((0, 0), np.float32)
        return self._apply_postprocessing(preds=feats, fit=False)

    def _loss_tensor(self, x: np.ndarray, y: Any) -> tuple[Any, Any]:
        import torch

        xt = torch.tensor(x, device=self._device, requires_grad=True)
        yt = torch.as_tensor(np.asarray(y, dtype=np.float32), device=self._device)
        loss_fn = self.loss or squared_distance_loss
        return xt, loss_fn(self.features(xt), yt)

    def loss_gradient(self, x: np.ndarray, y: np.ndarray, training_mode: bool = False,
                      **kwargs: Any) -> np.ndarray:  # fmt: skip
        """Gradient of the summed retrieval loss w.r.t. ``x``: float32, shape of ``x``.

        :param x: Inputs ``(n,) + input_shape``.
        :param y: The loss's second argument, e.g. reference features ``(n, d)``.
        :raises InvalidParameterError: ``x`` of the wrong shape or non-finite.
        """
        check_kwargs("PyTorchRetrievalEstimator.loss_gradient", kwargs)
        x = self._check_x(x)
        self._model.train(mode=training_mode)
        xt, loss = self._loss_tensor(x, y)
        loss.sum().backward()
        self._model.eval()
        return xt.grad.detach().cpu().numpy().astype(np.float32)

    def compute_loss(self, x: np.ndarray, y: np.ndarray, reduction: str = "none",
                     **kwargs: Any) -> np.ndarray:  # fmt: skip
        """Retrieval loss per sample (``reduction="none"``), or its ``"mean"`` / ``"sum"``."""
        check_kwargs("PyTorchRetrievalEstimator.compute_loss", kwargs)
        import torch

        if reduction not in ("none", "mean", "sum"):
            raise InvalidParameterError(
                f"reduction must be 'none', 'mean' or 'sum', got {reduction!r}"
            )
        with torch.no_grad():
            _, loss = self._loss_tensor(self._check_x(x), y)
        loss = loss.detach().cpu().numpy()
        return loss if reduction == "none" else getattr(np, reduction)(loss)

    def get_activations(self, x: np.ndarray, layer: int | str, batch_size: int = 128,
                        framework: bool = False) -> Any:  # fmt: skip
        """Output of the sub-module ``layer`` (a name from ``model.named_modules()`` or an index
        into that list) for ``x``; a torch tensor if ``framework`` else numpy."""
        import torch

        names = [n for n, _ in self._model.named_modules() if n]
        name = names[layer] if isinstance(layer, int) else layer
        if name not in names:
            raise InvalidParameterError(f"layer must be one of {names}, got {layer!r}")
        module = dict(self._model.named_modules())[name]
        store: list[Any] = []
        handle = module.register_forward_hook(lambda _m, _i, out: store.append(out))
        try:
            x_pre, _ = self._apply_preprocessing(self._check_x(x), y=None, fit=False)
            with torch.no_grad():
                for start in range(0, len(x_pre), batch_size):
                    self._model(torch.as_tensor(x_pre[start : start + batch_size],
                                                device=self._device))  # fmt: skip
        finally:
            handle.remove()
        out = torch.cat(store)
        return out if framework else out.cpu().numpy()

    def fit(self, x: np.ndarray, y: np.ndarray, batch_size: int = 128, nb_epochs: int = 10,
            **kwargs: Any) -> None:  # fmt: skip
        """Train the backbone with identity cross-entropy on ``y`` (index or one-hot labels).

        Needs a model with ``logits(x)`` (the zoo's IDE/PCB backbones); keyword arguments go to
        :func:`ai4media_ext.zoo.reid.train_reid` (``learning_rate``, ``random_state``).

        :raises NotImplementedError: the model has no identity classifier (``logits``).
        """
        check_kwargs("PyTorchRetrievalEstimator.fit", kwargs, ("learning_rate", "random_state"))
        from ...zoo.reid import train_reid

        if not hasattr(self._model, "logits"):
            raise NotImplementedError(
                "fit trains with identity cross-entropy and needs model.logits(x); train other "
                "embedding models with their own loop"
            )
        x = self._check_x(x)
        x_pre, _ = self._apply_preprocessing(x, y=None, fit=True)
        train_reid(self._model, x_pre, y, epochs=nb_epochs, batch_size=batch_size,
                   device=str(self._device), **kwargs)  # fmt: skip
