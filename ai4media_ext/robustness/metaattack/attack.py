"""MetaAttack (Yang et al., AAAI'21) and its two baselines as ART evasion attacks.

One image-agnostic L-inf perturbation ``delta`` for retrieval models that transfers to unseen
domains and models. All three learn ``delta`` with the same losses (k-means pseudo-labels,
pair-wise triplet + label-wise loss, :mod:`.losses`) and the same momentum sign update (MI-SGD);
they differ in the data and the step:

* :class:`UAPRetrieval` — source set only (the authors' ``main.py``, after Li et al., ICCV'19);
* :class:`MergedUAPRetrieval` — source and virtual sets merged into one (``mainAdd.py``);
* :class:`MetaAttack` — meta-train on the source batch, a virtual MI-SGD step, meta-test on a
  virtual-domain batch at the stepped delta, update with the gradient of both terms
  (``mainMAML.py``).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ..._compat import require
from ..._validation import (
    Interval,
    InvalidParameterError,
    Options,
    check_array,
    check_kwargs,
    check_params,
)

require("art", "art")

import torch  # noqa: E402
from art.attacks.attack import EvasionAttack  # noqa: E402
from tqdm.auto import trange  # noqa: E402

from .estimator import PyTorchRetrievalEstimator  # noqa: E402
from .losses import PseudoLabels, mi_sgd_direction, pseudo_labels, retrieval_uap_loss  # noqa: E402

__all__ = ["MergedUAPRetrieval", "MetaAttack", "UAPRetrieval"]


class _UniversalRetrievalAttack(EvasionAttack):
    """Shared machinery; see the subclasses. ``_mode`` is ``"uap"``, ``"merged"`` or ``"meta"``."""

    _mode = "uap"
    attack_params = EvasionAttack.attack_params + [
        "eps", "norm", "n_clusters", "margin", "pair_weight", "learning_rate", "momentum",
        "max_iter", "batch_size", "lr_decay", "rescale", "random_state", "verbose",
    ]  # fmt: skip
    _estimator_requirements = (PyTorchRetrievalEstimator,)
    _parameter_constraints = {
        "eps": [Interval(numbers.Real, 0, None, closed="neither")],
        "norm": [Options(float, {np.inf}), Options(str, {"inf"})],
        "n_clusters": [Interval(numbers.Integral, 2, None, closed="left")],
        "margin": [Interval(numbers.Real, 0, None, closed="left")],
        "pair_weight": [Interval(numbers.Real, 0, None, closed="left")],
        "learning_rate": [None, Interval(numbers.Real, 0, None, closed="neither")],
        "momentum": [Interval(numbers.Real, 0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "lr_decay": [Interval(numbers.Real, 0, 1, closed="right")],
        "rescale": ["boolean"],
        "random_state": [None, Interval(numbers.Integral, 0, None, closed="left")],
        "verbose": ["boolean"],
    }

    def __init__(
        self,
        estimator: PyTorchRetrievalEstimator,
        eps: float = 8 / 255,
        norm: float | str = np.inf,
        n_clusters: int = 512,
        margin: float = 0.5,
        pair_weight: float = 10.0,
        learning_rate: float | None = None,
        momentum: float = 1.0,
        max_iter: int = 20,
        batch_size: int = 50,
        lr_decay: float = math.exp(-0.01),
        rescale: bool = True,
        random_state: int | None = None,
        verbose: bool = True,
    ) -> None:
        super().__init__(estimator=estimator)
        self._targeted = False
        self.eps = eps
        self.norm = norm
        self.n_clusters = n_clusters
        self.margin = margin
        self.pair_weight = pair_weight
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.lr_decay = lr_decay
        self.rescale = rescale
        self.random_state = random_state
        self.verbose = verbose
        self.noise_: np.ndarray | None = None
        self.losses_: list[float] = []
        self._check_params()

    def _check_params(self) -> None:
        check_params(self, {k: getattr(self, k) for k in self._parameter_constraints},
                     self._parameter_constraints)  # fmt: skip

    @property
    def noise(self) -> np.ndarray | None:
        """The learned universal perturbation ``(1,) + input_shape`` (ART's attribute name)."""
        return self.noise_

    # -- data --------------------------------------------------------------------------------
    def _check_x(self, x: Any, name: str) -> np.ndarray:
        arr = check_array(x, name=name, dtype=np.float32)
        shape = tuple(self.estimator.input_shape)
        if arr.shape[1:] != shape or len(arr) == 0:
            raise InvalidParameterError(
                f"{name} must have shape (n,) + {shape} with n >= 1, got {arr.shape}"
            )
        return arr

    def _bounds(self) -> tuple[float, float] | None:
        clip = self.estimator.clip_values
        if clip is None:
            return None
        return float(np.min(clip[0])), float(np.max(clip[1]))

    def _loss(self, delta: torch.Tensor, x: torch.Tensor, idx: torch.Tensor,
              labels: PseudoLabels) -> torch.Tensor:  # fmt: skip
        """The pair + label loss of the batch ``x[idx] + delta`` (clipped to the bounds)."""
        x_adv = x[idx] + delta
        bounds = self._bounds()
        if bounds is not None:
            x_adv = x_adv.clamp(*bounds)
        feats = self.estimator.features(x_adv, normalize=False)
        return retrieval_uap_loss(feats, idx, labels, self.margin, self.pair_weight)

    # -- steps -------------------------------------------------------------------------------
    def _meta_gradient(self, delta: torch.Tensor, buffer: torch.Tensor, lr: float,
                       source: tuple, virtual: tuple) -> tuple[torch.Tensor, float]:  # fmt: skip
        """Gradient w.r.t. ``delta`` of ``L_tr(delta) + L_te(delta')`` with the virtual step
        ``delta' = clip(delta - lr * sign(mu * buffer + g / ||g||_1), +-eps)``,
        ``g = dL_tr/d delta`` (methods.md §2.4, ``keepGradUpdate``). ``source`` / ``virtual``
        are ``(x, idx, labels)``. ``sign`` has zero derivative almost everywhere, so the
        second-order term the authors keep the graph for is exactly zero; the meta-test
        gradient reaches ``delta`` through the identity and the clip."""
        d = delta.detach().requires_grad_(True)
        loss_tr = self._loss(d, *source)
        (g_tr,) = torch.autograd.grad(loss_tr, d)
        step = torch.sign(mi_sgd_direction(g_tr, buffer, self.momentum))
        d_virtual = (d - lr * step).clamp(-self.eps, self.eps)
        loss_te = self._loss(d_virtual, *virtual)
        (g_te,) = torch.autograd.grad(loss_te, d)
        return g_tr + g_te, float(loss_tr.detach() + loss_te.detach())

    def _plain_gradient(self, delta: torch.Tensor, source: tuple) -> tuple[torch.Tensor, float]:
        d = delta.detach().requires_grad_(True)
        loss = self._loss(d, *source)
        (grad,) = torch.autograd.grad(loss, d)
        return grad, float(loss.detach())

    # -- learning ----------------------------------------------------------------------------
    def fit(self, x: np.ndarray, x_virtual: np.ndarray | None = None) -> _UniversalRetrievalAttack:
        """Learn ``noise_`` from the source set ``x`` (and the virtual set ``x_virtual``).

        :param x: Source images ``(n,) + input_shape`` (meta-train set); not modified.
        :param x_virtual: Virtual-domain images ``(m,) + input_shape`` (meta-test set); required by
                          :class:`MetaAttack` and :class:`MergedUAPRetrieval`, refused by
                          :class:`UAPRetrieval`.
        :return: ``self``, with ``noise_`` ``(1,) + input_shape`` float32 and ``losses_`` (mean
                 loss per epoch).
        :raises InvalidParameterError: wrong shapes, a missing or unexpected ``x_virtual``, or
                                       ``n_clusters`` larger than a set it clusters.
        """
        x = self._check_x(x, "x")
        if self._mode == "uap":
            if x_virtual is not None:
                raise InvalidParameterError(
                    f"{type(self).__name__} uses the source set only; x_virtual must be None"
                )
        elif x_virtual is None:
            raise InvalidParameterError(f"{type(self).__name__} needs x_virtual (the virtual set)")
        else:
            x_virtual = self._check_x(x_virtual, "x_virtual")
        if self._mode == "merged":
            x, x_virtual = np.concatenate([x, x_virtual]), None
        for name, arr in (("x", x), ("x_virtual", x_virtual)):
            if arr is not None and len(arr) < self.n_clusters:
                raise InvalidParameterError(
                    f"n_clusters={self.n_clusters} exceeds the {len(arr)} samples of {name}"
                )
        est = self.estimator
        device = est.device
        rng = np.random.default_rng(self.random_state)
        seed = int(rng.integers(2**31))
        src = (torch.as_tensor(x, device=device), None,
               pseudo_labels(est.predict(x), self.n_clusters, seed, device))  # fmt: skip
        virt = None
        if x_virtual is not None:
            virt = (torch.as_tensor(x_virtual, device=device), None,
                    pseudo_labels(est.predict(x_virtual), self.n_clusters, seed, device))  # fmt: skip
        self.noise_ = self._learn(src, virt, rng)
        return self

    def _learn(self, src: tuple, virt: tuple | None, rng: np.random.Generator) -> np.ndarray:
        device = self.estimator.device
        shape = (1,) + tuple(self.estimator.input_shape)
        delta = torch.zeros(shape, device=device)
        buffer = torch.zeros(shape, device=device)
        lr0 = self.eps / 10 if self.learning_rate is None else self.learning_rate
        n_src = len(src[0])
        v_order = rng.permutation(len(virt[0])) if virt is not None else None
        v_pos, prev_sat = 0, None
        self.losses_ = []
        for epoch in trange(self.max_iter, desc=type(self).__name__, disable=not self.verbose):
            lr = lr0 * self.lr_decay**epoch
            order = torch.as_tensor(rng.permutation(n_src), device=device)
            total, steps = 0.0, 0
            for start in range(0, n_src, self.batch_size):
                source = (src[0], order[start : start + self.batch_size], src[2])
                if virt is None:
                    grad, loss = self._plain_gradient(delta, source)
                else:
                    if v_pos + self.batch_size > len(v_order):
                        v_order, v_pos = rng.permutation(len(virt[0])), 0
                    v_idx = torch.as_tensor(v_order[v_pos : v_pos + self.batch_size], device=device)
                    v_pos += self.batch_size
                    grad, loss = self._meta_gradient(delta, buffer, lr, source,
                                                     (virt[0], v_idx, virt[2]))  # fmt: skip
                buffer = mi_sgd_direction(grad, buffer, self.momentum)
                delta = (delta - lr * torch.sign(buffer)).clamp(-self.eps, self.eps)
                total, steps = total + loss, steps + 1
            self.losses_.append(total / steps)
            if self.rescale:  # the authors' heuristic: halve a delta stuck at the bound
                sat = float((delta.abs() >= self.eps * (1 - 1e-6)).float().mean())
                if prev_sat is not None and sat > 0.5 and abs(sat - prev_sat) < 1e-5:
                    delta = delta * 0.5
                prev_sat = sat
        return delta.detach().cpu().numpy().astype(np.float32)

    def generate(self, x: np.ndarray, y: np.ndarray | None = None, **kwargs: Any) -> np.ndarray:
        """Perturbed queries ``clip(x + noise_)`` (float32, a new array; ``x`` is not modified).

        If no perturbation has been learned yet, it is first learned from ``x`` as the source
        set (and ``kwargs["x_virtual"]``), as ART's ``UniversalPerturbation.generate`` does.

        :param x: Images ``(n,) + input_shape``.
        :param y: Unused (the attack is label-free: pseudo-labels come from k-means).
        :raises InvalidParameterError: ``x`` of the wrong shape.
        """
        check_kwargs("MetaAttack.generate", kwargs, ("x_virtual",))
        arr = self._check_x(x, "x")
        if self.noise_ is None:
            self.fit(arr, kwargs.get("x_virtual"))
        out = arr + self.noise_
        bounds = self._bounds()
        if bounds is not None:
            out = np.clip(out, *bounds)
        return out.astype(np.float32, copy=False)


class UAPRetrieval(_UniversalRetrievalAttack):
    """Universal adversarial perturbation for retrieval, learned on the source set only.

    The baseline of MetaAttack (the authors' ``main.py``, after Li et al., "Universal
    perturbation attack against image retrieval", ICCV 2019): k-means pseudo-labels (``n_clusters``
    centroids) on the clean source features, the pair-wise triplet loss (margin ``margin``,
    weight ``pair_weight``) plus the label-wise loss, and MI-SGD (gradient / its L1 norm,
    momentum ``momentum``, step ``learning_rate * sign``, projection to the L-inf ball ``eps``),
    ``max_iter`` epochs of ``batch_size`` with the learning rate times ``lr_decay`` per epoch.

    :param estimator: A :class:`PyTorchRetrievalEstimator` (the source model).
    :param eps: L-inf bound of the perturbation (input units; 8/255 in the paper).
    :param norm: Only ``np.inf`` (or ``"inf"``).
    :param n_clusters: k-means centroids k (512 in the paper).
    :param margin: Triplet margin m (0.5).
    :param pair_weight: Weight lambda of the pair-wise loss (10).
    :param learning_rate: Sign-step size; ``None`` means ``eps / 10``.
    :param momentum: MI-SGD momentum mu (1).
    :param max_iter: Epochs over the source set.
    :param batch_size: Images per step.
    :param lr_decay: Learning-rate factor per epoch (``exp(-0.01)``, the authors' ExponentialLR).
    :param rescale: Halve delta when over half its entries sit at +-eps and that share stalls.
    :param random_state: Seed of k-means and the batch order.
    :param verbose: Show a progress bar over epochs.
    """

    _mode = "uap"


class MergedUAPRetrieval(_UniversalRetrievalAttack):
    """The ``mainAdd`` baseline: source and virtual sets merged into one set, no meta-learning.

    Same losses and update as :class:`UAPRetrieval` on the union (one k-means over both);
    ``fit(x, x_virtual)``. Parameters as :class:`UAPRetrieval`.
    """

    _mode = "merged"


class MetaAttack(_UniversalRetrievalAttack):
    """MetaAttack: a universal perturbation for re-ID that generalises to unseen domains.

    Yang, Zhong, Li et al., "Learning to Attack Real-World Models for Person Re-identification
    via Virtual-Guided Meta-Learning", AAAI 2021 (code: FlyingRoastDuck/MetaAttack_AAAI21,
    ``mainMAML.py``). Each step draws a source batch (meta-train) and a virtual batch (meta-test,
    its own k-means centroids); with ``L = lambda * pair + label`` per domain it takes
    ``g = dL_tr(delta)``, the virtual step ``delta' = clip(delta - lr * sign(mu * b + g/|g|_1))``
    and updates delta by MI-SGD with ``d/d delta [L_tr(delta) + L_te(delta')]``. ``fit(x,
    x_virtual)`` learns ``noise_``; ``generate(x)`` adds it to the queries. Parameters as
    :class:`UAPRetrieval`.
    """

    _mode = "meta"
