"""K-anonymity-inspired adversarial attack (K-A³, Mygdalis & Pitas) as an ART evasion attack."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .._compat import require
from .._validation import (
    Interval,
    InvalidParameterError,
    check_array,
    check_labels,
    check_params,
)

require("art", "art")

from art.attacks.attack import EvasionAttack  # noqa: E402
from art.estimators.classification.classifier import ClassifierMixin  # noqa: E402
from art.estimators.estimator import BaseEstimator, LossGradientsMixin  # noqa: E402
from art.estimators.pytorch import PyTorchEstimator  # noqa: E402
from tqdm.auto import trange  # noqa: E402

from .cwssim import cw_ssim  # noqa: E402


class KAnonymityAttack(EvasionAttack):
    r"""K-A³: adversarial examples whose true label is hidden uniformly among K rank positions.

    The samples are split at random into K groups of N/K. For a sample of group
    :math:`g \in \{0, \dots, K-1\}` the attack drives the true label :math:`y` out of the top
    :math:`g + 1` positions of the output ranking to exactly position :math:`g + 2`: the
    :math:`g + 1` labels ranked highest after :math:`y` (:math:`r_x(2), \dots, r_x(g+2)`, re-read
    from the current ranking at every step) must all score above :math:`y`, and every other label
    below it (without this second condition a step may overshoot, which skews the rank
    distribution towards the far positions). Over the whole set the rank of the true label is then spread
    uniformly over positions 2..K+1, so an observer of the ranking learns the identity only
    with probability 1/K, and every sample is misclassified. Each sample minimises

    .. math:: \|p\|_2 + \lambda_s \left(1 - \text{CW-SSIM}(x, x + p)\right)
              + \lambda_c \Big[\sum_{i=2}^{g+2} \max\left(0, Z_y - Z_{r_x(i)} + \kappa\right)
              + \sum_{i>g+2} \max\left(0, Z_{r_x(i)} - Z_y + \kappa\right)\Big]

    (objective (13), :math:`Z = Z(x + p)` the logits: perturbation energy, visual dissimilarity by
    complex-wavelet SSIM, and a Carlini–Wagner-style margin loss per label that must overtake, or
    stay behind, :math:`y`) with Adam, and
    stops as soon as its ranking constraint holds. :math:`\lambda_c` starts at
    ``classification_weight`` and doubles every ``max_iter / 6`` steps for unfinished samples
    (in place of Carlini–Wagner's binary search over the constant).

    :param classifier: An ART PyTorch classifier with loss gradients.
    :param k: Protection level K (positions the true label is spread over), ``1 <= k <
              nb_classes``; K = 1 is plain minimal misclassification.
    :param similarity_weight: Weight :math:`\lambda_s` of the CW-SSIM term (images only).
    :param classification_weight: Weight :math:`\lambda_c` of the ranking margin terms.
    :param confidence: Margin :math:`\kappa` by which the overtaking labels must lead.
    :param learning_rate: Adam step size on the perturbation.
    :param max_iter: Maximum number of optimisation steps per batch.
    :param batch_size: Samples optimised together.
    :param random_state: Seed of the random split into groups.
    :param verbose: Show a progress bar.
    :raises ValueError: (``InvalidParameterError``, also a ``TypeError``) from
        :meth:`_check_params` for a parameter outside its range, naming it, as ART's attacks do.

    ``clip_values`` of the classifier may be scalars or per-feature arrays (broadcastable to the
    input shape, as ART allows): every feature is projected onto its own bounds.
    """

    _parameter_constraints = {
        "k": [Interval(numbers.Integral, 1, None, closed="left")],
        "similarity_weight": [Interval(numbers.Real, 0, math.inf, closed="left")],
        "classification_weight": [Interval(numbers.Real, 0, math.inf, closed="left")],
        "confidence": [Interval(numbers.Real, 0, math.inf, closed="left")],
        "learning_rate": [Interval(numbers.Real, 0, math.inf, closed="neither")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["boolean"],
    }

    attack_params = EvasionAttack.attack_params + [
        "k",
        "similarity_weight",
        "classification_weight",
        "confidence",
        "learning_rate",
        "max_iter",
        "batch_size",
        "random_state",
        "verbose",
    ]
    _estimator_requirements = (BaseEstimator, LossGradientsMixin, ClassifierMixin, PyTorchEstimator)

    def __init__(
        self,
        classifier: Any,
        k: int = 5,
        similarity_weight: float = 1.0,
        classification_weight: float = 10.0,
        confidence: float = 0.0,
        learning_rate: float = 0.01,
        max_iter: int = 200,
        batch_size: int = 128,
        random_state: int | None = None,
        verbose: bool = True,
    ) -> None:
        super().__init__(estimator=classifier)
        self._targeted = False
        self.k = k
        self.similarity_weight = similarity_weight
        self.classification_weight = classification_weight
        self.confidence = confidence
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.random_state = random_state
        self.verbose = verbose
        KAnonymityAttack._check_params(self)

    def _check_params(self) -> None:
        params = {name: getattr(self, name) for name in self._parameter_constraints}
        check_params(self, params, self._parameter_constraints)
        nb_classes = self.estimator.nb_classes
        if self.k >= nb_classes:
            raise InvalidParameterError(
                f"The 'k' parameter of KAnonymityAttack must be < nb_classes = {nb_classes}. "
                f"Got {self.k} instead."
            )

    def target_ranks(self, n: int) -> np.ndarray:
        """Rank each sample's true label must reach: groups of N/K get ranks 2, ..., K+1."""
        seed = self.random_state
        rng = (
            seed
            if isinstance(seed, np.random.Generator)
            else np.random.default_rng(
                seed.randint(2**32) if isinstance(seed, np.random.RandomState) else seed
            )
        )
        order = rng.permutation(n)
        return order * self.k // n + 2

    def generate(self, x: np.ndarray, y: np.ndarray | None = None, **kwargs: Any) -> np.ndarray:
        """Adversarial examples for ``x`` (never modified).

        :param x: Inputs of shape ``(n, ...)`` (any real dtype; computed in float32).
        :param y: True labels in ART's conventions: index labels ``(n,)`` or ``(n, 1)`` or
                  one-hot ``(n, nb_classes)``; default: the classifier's predictions.
        :return: float32 adversarial examples of the shape of ``x``.
        :raises ValueError: (``InvalidParameterError``) for an empty or non-finite ``x``,
                labels of the wrong shape or outside ``[0, nb_classes)``, naming the argument.
        :raises TypeError: for an unknown keyword argument (ART's ``generate`` accepts
                ``**kwargs``; none apply to this attack, and none is ignored silently).
        """
        if kwargs:
            raise TypeError(
                f"KAnonymityAttack.generate() got unexpected keyword argument(s) {sorted(kwargs)}"
            )
        x = check_array(x, name="x", dtype=np.float32)
        if x.ndim < 2:
            raise InvalidParameterError(f"x must have shape (n, ...features), got {x.shape}")
        nb_classes = self.estimator.nb_classes
        if y is None:
            labels = self.estimator.predict(x, batch_size=self.batch_size).argmax(axis=1)
        else:
            labels = check_labels(y, len(x), nb_classes, name="y")
        ranks = self.target_ranks(len(x))
        out = np.empty(x.shape, dtype=np.float32)
        for start in trange(0, len(x), self.batch_size, desc="K-A3", disable=not self.verbose):
            sl = slice(start, start + self.batch_size)
            out[sl] = self._attack_batch(x[sl], labels[sl], ranks[sl])
        return out

    def _attack_batch(self, x: np.ndarray, labels: np.ndarray, ranks: np.ndarray) -> np.ndarray:
        import torch

        est = self.estimator
        device = est.device
        x0 = torch.tensor(x, dtype=torch.float32, device=device)
        y = torch.tensor(labels, dtype=torch.long, device=device)
        target = torch.tensor(ranks, dtype=torch.long, device=device)
        clip = est.clip_values
        positions = torch.arange(est.nb_classes, device=device)[None]
        needed = positions < (target - 1)[:, None]  # how many labels must overtake y

        def overtaking(logits: Any) -> Any:
            # the labels currently ranked highest after y: r_x(2), ..., r_x(g+2)
            others = logits.detach().scatter(1, y[:, None], -torch.inf).argsort(1, descending=True)
            return torch.zeros_like(needed).scatter(1, others, needed)

        if clip is not None:  # per-feature bounds broadcast over the sample shape
            lo = torch.as_tensor(
                np.broadcast_to(np.asarray(clip[0], dtype=np.float32), x0.shape[1:]).copy(),
                device=device,
            )
            hi = torch.as_tensor(
                np.broadcast_to(np.asarray(clip[1], dtype=np.float32), x0.shape[1:]).copy(),
                device=device,
            )
        image = x0.dim() == 4 and min(x0.shape[-2:]) >= 7
        delta = torch.zeros_like(x0, requires_grad=True)
        opt = torch.optim.Adam([delta], lr=self.learning_rate)
        result = x0.clone()
        active = torch.ones(len(x0), dtype=torch.bool, device=device)
        # Like Carlini-Wagner's search over c: samples still unfinished get their margin weight
        # doubled every max_iter / 6 steps, so the energy terms cannot stall them short of the
        # ranking constraint.
        weight = torch.full((len(x0),), float(self.classification_weight), device=device)
        period = max(1, self.max_iter // 6)
        for step in range(self.max_iter + 1):
            if step and step % period == 0:
                weight = torch.where(active, 2 * weight, weight)
            x_adv = x0 + delta
            if clip is not None:
                x_adv = x_adv.clamp(lo, hi)
            logits, _ = est._predict_framework(x_adv)
            true_score = logits.gather(1, y[:, None])
            with torch.no_grad():
                rank = (logits > true_score).sum(dim=1) + 1
                done = active & (rank == target)
                result[done] = x_adv[done].detach()
                active &= ~done
                result[active] = x_adv[active].detach()  # best effort for the unfinished
            if not active.any():
                break
            ahead = overtaking(logits)
            # labels that must overtake y, and (so that y lands exactly at its target rank
            # instead of overshooting it) every other label must stay behind y
            behind = ~ahead & (positions != y[:, None])
            gap = true_score - logits
            margin = (gap + self.confidence).clamp_min(0) * ahead
            margin = margin + (self.confidence - gap).clamp_min(0) * behind
            loss = (x_adv - x0).flatten(1).norm(dim=1) + weight * margin.sum(1)
            if image and self.similarity_weight > 0:
                loss = loss + self.similarity_weight * (1 - cw_ssim(x0, x_adv))
            opt.zero_grad()
            (loss * active).sum().backward()
            opt.step()
            if clip is not None:  # project: a clamped pixel would have no gradient to return
                with torch.no_grad():
                    delta.copy_((x0 + delta).clamp(lo, hi) - x0)
        return result.cpu().numpy()
