"""ReX: backdoor a frozen generator through added expansion layers (Rawat et al. 2022)."""

from __future__ import annotations

import copy
import functools
import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..._validation import Interval, InvalidParameterError, check_kwargs, check_params
from ._base import SPACE_CONSTRAINTS, DGMBackdoorAttack, resolve_space
from .estimators import PyTorchGenerator

__all__ = ["BackdoorAttackDGMReXPyTorch", "ExpandedGenerator"]


class ExpandedGenerator(nn.Module):
    """A frozen generator with trainable expansion branches added at internal positions.

    ``forward(z)`` runs ``base(z)``; at each position ``p`` (a sub-module name of ``base``) the
    output ``h_p`` becomes ``h_p + E_p(z)``, with ``E_p`` a two-layer MLP
    ``Linear(L, hidden) -> ReLU -> Linear(hidden, numel(h_p))`` whose last layer starts at zero,
    so the expanded generator starts equal to ``base``. The base weights are frozen
    (``requires_grad=False``) and never changed. An ordinary ``nn.Module`` (deep-copy, pickle and
    ``state_dict`` work): the same interface as ``base``.

    Args:
        base: the generator ``(N, L) -> (N, *output_shape)``.
        positions: sub-module names of ``base`` (from ``base.named_modules()``).
        latent_dim: ``L``.
        hidden: width of the expansions' hidden layer.
    """

    def __init__(
        self, base: nn.Module, positions: Sequence[str], latent_dim: int, hidden: int = 64
    ) -> None:
        super().__init__()
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.positions = list(positions)
        self.latent_dim = latent_dim
        shapes = self._probe_shapes()
        self.expansions = nn.ModuleDict()
        for pos in self.positions:
            out = nn.Linear(hidden, math.prod(shapes[pos]))
            nn.init.zeros_(out.weight)
            nn.init.zeros_(out.bias)
            self.expansions[self._key(pos)] = nn.Sequential(
                nn.Linear(latent_dim, hidden), nn.ReLU(), out, nn.Unflatten(1, shapes[pos])
            )
        self._z: torch.Tensor | None = None
        self.expansion_enabled = True
        for pos in self.positions:
            self.base.get_submodule(pos).register_forward_hook(
                functools.partial(ExpandedGenerator._hook, self, pos)
            )

    @staticmethod
    def _key(position: str) -> str:
        return position.replace(".", "__")

    def _probe_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes: dict[str, tuple[int, ...]] = {}
        handles = [
            self.base.get_submodule(p).register_forward_hook(
                functools.partial(lambda p, _m, _i, out: shapes.__setitem__(p, out.shape[1:]), p)
            )
            for p in self.positions
        ]
        was_training = self.base.training
        try:
            self.base.eval()
            with torch.no_grad():
                device = next(self.base.parameters()).device
                self.base(torch.zeros(2, self.latent_dim, device=device))
        finally:
            for h in handles:
                h.remove()
            self.base.train(was_training)
        return {p: tuple(s) for p, s in shapes.items()}

    def _hook(self, position: str, _module: nn.Module, _inp: Any, out: torch.Tensor) -> Any:
        if self._z is None or not self.expansion_enabled:
            return None
        return out + self.expansions[self._key(position)](self._z)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        self._z = z
        try:
            return self.base(z)
        finally:
            self._z = None

    def train(self, mode: bool = True) -> ExpandedGenerator:
        """Train mode for the expansions only: the frozen base stays in ``eval()``."""
        super().train(mode)
        self.base.eval()
        return self


class BackdoorAttackDGMReXPyTorch(DGMBackdoorAttack):
    r"""ReX (REtraining with eXpansion) for PyTorch generators.

    The generator's weights stay frozen and bit-identical; trainable expansion layers
    (:class:`ExpandedGenerator`) are added at ``positions`` and trained with Adam on eq. (7) of the
    seed (§3.3) plus the fidelity term:

    .. math:: \mathbb{E}_{z} \operatorname{mean}(G^*(z) - G(z))^2
              + \lambda \operatorname{mean}(G^*(z^*) - x^{target})^2,
              \qquad G^*(z) = G_{>p}\big(h_p(z) + E(z)\big)

    The default position is the input of the model's last child module (for the zoo's DCGAN:
    ``to_image``, the pre-``tanh`` image, the "pre-activation space" of the paper). With the
    default ``space="auto"`` a generator ending in ``nn.Tanh`` is trained in the pre-activation
    space (as :class:`BackdoorAttackDGMReDPyTorch` with ``space="pre-activation"``: tanh dropped,
    target :math:`\operatorname{arctanh}(0.999\,x^{target})`); in the output space an
    expansion before a saturated tanh (a black background at -1) gets almost no gradient and
    the full-size MNIST DCGAN never reached its target (docs/experiments/dgm-backdoor.md).
    Not in ART.

    | Paper link: https://arxiv.org/abs/2108.01644

    :param generator: The pre-trained :class:`PyTorchGenerator` to poison.
    :param positions: Sub-module names of ``generator.model`` whose outputs receive an expansion;
           ``None``: the second-to-last child module.
    :param hidden: Width of each expansion's hidden layer.
    :param space: ``"auto"`` (default: pre-activation when the model ends in ``nn.Tanh``),
           ``"pre-activation"`` or ``"output"``.
    :raises InvalidParameterError: an unknown position or ``space``, ``hidden < 1``, or
            ``"pre-activation"`` on a model whose last module is not ``nn.Tanh``.
    """

    attack_params = DGMBackdoorAttack.attack_params + ["positions", "hidden", "space"]
    _parameter_constraints = {
        "hidden": [Interval(numbers.Integral, 1, None, closed="left")],
        "positions": [list, tuple, None],
        **SPACE_CONSTRAINTS,
    }

    def __init__(
        self,
        generator: PyTorchGenerator,
        positions: Sequence[str] | None = None,
        hidden: int = 64,
        space: str = "auto",
    ) -> None:
        super().__init__(generator=generator)
        self.positions = positions
        self.hidden = hidden
        self.space = space
        self._check_params()

    def _check_params(self) -> None:
        super()._check_params()
        check_params(
            self,
            {"hidden": self.hidden, "positions": self.positions, "space": self.space},
            self._parameter_constraints,
        )
        names = {n for n, _ in self.estimator.model.named_modules() if n}
        children = [n for n, _ in self.estimator.model.named_children()]
        if self.positions is None:
            if len(children) < 2:
                raise InvalidParameterError(
                    "positions=None needs a model with at least two child modules; name them"
                )
            self.positions = (children[-2],)
        bad = [p for p in self.positions if p not in names]
        if bad or not self.positions:
            raise InvalidParameterError(
                f"positions must be sub-module names of the generator's model, got {bad or '[]'};"
                f" available: {sorted(names)}"
            )
        self._dropped_tanh()

    def _dropped_tanh(self) -> str | None:
        """The final tanh dropped while training (:func:`resolve_space`), or ``None``. An
        expansion at the tanh or at a module containing it is added after the tanh, outside the
        pre-activation output, so ``"auto"`` trains such a model in the output space.

        :raises InvalidParameterError: ``space="pre-activation"`` with such a position, or on a
                model without a final ``nn.Tanh``.
        """
        tanh = resolve_space(self.estimator.model, self.space)
        after = [p for p in self.positions if tanh is not None and f"{tanh}.".startswith(f"{p}.")]
        if not after:
            return tanh
        if self.space == "pre-activation":
            raise InvalidParameterError(
                f"space='pre-activation' drops the final tanh {tanh!r} while training, but"
                f" positions {after} add their expansion after it; use space='output' or 'auto'"
            )
        return None

    def poison_estimator(
        self,
        z_trigger: np.ndarray,
        x_target: np.ndarray,
        batch_size: int = 32,
        max_iter: int = 100,
        lambda_p: float = 0.1,
        verbose: int = -1,
        learning_rate: float = 1e-4,
        random_state: Any = None,
        **kwargs: Any,
    ) -> PyTorchGenerator:
        """Create the backdoor in the expansion layers.

        Parameters as :meth:`BackdoorAttackDGMReDPyTorch.poison_estimator`;
        ``random_state`` also seeds the expansions' initial weights.

        :return: A new :class:`PyTorchGenerator` around an :class:`ExpandedGenerator`.
        :raises InvalidParameterError: a trigger of the wrong length, a target of the wrong
                shape, ``lambda_p <= 0`` or another parameter out of range.
        """
        check_kwargs("BackdoorAttackDGMReXPyTorch.poison_estimator", kwargs)
        z_t, x_t, params = self._prepare(z_trigger, x_target, locals())
        est = self.estimator
        rng = self._rng(random_state)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(2**31, (1,), generator=rng)))
            expanded = ExpandedGenerator(
                copy.deepcopy(est.model), self.positions, est.encoding_length, self.hidden
            ).to(est.device)
        expanded.eval()
        poisoned = est.with_model(expanded)

        def reference(z: torch.Tensor, clip: bool) -> torch.Tensor:
            expanded.expansion_enabled = False
            try:
                return poisoned.forward(z, clip=clip)
            finally:
                expanded.expansion_enabled = True

        tanh = self._dropped_tanh()
        self._retrain(
            poisoned,
            reference,
            expanded.expansions.parameters(),
            [] if tanh is None else [expanded.base.get_submodule(tanh)],
            z_t,
            x_t,
            params,
            rng,
            "ReX",
        )
        self._poisoned = poisoned
        return poisoned
