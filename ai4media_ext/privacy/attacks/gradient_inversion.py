"""Gradient inversion of a federated client's update (Geiping et al. 2020) as an ART
reconstruction attack."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..._compat import require
from ..._validation import (
    Interval,
    InvalidParameterError,
    Options,
    check_array,
    check_generator,
    check_kwargs,
    check_labels,
    check_params,
)

require("art", "art")

import torch  # noqa: E402
from art.attacks.attack import ReconstructionAttack  # noqa: E402
from art.estimators.classification.classifier import ClassifierMixin  # noqa: E402
from art.estimators.estimator import BaseEstimator  # noqa: E402
from art.estimators.pytorch import PyTorchEstimator  # noqa: E402
from art.preprocessing.standardisation_mean_std.pytorch import (  # noqa: E402
    StandardisationMeanStdPyTorch,
)
from torch.func import functional_call, grad, grad_and_value, vmap  # noqa: E402
from tqdm.auto import trange  # noqa: E402

__all__ = ["GradientInversionAttack", "infer_labels"]


def _last_layer(shapes: Sequence[tuple[int, ...]], nb_classes: int) -> int:
    """Index of the last 2-d parameter with ``nb_classes`` rows (the logits' weight)."""
    for i in range(len(shapes) - 1, -1, -1):
        if len(shapes[i]) == 2 and shapes[i][0] == nb_classes:
            return i
    raise InvalidParameterError(
        f"no parameter of shape (nb_classes={nb_classes}, d) found: the labels cannot be "
        f"inferred from this network's update; pass y"
    )


def infer_labels(last_layer_gradient: np.ndarray, n: int) -> np.ndarray:
    r"""Labels of a cross-entropy batch from the gradient of the last (logits) layer.

    The gradient of the logits' bias is :math:`\frac1B \sum_j (p_j - y_j)`, negative exactly at
    the true class for one image (iDLG, Zhao et al. 2020, §3); row :math:`i` of the weight's
    gradient is :math:`\frac1B \sum_j (p_{ji} - y_{ji}) h_j`, whose sum has the same sign when
    the features :math:`h_j` are non-negative (after a ReLU). For ``n`` images with distinct
    labels the ``n`` most negative entries are the labels (Yin et al. 2021, §3.2). Repeated labels
    in a batch cannot be told apart this way; the returned labels are then a guess.

    Parameters
    ----------
    last_layer_gradient : numpy.ndarray
        ``(nb_classes,)`` gradient of the logits' bias (preferred) or ``(nb_classes, d)``
        gradient of their weight (a gradient: negate a weight difference).
    n : int
        Number of images, ``1 <= n``.

    Returns
    -------
    numpy.ndarray
        int64 ``(n,)`` labels, most negative first (repeated round-robin when
        ``n > nb_classes``).
    """
    g = np.asarray(last_layer_gradient, dtype=np.float64)
    rows = g.sum(axis=1) if g.ndim == 2 else g
    ranked = np.argsort(rows, kind="stable")
    return ranked[np.arange(n) % len(ranked)].astype(np.int64)


def _total_variation(x: torch.Tensor) -> torch.Tensor:
    """Anisotropic TV of Geiping et al.: mean |horizontal| + mean |vertical| differences."""
    return (x[..., :, 1:] - x[..., :, :-1]).abs().mean() + (
        x[..., 1:, :] - x[..., :-1, :]
    ).abs().mean()


class GradientInversionAttack(ReconstructionAttack):
    r"""Inverting Gradients (Geiping, Bauermeister, Dröge, Moeller, NeurIPS 2020): recover a
    client's training images from the update it sends in federated learning.

    Dummy images :math:`x` (``num_restarts`` independent starts, all optimised in one batched
    ``torch.func`` pass) are fitted so that the update they would produce matches the observed
    one in direction (eq. 4 of the paper):

    .. math:: \arg\min_{x \in [0, 1]^n} 1 - \frac{\langle \nabla_\theta L_\theta(x, y),
              \nabla_\theta L_\theta(x^*, y)\rangle}{\|\nabla_\theta L_\theta(x, y)\|\,
              \|\nabla_\theta L_\theta(x^*, y)\|} + \alpha_{TV}\, TV(x)

    with Adam on the sign of the gradient, the step size divided by 10 at 3/8, 5/8 and 7/8 of
    ``max_iter``, and a projection onto the estimator's ``clip_values`` after each step (the
    authors' "signed", "lr_decay" and "boxed" settings). For a multi-step local update (§5, eq. 6
    setting: FedAvg sends :math:`\theta_{k} - \theta_0` after ``local_steps`` SGD steps of
    size ``local_lr``) the simulated local training is differentiated through and the cosine is
    taken between weight differences. An aggregate of ``num_updates`` clients (the server's view
    under secure aggregation) is modelled as the sum of that many simulated clients of
    ``num_images`` images each. Labels not given are inferred from the last layer's gradient
    (:func:`infer_labels`: the iDLG rule, its batch extension). The restart with the lowest final
    objective is returned (the authors' "loss" scoring).

    The client loss is modelled as the mean cross-entropy of the estimator's model on the
    estimator's standardised input (``preprocessing=(mean, std)``; other ART preprocessing is
    refused), evaluated in ``eval()`` mode (dropout off, batch norm on running statistics; the
    model's mode is restored after).

    :param estimator: An ART PyTorch classifier (``model``, ``clip_values``, ``nb_classes``).
    :param num_images: Images per client update (the client's batch, known to the attacker).
    :param num_updates: Client updates summed in the observed update (1: an individual update).
    :param update_kind: ``"gradient"`` (FedSGD) or ``"weight_difference"`` (FedAvg local update).
    :param local_steps: SGD steps of a ``"weight_difference"`` update.
    :param local_lr: Client SGD step size of a ``"weight_difference"`` update.
    :param max_iter: Optimisation steps (the paper: 4,800 on CIFAR-10, 24,000 on ImageNet).
    :param learning_rate: Adam step size (0.1 in the paper).
    :param tv_weight: :math:`\alpha_{TV}` (the authors' script default 1e-4).
    :param num_restarts: Independent random starts.
    :param init: ``"randn"`` (the paper) or ``"rand"`` (uniform in the box).
    :param random_state: Seed of the starts (None, int, RandomState or Generator).
    :param verbose: Show a progress bar.
    :raises ValueError: (``InvalidParameterError``, also a ``TypeError``) from
        :meth:`_check_params` for a parameter outside its range, naming it.
    """

    _parameter_constraints = {
        "num_images": [Interval(numbers.Integral, 1, None, closed="left")],
        "num_updates": [Interval(numbers.Integral, 1, None, closed="left")],
        "update_kind": [Options(str, {"gradient", "weight_difference"})],
        "local_steps": [Interval(numbers.Integral, 1, None, closed="left")],
        "local_lr": [Interval(numbers.Real, 0, math.inf, closed="neither")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [Interval(numbers.Real, 0, math.inf, closed="neither")],
        "tv_weight": [Interval(numbers.Real, 0, math.inf, closed="left")],
        "num_restarts": [Interval(numbers.Integral, 1, None, closed="left")],
        "init": [Options(str, {"randn", "rand"})],
        "random_state": ["random_state"],
        "verbose": ["boolean"],
    }

    attack_params = ReconstructionAttack.attack_params + list(_parameter_constraints)
    _estimator_requirements = (BaseEstimator, ClassifierMixin, PyTorchEstimator)

    def __init__(
        self,
        estimator: Any,
        num_images: int = 1,
        num_updates: int = 1,
        update_kind: str = "gradient",
        local_steps: int = 1,
        local_lr: float = 0.1,
        max_iter: int = 4800,
        learning_rate: float = 0.1,
        tv_weight: float = 1e-4,
        num_restarts: int = 1,
        init: str = "randn",
        random_state: Any = None,
        verbose: bool = True,
    ) -> None:
        super().__init__(estimator=estimator)
        self.num_images, self.num_updates, self.update_kind = num_images, num_updates, update_kind
        self.local_steps, self.local_lr, self.max_iter = local_steps, local_lr, max_iter
        self.learning_rate, self.tv_weight = learning_rate, tv_weight
        self.num_restarts, self.init = num_restarts, init
        self.random_state, self.verbose = random_state, verbose
        GradientInversionAttack._check_params(self)

    def _check_params(self) -> None:
        params = {name: getattr(self, name) for name in self._parameter_constraints}
        check_params(self, params, self._parameter_constraints)
        self._standardisation()

    def _standardisation(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The estimator's input standardisation (ART's ``preprocessing=(mean, std)``) as
        tensors broadcast over ``(C, H, W)``; any other preprocessing is refused."""
        ops = list(getattr(self.estimator, "preprocessing_operations", None) or [])
        if any(not isinstance(op, StandardisationMeanStdPyTorch) for op in ops) or len(ops) > 1:
            raise InvalidParameterError(
                f"the estimator's preprocessing {ops} cannot be differentiated through by "
                f"GradientInversionAttack: only preprocessing=(mean, std) is supported (put any "
                f"other preprocessing inside the model)"
            )
        device = self.estimator.device
        if not ops:
            return torch.zeros((), device=device), torch.ones((), device=device)
        stats = []
        for value in (np.asarray(ops[0].mean, np.float32), np.asarray(ops[0].std, np.float32)):
            if value.ndim == 1 and value.size == self.estimator.input_shape[0]:  # per channel
                value = value.reshape(-1, *[1] * (len(self.estimator.input_shape) - 1))
            stats.append(torch.as_tensor(value, device=device))
        return stats[0], stats[1]

    # -- inputs ---------------------------------------------------------------------------------

    def _parameters(self) -> tuple[list[str], list[torch.Tensor]]:
        model = self.estimator.model
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        return [n for n, _ in named], [p.detach() for _, p in named]

    def _observed(self, x: Any, params: list[torch.Tensor]) -> list[torch.Tensor]:
        """The update as one tensor per parameter (a copy: the caller's arrays stay as they are)."""
        sizes = [p.numel() for p in params]
        if isinstance(x, list | tuple):
            arrays = [check_array(a, name="x", allow_empty=True, dtype=np.float32) for a in x]
            if [a.size for a in arrays] != sizes:
                raise InvalidParameterError(
                    f"x holds arrays of sizes {[a.size for a in arrays]}, the model's trainable "
                    f"parameters have sizes {sizes}"
                )
            flat = np.concatenate([a.ravel() for a in arrays])
        else:
            flat = check_array(x, name="x", ndim=1, dtype=np.float32)
            if flat.size != sum(sizes):
                raise InvalidParameterError(
                    f"x has {flat.size} values, the model has {sum(sizes)} trainable parameters "
                    f"(pass the update flattened in model.parameters() order)"
                )
        if not np.any(flat):
            raise InvalidParameterError("x is all zeros: there is no update to invert")
        device = self.estimator.device
        chunks = torch.from_numpy(flat.copy()).to(device).split(sizes)
        return [c.reshape(p.shape) for c, p in zip(chunks, params, strict=True)]

    def _labels(self, y: Any, observed: list[torch.Tensor], n_total: int) -> np.ndarray:
        nb_classes = self.estimator.nb_classes
        if y is not None:
            return check_labels(y, n_total, nb_classes, name="y")
        idx = _last_layer([tuple(o.shape) for o in observed], nb_classes)
        if idx + 1 < len(observed) and tuple(observed[idx + 1].shape) == (nb_classes,):
            idx += 1  # the logits' bias: its sign does not depend on the features' signs
        g = observed[idx].cpu().numpy()
        # a weight difference points against the (summed) gradient
        return infer_labels(-g if self.update_kind == "weight_difference" else g, n_total)

    # -- the objective --------------------------------------------------------------------------

    def _objective(
        self, names: list[str], params: list[torch.Tensor], observed: list[torch.Tensor]
    ):
        model = self.estimator.model
        buffers = {n: b.detach() for n, b in model.named_buffers()}
        kind, steps, lr, tv_weight = (
            self.update_kind,
            self.local_steps,
            self.local_lr,
            self.tv_weight,
        )
        obs_norm = torch.sqrt(sum((o * o).sum() for o in observed))
        mean, std = self._standardisation()

        def loss(p: tuple[torch.Tensor, ...], xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
            inputs = ((xb - mean) / std,)
            logits = functional_call(model, {**dict(zip(names, p, strict=True)), **buffers}, inputs)
            return torch.nn.functional.cross_entropy(logits, yb)

        def client_update(xc: torch.Tensor, yc: torch.Tensor) -> tuple[torch.Tensor, ...]:
            if kind == "gradient":
                return grad(loss)(tuple(params), xc, yc)
            p = tuple(params)
            for _ in range(steps):
                p = tuple(w - lr * g for w, g in zip(p, grad(loss)(p, xc, yc), strict=True))
            return tuple(w - w0 for w, w0 in zip(p, params, strict=True))

        def objective(xr: torch.Tensor, yr: torch.Tensor) -> torch.Tensor:
            # xr: (num_updates, num_images, *input_shape) for one restart
            upd = [u.sum(0) for u in vmap(client_update)(xr, yr)]
            dot = sum((u * o).sum() for u, o in zip(upd, observed, strict=True))
            norm = torch.sqrt(sum((u * u).sum() for u in upd))
            return 1.0 - dot / (norm * obs_norm + 1e-12) + tv_weight * _total_variation(xr)

        return vmap(grad_and_value(objective), in_dims=(0, None))

    # -- the attack -----------------------------------------------------------------------------

    def reconstruct(
        self, x: np.ndarray, y: np.ndarray | None = None, **kwargs: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """Reconstruct the images behind an observed update.

        :param x: The observed update: float ``(P,)``, every trainable parameter of
                  ``estimator.model`` flattened in ``model.parameters()`` order, or a list of
                  arrays, one per trainable parameter. A gradient for ``update_kind="gradient"``,
                  new minus received weights for ``"weight_difference"``.
        :param y: Labels of the ``num_updates * num_images`` images (``(n,)``, ``(n, 1)`` or
                  one-hot); default: inferred from the update (:func:`infer_labels`).
        :return: ``(x_rec, y_rec)``: float32 ``(num_updates * num_images, *input_shape)``
                 images (client by client) and their int64 ``(n,)`` labels.
        :raises ValueError: (``InvalidParameterError``) ``x`` of the wrong size, not finite or
                 all zero, ``y`` of the wrong shape or out of range, or no logits layer to infer
                 labels from.
        :raises TypeError: Unknown keyword arguments.
        """
        check_kwargs("reconstruct", kwargs)
        names, params = self._parameters()
        observed = self._observed(x, params)
        n_total = self.num_updates * self.num_images
        labels = self._labels(y, observed, n_total)
        model, was_training = self.estimator.model, self.estimator.model.training
        model.eval()
        try:
            images, losses = self._optimise(names, params, observed, labels)
        finally:
            model.train(was_training)
        best = int(np.argmin(losses))
        #: final objective of every restart (the returned one has the lowest)
        self.restart_losses_ = losses
        return images[best].reshape(n_total, *images.shape[3:]), labels

    def _optimise(
        self,
        names: list[str],
        params: list[torch.Tensor],
        observed: list[torch.Tensor],
        labels: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        device = self.estimator.device
        shape = (self.num_restarts, self.num_updates, self.num_images, *self.estimator.input_shape)
        clip = self.estimator.clip_values
        rng = check_generator(self.random_state)
        if clip is None:
            box = None
            start = rng.standard_normal(shape)
        else:  # scalar or per-feature bounds, broadcast to one image
            lo, hi = (np.broadcast_to(np.asarray(c, np.float32), shape[3:]) for c in clip)
            box = (
                torch.as_tensor(lo.copy(), device=device),
                torch.as_tensor(hi.copy(), device=device),
            )
            start = (
                rng.uniform(lo, hi, size=shape)
                if self.init == "rand"
                else rng.standard_normal(shape)
            )
        xs = torch.tensor(start, dtype=torch.float32, device=device, requires_grad=True)
        ys = torch.as_tensor(labels, device=device).reshape(self.num_updates, self.num_images)
        step = self._objective(names, params, observed)
        optimizer = torch.optim.Adam([xs], lr=self.learning_rate)
        milestones = [int(self.max_iter * f) for f in (3 / 8, 5 / 8, 7 / 8)]
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=0.1)
        for _ in trange(self.max_iter, desc="Inverting gradients", disable=not self.verbose):
            g, _ = step(xs.detach(), ys)
            xs.grad = g.sign()
            optimizer.step()
            scheduler.step()
            if box is not None:
                with torch.no_grad():
                    torch.clamp(xs, box[0], box[1], out=xs)
        with torch.no_grad():
            _, final = step(xs.detach(), ys)
        return xs.detach().cpu().numpy(), final.cpu().numpy().astype(np.float64)
