"""PyTorch generator and GAN estimators for ART (ART 1.20 ships TensorFlow v2 ones only)."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from ..._compat import require
from ..._validation import Interval, InvalidParameterError, check_kwargs, check_params

require("art", "art")

import torch  # noqa: E402
from art.estimators.generation.generator import GeneratorMixin  # noqa: E402
from art.estimators.pytorch import PyTorchEstimator  # noqa: E402
from torch import nn  # noqa: E402

from ...zoo.dcgan import (  # noqa: E402
    bce_discriminator_loss,
    bce_generator_loss,
    gan_training_loop,
)

__all__ = ["PyTorchGAN", "PyTorchGenerator"]


def _infer_encoding_length(model: nn.Module) -> int | None:
    length = getattr(model, "latent_dim", None)
    if isinstance(length, numbers.Integral):
        return int(length)
    for module in model.modules():
        if isinstance(module, nn.Linear):
            return int(module.in_features)
    return None


class PyTorchGenerator(GeneratorMixin, PyTorchEstimator):
    """ART generator estimator for a PyTorch module mapping latent codes to samples.

    The PyTorch counterpart of ``art.estimators.generation.TensorFlowV2Generator`` (same argument
    order), so ART's generative-model attacks and ours accept it.

    :param encoding_length: Length of the latent code ``z``; ``None`` reads ``model.latent_dim``
           or the ``in_features`` of the model's first ``nn.Linear``.
    :param model: A ``torch.nn.Module`` mapping ``(N, encoding_length)`` float32 to samples
           ``(N, *output_shape)``.
    :param channels_first: Whether the samples are channels first (the PyTorch default).
    :param clip_values: ``(min, max)`` the samples are clipped to in :meth:`predict`, or ``None``.
    :param preprocessing_defences: ART preprocessing defences applied to ``z``.
    :param postprocessing_defences: Not used by generators (kept for ART's signature).
    :param preprocessing: ``(subtrahend, divisor)`` applied to ``z``; the default is the identity.
    :param device_type: ``"gpu"`` (used when CUDA is available) or ``"cpu"``.
    :raises InvalidParameterError: a model that is not an ``nn.Module`` or an encoding length
            that is not a positive int.
    """

    estimator_params = PyTorchEstimator.estimator_params + ["encoding_length"]
    _parameter_constraints = {
        "encoding_length": [Interval(numbers.Integral, 1, None, closed="left")],
        "model": [nn.Module],
    }

    def __init__(
        self,
        encoding_length: int | None = None,
        model: nn.Module | None = None,
        channels_first: bool = True,
        clip_values: Any = None,
        preprocessing_defences: Any = None,
        postprocessing_defences: Any = None,
        preprocessing: Any = (0.0, 1.0),
        device_type: str = "gpu",
    ) -> None:
        if isinstance(encoding_length, nn.Module) and model is None:  # PyTorchGenerator(model)
            encoding_length, model = None, encoding_length
        if encoding_length is None and isinstance(model, nn.Module):
            encoding_length = _infer_encoding_length(model)
        self._encoding_length = encoding_length
        super().__init__(
            model=model,
            clip_values=clip_values,
            channels_first=channels_first,
            preprocessing_defences=preprocessing_defences,
            postprocessing_defences=postprocessing_defences,
            preprocessing=preprocessing,
            device_type=device_type,
        )
        PyTorchGenerator._check_params(self)  # ART's __init__ calls only its own check
        self._model.to(self._device)
        self._output_shape: tuple[int, ...] | None = None

    def _check_params(self) -> None:
        super()._check_params()
        check_params(
            self,
            {"encoding_length": self._encoding_length, "model": self._model},
            self._parameter_constraints,
        )

    @property
    def encoding_length(self) -> int:
        """Length of the latent code ``z``."""
        return self._encoding_length

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one latent code: ``(encoding_length,)``."""
        return (self._encoding_length,)

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Shape of one generated sample (probed with one latent code on first use)."""
        if self._output_shape is None:
            z = np.zeros((2, self._encoding_length), dtype=np.float32)
            self._output_shape = tuple(self.predict(z).shape[1:])
        return self._output_shape

    @property
    def device(self) -> torch.device:
        """The torch device the model runs on."""
        return self._device

    def with_model(self, model: nn.Module) -> PyTorchGenerator:
        """A new generator with the same settings (encoding length, clipping, preprocessing,
        device) around ``model``."""
        return type(self)(
            encoding_length=self._encoding_length,
            model=model,
            channels_first=self.channels_first,
            clip_values=self.clip_values,
            preprocessing_defences=self.preprocessing_defences,
            postprocessing_defences=self.postprocessing_defences,
            preprocessing=self.preprocessing,
            device_type=self._device_type,
        )

    def check_latent(self, z: Any, name: str = "x") -> np.ndarray:
        """``z`` as float32 ``(N, encoding_length)`` (a new array); a single code ``(L,)`` is
        read as ``(1, L)``.

        :raises InvalidParameterError: a wrong length, non-numeric values, NaN or inf.
        """
        if isinstance(z, torch.Tensor):
            z = z.detach().cpu().numpy()
        arr = np.array(z, dtype=np.float32, copy=True) if z is not None else None
        if arr is None or arr.ndim not in (1, 2) or arr.shape[-1] != self._encoding_length:
            shape = None if arr is None else arr.shape
            raise InvalidParameterError(
                f"{name} must be latent codes of shape (n, {self._encoding_length}) (encoding_length"
                f" of this generator), got shape {shape}"
            )
        if not np.all(np.isfinite(arr)):
            raise InvalidParameterError(f"{name} must be finite (no NaN or inf)")
        return arr.reshape(-1, self._encoding_length)

    def forward(self, z: torch.Tensor, clip: bool = True) -> torch.Tensor:
        """Differentiable forward pass on a tensor (preprocessing of ``z`` applied, and clipping
        unless ``clip=False``: the pre-activation objectives of ReD / ReX turn it off)."""
        z_pre, _ = self._apply_preprocessing(z, y=None, fit=False, no_grad=False)
        out = self._model(z_pre)
        if clip and self.clip_values is not None:
            low, high = (
                torch.as_tensor(np.asarray(v), device=out.device) for v in self.clip_values
            )
            out = torch.maximum(torch.minimum(out, high), low)
        return out

    def predict(
        self, x: np.ndarray, batch_size: int = 128, training_mode: bool = False, **kwargs: Any
    ) -> np.ndarray:
        """Generate samples.

        :param x: Latent codes, float ``(N, encoding_length)``.
        :param batch_size: Codes per forward pass.
        :param training_mode: Run the model in train mode (BatchNorm batch statistics).
        :return: Samples, float32 ``(N, *output_shape)``.
        :raises InvalidParameterError: codes of the wrong length or non-finite.
        """
        check_kwargs("PyTorchGenerator.predict", kwargs)
        z = self.check_latent(x)
        check_params(
            self,
            {"batch_size": batch_size},
            {"batch_size": [Interval(numbers.Integral, 1, None, closed="left")]},
        )
        self._model.train(mode=training_mode)
        outs = []
        with torch.no_grad():
            for start in range(0, len(z), batch_size):
                zb = torch.from_numpy(z[start : start + batch_size]).to(self._device)
                outs.append(self.forward(zb).cpu().numpy().astype(np.float32, copy=False))
        self._model.eval()
        if not outs:
            return np.zeros((0, *self.output_shape), dtype=np.float32)
        return np.concatenate(outs)

    def fit(
        self, x: np.ndarray, y: np.ndarray, batch_size: int = 128, nb_epochs: int = 20, **kwargs
    ):
        """Generators are trained inside a GAN: use :class:`PyTorchGAN` ``.fit``."""
        raise NotImplementedError("train a generator inside PyTorchGAN (PyTorchGAN.fit)")

    def loss_gradient(self, x: np.ndarray, y: np.ndarray, **kwargs: Any) -> np.ndarray:
        """Gradient w.r.t. the latent codes ``x`` of ``sum_i ||G(x_i) - y_i||^2``.

        :param x: Latent codes ``(N, encoding_length)``.
        :param y: Samples ``(N, *output_shape)``.
        :return: float32 ``(N, encoding_length)``.
        """
        check_kwargs("PyTorchGenerator.loss_gradient", kwargs)
        z = torch.from_numpy(self.check_latent(x)).to(self._device).requires_grad_(True)
        target = torch.as_tensor(np.asarray(y, dtype=np.float32), device=self._device)
        self._model.eval()
        out = self.forward(z)
        if target.shape != out.shape:
            raise InvalidParameterError(
                f"y must have shape {tuple(out.shape)}, got {tuple(target.shape)}"
            )
        ((out - target) ** 2).sum().backward()
        return z.grad.cpu().numpy()

    def get_activations(
        self, x: np.ndarray, layer: int | str, batch_size: int = 128, framework: bool = False
    ) -> np.ndarray:
        """Output of the sub-module ``layer`` (a name from ``model.named_modules()`` or an index
        into that list) for latent codes ``x``; a tensor when ``framework`` is true."""
        names = [n for n, _ in self._model.named_modules() if n]
        name = names[layer] if isinstance(layer, int) else layer
        if name not in names:
            raise ValueError(f"layer {layer!r} is not a sub-module; available: {names}")
        module = self._model.get_submodule(name)
        z = self.check_latent(x)
        captured: list[torch.Tensor] = []
        handle = module.register_forward_hook(lambda _m, _i, out: captured.append(out))
        try:
            self._model.eval()
            with torch.set_grad_enabled(framework):
                for start in range(0, len(z), batch_size):
                    self.forward(torch.from_numpy(z[start : start + batch_size]).to(self._device))
        finally:
            handle.remove()
        acts = torch.cat(captured)
        return acts if framework else acts.detach().cpu().numpy()


class PyTorchGAN(PyTorchEstimator):
    """A generator, a discriminator, their losses and optimisers, trained together.

    The PyTorch counterpart of ``art.estimators.gan.TensorFlowV2GAN``.

    :param generator: A :class:`PyTorchGenerator`.
    :param discriminator: A ``torch.nn.Module`` mapping samples to one logit each (or an ART
           PyTorch estimator whose ``.model`` is one).
    :param generator_loss: ``f(fake_logits) -> scalar``; default: non-saturating BCE.
    :param discriminator_loss: ``f(real_logits, fake_logits) -> scalar``; default: BCE.
    :param generator_optimizer_fct: A torch optimiser over the generator's parameters; default
           Adam(``learning_rate``, betas=(0.5, 0.999)) as in DCGAN.
    :param discriminator_optimizer_fct: Same for the discriminator.
    :param learning_rate: Step size of the default optimisers.
    :param device_type: ``"gpu"`` or ``"cpu"``.
    """

    estimator_params = PyTorchEstimator.estimator_params + ["generator", "discriminator"]
    _parameter_constraints = {
        "generator": [PyTorchGenerator],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        generator: PyTorchGenerator,
        discriminator: Any,
        generator_loss: Callable[[torch.Tensor], torch.Tensor] | None = None,
        discriminator_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
        generator_optimizer_fct: torch.optim.Optimizer | None = None,
        discriminator_optimizer_fct: torch.optim.Optimizer | None = None,
        learning_rate: float = 2e-4,
        device_type: str = "gpu",
    ) -> None:
        check_params(
            self,
            {"generator": generator, "learning_rate": learning_rate},
            self._parameter_constraints,
        )
        disc_model = getattr(discriminator, "model", discriminator)
        if not isinstance(disc_model, nn.Module):
            raise InvalidParameterError(
                "discriminator must be a torch.nn.Module or an ART PyTorch estimator wrapping one"
            )
        super().__init__(
            model=generator.model, clip_values=None, channels_first=True, device_type=device_type
        )
        self._generator = generator
        self._discriminator = discriminator
        self._discriminator_model = disc_model.to(generator.device)
        self._generator_loss = generator_loss or bce_generator_loss
        self._discriminator_loss = discriminator_loss or bce_discriminator_loss
        betas = (0.5, 0.999)
        self._generator_optimizer_fct = generator_optimizer_fct or torch.optim.Adam(
            generator.model.parameters(), lr=learning_rate, betas=betas
        )
        self._discriminator_optimizer_fct = discriminator_optimizer_fct or torch.optim.Adam(
            disc_model.parameters(), lr=learning_rate, betas=betas
        )
        self.learning_rate = learning_rate

    generator = property(lambda self: self._generator, doc="The :class:`PyTorchGenerator`.")
    discriminator = property(lambda self: self._discriminator, doc="The discriminator given.")
    discriminator_model = property(
        lambda self: self._discriminator_model, doc="The discriminator's ``nn.Module``."
    )
    generator_loss = property(lambda self: self._generator_loss)
    discriminator_loss = property(lambda self: self._discriminator_loss)
    generator_optimizer_fct = property(lambda self: self._generator_optimizer_fct)
    discriminator_optimizer_fct = property(lambda self: self._discriminator_optimizer_fct)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self._generator.input_shape

    def predict(self, x: np.ndarray, batch_size: int = 128, **kwargs: Any) -> np.ndarray:
        """Samples of the generator for latent codes ``x`` (see :meth:`PyTorchGenerator.predict`)."""
        return self._generator.predict(x, batch_size=batch_size, **kwargs)

    def fit(
        self,
        x: np.ndarray | None = None,
        y: np.ndarray | None = None,
        batch_size: int = 128,
        nb_epochs: int = 20,
        **kwargs: Any,
    ) -> list[tuple[float, float]]:
        """Train the GAN on real samples.

        :param x: Real samples, float ``(N, *output_shape)`` in the generator's output range (ART's
               TF GAN reads them from ``images=``; that keyword is accepted too).
        :param y: Unused (ART's signature).
        :param batch_size: Samples per step.
        :param nb_epochs: Passes over ``x``.
        :param random_state: (keyword) Seed of the shuffling and latent draws.
        :param generator_extra_loss: (keyword) ``f(generator_module) -> scalar`` added to each
               generator step.
        :param verbose: (keyword) tqdm bar over epochs.
        :return: Mean (generator, discriminator) loss per epoch.
        :raises InvalidParameterError: missing, non-finite or wrongly shaped samples.
        :raises FloatingPointError: a loss became NaN or inf.
        """
        check_kwargs(
            "PyTorchGAN.fit", kwargs, ("images", "random_state", "generator_extra_loss", "verbose")
        )
        images = x if x is not None else kwargs.get("images")
        if images is None:
            raise InvalidParameterError("x (or images=) must hold the real training samples")
        images = np.asarray(images, dtype=np.float32)
        expected = self._generator.output_shape
        if images.ndim < 2 or tuple(images.shape[1:]) != expected or len(images) < 2:
            raise InvalidParameterError(
                f"x must hold at least two samples of shape {expected}, got {images.shape}"
            )
        if not np.all(np.isfinite(images)):
            raise InvalidParameterError("x must be finite (no NaN or inf)")
        check_params(
            self,
            {"batch_size": batch_size, "nb_epochs": nb_epochs},
            {
                "batch_size": [Interval(numbers.Integral, 2, None, closed="left")],
                "nb_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
            },
        )
        return gan_training_loop(
            self._generator.model,
            self._discriminator_model,
            images,
            generator_optimizer=self._generator_optimizer_fct,
            discriminator_optimizer=self._discriminator_optimizer_fct,
            generator_loss=self._generator_loss,
            discriminator_loss=self._discriminator_loss,
            latent_dim=self._generator.encoding_length,
            epochs=nb_epochs,
            batch_size=batch_size,
            seed=kwargs.get("random_state"),
            generator_extra_loss=kwargs.get("generator_extra_loss"),
            device=self._generator.device,
            verbose=bool(kwargs.get("verbose", False)),
        )

    def loss_gradient(self, x: np.ndarray, y: np.ndarray, **kwargs: Any) -> np.ndarray:
        check_kwargs("PyTorchGAN.loss_gradient", kwargs)
        raise NotImplementedError("a GAN has no single loss gradient; use its generator")

    def get_activations(
        self, x: np.ndarray, layer: int | str, batch_size: int, framework: bool = False
    ):
        return self._generator.get_activations(x, layer, batch_size, framework)
