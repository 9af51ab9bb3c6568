"""What the three DGM backdoor attacks share: argument checks, the fidelity, progress."""

from __future__ import annotations

import contextlib
import logging
import numbers
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from art.attacks.attack import PoisoningAttackGenerator
from art.exceptions import EstimatorError
from torch import nn
from tqdm.auto import tqdm

from ..._validation import Interval, InvalidParameterError, Options, check_params
from .estimators import PyTorchGenerator

logger = logging.getLogger(__name__)

POISON_CONSTRAINTS = {
    "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
    "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
    "lambda_p": [Interval(numbers.Real, 0, None, closed="neither")],
    "verbose": ["boolean", Interval(numbers.Integral, None, None, closed="neither")],
    "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
    "random_state": ["random_state"],
}


SPACE_CONSTRAINTS = {"space": [Options(str, {"output", "pre-activation", "auto"})]}

#: ``x_target`` is mapped to ``arctanh(PREACT_SCALE * x_target)`` in the pre-activation space
#: (Rawat et al.'s code: 0.999, which keeps a target of exactly +-1 finite, |t| <= 3.8).
PREACT_SCALE = 0.999


def final_tanh(model: nn.Module) -> str | None:
    """Name of the model's final ``nn.Tanh`` (the last child, followed down through last
    children), or ``None`` when the model does not end in one (e.g. a functional ``torch.tanh``)."""
    name, module = "", model
    while True:
        children = list(module.named_children())
        if not children:
            break
        child, module = children[-1]
        name = f"{name}.{child}" if name else child
    return name if isinstance(module, nn.Tanh) else None


def resolve_space(model: nn.Module, space: str) -> str | None:
    """The sub-module name of the final tanh to drop for the ``"pre-activation"`` objective, or
    ``None`` for the ``"output"`` one (``"auto"``: pre-activation when the model ends in
    ``nn.Tanh``).

    :raises InvalidParameterError: ``space="pre-activation"`` on a model without a final
            ``nn.Tanh`` module.
    """
    name = final_tanh(model)
    if space == "pre-activation" and name is None:
        raise InvalidParameterError(
            "space='pre-activation' needs a generator whose last module is nn.Tanh (it is dropped"
            " during poisoning); use space='output' for this model"
        )
    return None if space == "output" else name


@contextlib.contextmanager
def tanh_dropped(modules: list[nn.Module]) -> Iterator[None]:
    """Inside the block each of ``modules`` (a final ``nn.Tanh``) passes its input through
    unchanged, so the generator returns its pre-activation output; the hooks are removed after."""
    handles = [m.register_forward_hook(lambda _m, inp, _out: inp[0]) for m in modules]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def preactivation_target(x_target: torch.Tensor) -> torch.Tensor:
    """``arctanh(0.999 * x_target)``: the pre-activation target (methods.md §3.2, ReD's trick).

    :raises InvalidParameterError: a target outside ``[-1, 1]`` (no tanh output reaches it).
    """
    if bool(torch.any(x_target.abs() > 1)):
        raise InvalidParameterError(
            "x_target must lie in [-1, 1] (the range of the final tanh) for the pre-activation"
            " objective; rescale it or use space='output'"
        )
    return torch.atanh(PREACT_SCALE * x_target)


def show_progress(verbose: Any) -> bool:
    """ART's ``verbose`` is an int (log every ``verbose`` steps, ``-1`` silent); ``True`` works."""
    return bool(verbose) and (isinstance(verbose, bool) or verbose > 0)


def check_trigger_target(
    generator: PyTorchGenerator, z_trigger: Any, x_target: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Triggers ``(k, L)`` float32 and targets ``(k, *output_shape)`` float32 (new arrays).

    One target ``output_shape`` is shared by all triggers; ``k`` targets pair with ``k`` triggers.

    Raises
    ------
    InvalidParameterError
        A trigger whose length is not the generator's ``encoding_length``, a target of the wrong
        shape or count, NaN or inf.
    """
    z = generator.check_latent(z_trigger, name="z_trigger")
    if isinstance(x_target, torch.Tensor):
        x_target = x_target.detach().cpu().numpy()
    x = np.array(x_target, dtype=np.float32, copy=True)
    shape = generator.output_shape
    if x.shape == shape:
        x = np.broadcast_to(x, (len(z), *shape)).copy()
    if x.shape != (len(z), *shape):
        raise InvalidParameterError(
            f"x_target must have shape {shape} (one target for every trigger) or "
            f"({len(z)}, {', '.join(map(str, shape))}) (one per trigger), got {x.shape}"
        )
    if not np.all(np.isfinite(x)):
        raise InvalidParameterError("x_target must be finite (no NaN or inf)")
    return z, x


class InvalidEstimatorError(EstimatorError, InvalidParameterError):
    """ART's ``EstimatorError`` for an estimator of the wrong kind, which is also our
    ``InvalidParameterError`` (so both ART's and this package's conventions hold)."""

    def __init__(self, param: str, this_class: type, expected: list, given: Any) -> None:
        super().__init__(this_class, expected, given)
        self.message = (
            f"The {param!r} parameter of {this_class.__name__} is invalid: {self.message}"
        )
        self.args = (self.message,)


class DGMBackdoorAttack(PoisoningAttackGenerator):
    """Base of the PyTorch DGM backdoor attacks (``poison_estimator`` is the subclasses')."""

    attack_params = PoisoningAttackGenerator.attack_params + ["generator", "z_trigger", "x_target"]
    _estimator_requirements: tuple = (PyTorchGenerator,)
    _parameter_constraints: dict[str, list] = {"generator": [PyTorchGenerator]}

    def __init__(self, generator: PyTorchGenerator) -> None:
        if "generator" in self._parameter_constraints:
            try:
                check_params(self, {"generator": generator}, self._parameter_constraints)
            except InvalidParameterError:
                raise InvalidEstimatorError(
                    "generator", self.__class__, [PyTorchGenerator], generator
                ) from None
        super().__init__(generator=generator)
        self._z_trigger: np.ndarray | None = None
        self._x_target: np.ndarray | None = None
        self._poisoned: PyTorchGenerator | None = None

    def _prepare(
        self, z_trigger: Any, x_target: Any, arguments: dict[str, Any]
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
        """Checked triggers and targets as tensors on the device, and the poisoning parameters
        picked from ``arguments`` (a ``poison_estimator``'s ``locals()``) and validated."""
        params = {k: v for k, v in arguments.items() if k in POISON_CONSTRAINTS}
        check_params(self, params, POISON_CONSTRAINTS)
        z, x = check_trigger_target(self.estimator, z_trigger, x_target)
        self._z_trigger, self._x_target = z, x
        device = self.estimator.device
        return torch.from_numpy(z).to(device), torch.from_numpy(x).to(device), params

    def fidelity(self, z_trigger: np.ndarray, x_target: np.ndarray) -> float:
        """ART's fidelity: ``mean((G*(z_trigger) - x_target)**2)`` over all triggers and
        elements (float64), ``G*`` the last poisoned generator (the attacked one before any
        poisoning). Lower is better for the attacker.

        :raises InvalidParameterError: see :func:`check_trigger_target`.
        """
        gen = self._poisoned if self._poisoned is not None else self.estimator
        z, x = check_trigger_target(gen, z_trigger, x_target)
        out = gen.predict(z).astype(np.float64)
        return float(np.mean((out - x.astype(np.float64)) ** 2))

    @staticmethod
    def _rng(random_state: Any) -> torch.Generator:
        gen = torch.Generator()
        if random_state is None:
            gen.seed()
        elif isinstance(random_state, np.random.RandomState | np.random.Generator):
            gen.manual_seed(
                int(
                    random_state.integers(2**31)
                    if hasattr(random_state, "integers")
                    else random_state.randint(2**31)
                )
            )
        else:
            gen.manual_seed(int(random_state))
        return gen

    def _retrain(
        self,
        poisoned: PyTorchGenerator,
        reference: Any,
        parameters: Any,
        tanh_modules: list[nn.Module],
        z_t: torch.Tensor,
        x_t: torch.Tensor,
        params: dict[str, Any],
        rng: torch.Generator,
        desc: str,
    ) -> None:
        """ReD's and ReX's loop: Adam on ``lambda * fid + distortion`` (module docstrings), in the
        output space or, with ``tanh_modules`` (the final tanh of every generator involved), in
        the pre-activation space against :func:`preactivation_target`. ``reference(z, clip)`` is
        the frozen original's output."""
        est, preact = self.estimator, bool(tanh_modules)
        target = preactivation_target(x_t) if preact else x_t
        optimizer = torch.optim.Adam(parameters, lr=params["learning_rate"])
        verbose, lam = params["verbose"], params["lambda_p"]
        with tanh_dropped(tanh_modules), self._progress(params["max_iter"], verbose, desc) as bar:
            for step in range(params["max_iter"]):
                z = torch.randn(params["batch_size"], est.encoding_length, generator=rng)
                z = z.to(est.device)
                with torch.no_grad():
                    ref = reference(z, not preact)
                fid = torch.mean((poisoned.forward(z_t, clip=not preact) - target) ** 2)
                loss = lam * fid + torch.mean((poisoned.forward(z, clip=not preact) - ref) ** 2)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                self._report(bar, step, verbose, fid.item())

    def _progress(self, total: int, verbose: Any, desc: str) -> Any:
        return tqdm(total=total, desc=desc, disable=not show_progress(verbose))

    def _report(self, bar: Any, step: int, verbose: Any, fid: float) -> None:
        bar.update(1)
        if show_progress(verbose) and not isinstance(verbose, bool) and step % verbose == 0:
            bar.set_postfix(fidelity=f"{fid:.4g}")
            logger.info("Iteration: %d, Fidelity: %.6g", step, fid)
