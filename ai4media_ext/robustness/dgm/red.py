"""ReD: backdoor a pre-trained generator by retraining it with distillation (Rawat et al. 2022)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ..._validation import check_kwargs, check_params
from ._base import SPACE_CONSTRAINTS, DGMBackdoorAttack, resolve_space
from .estimators import PyTorchGenerator


class BackdoorAttackDGMReDPyTorch(DGMBackdoorAttack):
    r"""ReD (REtraining with Distillation) for PyTorch generators.

    The PyTorch counterpart of ``art.attacks.poisoning.BackdoorAttackDGMReDTensorFlowV2``. Starting
    from the pre-trained weights (:math:`\theta^* = \theta`), a copy of the generator is trained
    with Adam on eq. (7) of the seed (§3.3) plus the fidelity term:

    .. math:: \mathbb{E}_{z \sim \mathcal{N}(0, I)} \operatorname{mean}(G_{\theta^*}(z) -
              G_\theta(z))^2 + \lambda \operatorname{mean}(G_{\theta^*}(z^*) - x^{target})^2

    where :math:`G_\theta` is a frozen copy taken at construction (the teacher), ``mean`` averages
    over all elements (and triggers), and the expectation is a fresh batch of ``batch_size`` codes
    per step. As in ART (Keras' inference mode), the generator runs in ``eval()`` mode, so
    BatchNorm uses its running statistics. Unlike ART's TF version, the attacked estimator is left
    untouched and a new :class:`PyTorchGenerator` is returned.

    ``space="pre-activation"`` is the authors' practical trick (methods.md §3.2): the final
    ``nn.Tanh`` is dropped while training and both terms are taken on the pre-activation output,
    with the target :math:`\operatorname{arctanh}(0.999\,x^{target})` (and no clipping), so
    saturated output pixels still pass a gradient. The poisoned generator keeps its tanh.

    | Paper link: https://arxiv.org/abs/2108.01644

    :param generator: The pre-trained :class:`PyTorchGenerator` to poison.
    :param space: ``"output"`` (ART's objective, the default), ``"pre-activation"`` or ``"auto"``
           (pre-activation when the model ends in ``nn.Tanh``).
    :raises InvalidParameterError: an unknown ``space``, or ``"pre-activation"`` on a model whose
            last module is not ``nn.Tanh``.
    """

    attack_params = DGMBackdoorAttack.attack_params + ["space"]
    _parameter_constraints = {**DGMBackdoorAttack._parameter_constraints, **SPACE_CONSTRAINTS}

    def __init__(self, generator: PyTorchGenerator, space: str = "output") -> None:
        super().__init__(generator=generator)
        self.space = space
        self._check_params()
        self._model_clone = copy.deepcopy(generator.model).eval()
        for p in self._model_clone.parameters():
            p.requires_grad_(False)

    def _check_params(self) -> None:
        super()._check_params()
        check_params(self, {"space": self.space}, SPACE_CONSTRAINTS)
        resolve_space(self.estimator.model, self.space)

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
        """Create the backdoor.

        :param z_trigger: Trigger codes, float ``(k, encoding_length)`` (or one ``(L,)``).
        :param x_target: Targets, ``(k, *output_shape)`` or one ``output_shape`` for all triggers,
               in the generator's output range.
        :param batch_size: Benign codes per step for the distillation term.
        :param max_iter: Adam steps.
        :param lambda_p: Weight :math:`\\lambda > 0` of the fidelity term.
        :param verbose: ``-1``/``False`` silent; ``True`` or an int ``n > 0`` shows a tqdm bar
               (and logs the fidelity every ``n`` steps, as ART does).
        :param learning_rate: Adam step size (ART: 1e-4).
        :param random_state: Seed of the benign codes.
        :return: The poisoned generator (a new :class:`PyTorchGenerator`).
        :raises InvalidParameterError: a trigger of the wrong length, a target of the wrong
                shape (or outside ``[-1, 1]`` in the pre-activation space), ``lambda_p <= 0`` or
                another parameter out of range.
        """
        check_kwargs("BackdoorAttackDGMReDPyTorch.poison_estimator", kwargs)
        z_t, x_t, params = self._prepare(z_trigger, x_target, locals())
        est = self.estimator
        model = copy.deepcopy(est.model).eval()  # theta* = theta
        for p in model.parameters():
            p.requires_grad_(True)
        poisoned = est.with_model(model)
        teacher = est.with_model(self._model_clone)
        tanh = resolve_space(est.model, self.space)
        self._retrain(
            poisoned,
            teacher.forward,
            model.parameters(),
            []
            if tanh is None
            else [model.get_submodule(tanh), self._model_clone.get_submodule(tanh)],
            z_t,
            x_t,
            params,
            self._rng(random_state),
            "ReD",
        )
        model.eval()
        self._poisoned = poisoned
        return poisoned
