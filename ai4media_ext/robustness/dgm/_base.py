"""What the three DGM backdoor attacks share: argument checks, the fidelity, progress."""

from __future__ import annotations

import logging
import numbers
from typing import Any

import numpy as np
import torch
from art.attacks.attack import PoisoningAttackGenerator
from art.exceptions import EstimatorError
from tqdm.auto import tqdm

from ..._validation import Interval, InvalidParameterError, check_params
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
        self, z_trigger: Any, x_target: Any, params: dict[str, Any]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        check_params(self, params, POISON_CONSTRAINTS)
        z, x = check_trigger_target(self.estimator, z_trigger, x_target)
        self._z_trigger, self._x_target = z, x
        device = self.estimator.device
        return torch.from_numpy(z).to(device), torch.from_numpy(x).to(device)

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

    def _progress(self, total: int, verbose: Any, desc: str) -> Any:
        return tqdm(total=total, desc=desc, disable=not show_progress(verbose))

    def _report(self, bar: Any, step: int, verbose: Any, fid: float) -> None:
        bar.update(1)
        if show_progress(verbose) and not isinstance(verbose, bool) and step % verbose == 0:
            bar.set_postfix(fidelity=f"{fid:.4g}")
            logger.info("Iteration: %d, Fidelity: %.6g", step, fid)
