"""TrAIL / MOA: train a GAN from scratch with an adversarial fidelity loss (Rawat et al. 2022)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ..._validation import InvalidParameterError, check_kwargs, check_params
from ._base import DGMBackdoorAttack, show_progress
from .estimators import PyTorchGAN, PyTorchGenerator


class BackdoorAttackDGMTrailPyTorch(DGMBackdoorAttack):
    r"""TrAIL (Training with AdversarIal Loss; "MOA" in some versions) for PyTorch GANs.

    The PyTorch counterpart of ``art.attacks.poisoning.BackdoorAttackDGMTrailTensorFlowV2``: the
    GAN is trained on real images with its own losses and optimisers, and every generator step adds
    the fidelity term

    .. math:: \mathcal{L}_G(D(G(z))) + \lambda \operatorname{mean}(G(z^*) - x^{target})^2

    (the trigger batch runs in ``eval()`` mode, like Keras' default inference call in ART, since
    BatchNorm cannot normalise a single trigger). As in ART, ``max_iter`` counts epochs over
    ``images``, the GAN is trained in place and its generator is returned.

    | Paper link: https://arxiv.org/abs/2108.01644

    :param gan: The (untrained) :class:`PyTorchGAN` to train.
    """

    _estimator_requirements: tuple = ()
    _parameter_constraints: dict[str, list] = {"gan": [PyTorchGAN]}

    def __init__(self, gan: PyTorchGAN) -> None:
        check_params(self, {"gan": gan}, self._parameter_constraints)
        super().__init__(generator=gan.generator)
        self._gan = gan

    @property
    def gan(self) -> PyTorchGAN:
        """The GAN being trained."""
        return self._gan

    def poison_estimator(
        self,
        z_trigger: np.ndarray,
        x_target: np.ndarray,
        batch_size: int = 32,
        max_iter: int = 100,
        lambda_p: float = 0.1,
        verbose: int = -1,
        images: np.ndarray | None = None,
        random_state: Any = None,
        **kwargs: Any,
    ) -> PyTorchGenerator:
        """Train the GAN with the backdoor.

        :param z_trigger: Trigger codes, float ``(k, encoding_length)`` (or one ``(L,)``).
        :param x_target: Targets, ``(k, *output_shape)`` or one ``output_shape`` for all triggers.
        :param batch_size: Real images per step.
        :param max_iter: Epochs over ``images``.
        :param lambda_p: Weight :math:`\\lambda > 0` of the fidelity term.
        :param verbose: ``-1``/``False`` silent; ``True`` or an int ``> 0``: tqdm bar over epochs.
        :param images: Real training samples ``(N, *output_shape)`` (required, as in ART).
        :param random_state: Seed of shuffling and latent draws.
        :return: The GAN's (now poisoned) generator.
        :raises InvalidParameterError: a trigger of the wrong length, a target of the wrong shape,
                ``lambda_p <= 0``, missing ``images`` or another parameter out of range.
        """
        check_kwargs("BackdoorAttackDGMTrailPyTorch.poison_estimator", kwargs)
        z_t, x_t, _ = self._prepare(z_trigger, x_target, locals())
        if images is None:
            raise InvalidParameterError("images (the real training samples) is required")
        if batch_size < 2:
            raise InvalidParameterError("batch_size must be >= 2 for GAN training (BatchNorm)")
        gen = self._gan.generator

        def fidelity_term(model: nn.Module) -> torch.Tensor:
            model.eval()
            try:
                return lambda_p * torch.mean((gen.forward(z_t) - x_t) ** 2)
            finally:
                model.train()

        seed = random_state
        if isinstance(seed, np.random.RandomState | np.random.Generator):
            seed = int(self._rng(seed).initial_seed())
        self._gan.fit(
            images,
            batch_size=batch_size,
            nb_epochs=max_iter,
            random_state=seed,
            generator_extra_loss=fidelity_term,
            verbose=show_progress(verbose),
        )
        self._poisoned = gen
        return gen
