"""ART training defences that add a per-layer loss on hooked activations to the cross-entropy:
HCP (Mygdalis & Pitas, Pattern Recognition 2022, eq. (5)) and the CL and PCL baselines."""

from __future__ import annotations

import abc
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..._compat import require
from ..._validation import Interval, check_labels, check_params

require("art", "art")
require("torch", "art")

import torch  # noqa: E402
from art.defences.trainer.trainer import Trainer  # noqa: E402
from torch import nn  # noqa: E402
from tqdm.auto import trange  # noqa: E402

from .losses import CenterLoss, HCPLoss, PrototypeConformityLoss  # noqa: E402

__all__ = ["CenterLossTrainer", "HCPTrainer", "PCLTrainer"]

_NONNEG = Interval(numbers.Real, 0, None, closed="left")
_POSITIVE = Interval(numbers.Real, 0, None, closed="neither")
_FIT_CONSTRAINTS = {
    "nb_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
    "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
    "verbose": ["boolean", None],
    "drop_last": ["boolean"],
}


def _logits(output: Any) -> torch.Tensor:
    """The model's logits (the last output when the model returns several)."""
    return output[-1] if isinstance(output, tuple | list) else output


def _pooled(output: Any) -> torch.Tensor:
    """A layer's activations as N x L: global average pooling over spatial dimensions."""
    if isinstance(output, tuple | list):
        output = output[0]
    return output.mean(dim=tuple(range(2, output.dim()))) if output.dim() > 2 else output.flatten(1)


def _key(name: str) -> str:
    return name.replace(".", "__")  # ModuleDict keys may not contain dots


class _HookedLossTrainer(Trainer):
    """Trains an ART ``PyTorchClassifier`` with cross-entropy plus a per-layer loss on the
    activations of named modules (read with forward hooks, removed after training)."""

    final_layer = "output"
    #: Adam step size of the loss parameters when ``aux_learning_rate`` is not given
    default_aux_learning_rate = 1e-2
    _parameter_constraints: dict[str, list] = {
        "weight": [_NONNEG],
        "aux_learning_rate": [_POSITIVE, None],
        "warmup_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "verbose": ["boolean"],
    }

    def __init__(
        self,
        classifier: Any,
        layers: Sequence[str],
        *,
        weight: float = 0.01,
        aux_learning_rate: float | None = None,
        warmup_epochs: int = 1,
        verbose: bool = True,
    ) -> None:
        from art.estimators.classification import PyTorchClassifier

        if not isinstance(classifier, PyTorchClassifier):
            raise TypeError(
                f"classifier must be an ART PyTorchClassifier, got {type(classifier).__name__}"
            )
        super().__init__(classifier)
        if isinstance(layers, str) or not all(isinstance(n, str) for n in layers):
            raise TypeError("layers must be a sequence of module names (str)")
        self.layers = list(layers)
        self.weight = weight
        self.aux_learning_rate = (
            self.default_aux_learning_rate if aux_learning_rate is None else aux_learning_rate
        )
        self.warmup_epochs = warmup_epochs
        self.verbose = verbose
        self._check_params()
        self.losses_: nn.ModuleDict | None = None
        self.history_: list[dict[str, float]] = []

    def _params(self) -> dict[str, Any]:
        return {
            "weight": self.weight,
            "aux_learning_rate": self.aux_learning_rate,
            "warmup_epochs": self.warmup_epochs,
            "verbose": self.verbose,
        }

    def _check_params(self) -> None:
        """ART's validation hook: the declared constraints and the layer names."""
        check_params(self, self._params(), self._parameter_constraints)
        modules = dict(self._classifier.model.named_modules())
        valid = [n for n in modules if n and n != self.final_layer]
        bad = [n for n in self.layers if n != self.final_layer and n not in modules]
        if bad:
            raise ValueError(
                f"unknown layer name(s) {bad}; valid names: {valid + [self.final_layer]}"
            )

    @abc.abstractmethod
    def _make_loss(self, n_classes: int, n_features: int) -> nn.Module:
        """The per-layer loss module (with ``initialise(h, y)``) of this trainer."""

    def fit(  # type: ignore[override]
        self,
        x: np.ndarray,
        y: np.ndarray,
        nb_epochs: int = 10,
        batch_size: int = 128,
        verbose: bool | None = None,
        *,
        drop_last: bool = False,
        scheduler: Any = None,
    ) -> None:
        """Train for ``nb_epochs`` over ``x``/``y``; the ART classifier's own optimiser updates
        the model, Adam (``aux_learning_rate``) the loss parameters (prototypes, radii or
        centres). The keywords are those of ART's ``PyTorchClassifier.fit`` that apply; any
        other keyword raises ``TypeError``.

        :param x: Training inputs, ``(N, *input_shape)`` float (pixels as the classifier
                  expects, e.g. in [0, 1]); the classifier's preprocessing is applied.
        :param y: Labels in ART's conventions: index labels ``(N,)`` or ``(N, 1)``, or one-hot
                  ``(N, nb_classes)``.
        :param nb_epochs: Number of epochs (>= 1; the first ``warmup_epochs`` are cross-entropy
                          only on the first call).
        :param batch_size: Mini-batch size.
        :param verbose: Progress bar over epochs (default: the trainer's ``verbose``).
        :param drop_last: Drop the last incomplete batch of each epoch (as ART's ``fit``; a
                          batch of one sample breaks BatchNorm).
        :param scheduler: A ``torch.optim.lr_scheduler`` of the classifier's optimiser, stepped
                          after every epoch (as ART's ``fit``).
        :raises InvalidParameterError: (a ``ValueError`` and ``TypeError``) a bad keyword value,
                          labels of another shape, length or range (naming ``y``).
        :raises ValueError: The classifier has no optimiser.
        """
        check_params(
            self,
            {"nb_epochs": nb_epochs, "batch_size": batch_size, "verbose": verbose,
             "drop_last": drop_last},
            _FIT_CONSTRAINTS,
        )  # fmt: skip
        clf = self._classifier
        if clf.optimizer is None:
            raise ValueError("the ART classifier needs an optimizer to be trained")
        x = np.asarray(x)
        labels = check_labels(y, len(x), clf.nb_classes)
        verbose = self.verbose if verbose is None else verbose
        x_pre, _ = clf._apply_preprocessing(x, y=None, fit=True)
        xt = torch.as_tensor(np.asarray(x_pre, dtype=np.float32))
        yt = torch.as_tensor(labels)
        acts: dict[str, torch.Tensor] = {}
        modules = dict(clf.model.named_modules())
        handles = [
            modules[name].register_forward_hook(
                lambda _m, _i, out, name=name: acts.__setitem__(name, _pooled(out))
            )
            for name in self.layers
            if name != self.final_layer
        ]
        loop = _Loop(int(batch_size), bool(drop_last), scheduler)
        try:
            self._train(xt, yt, acts, int(nb_epochs), loop, verbose)
        finally:  # no hook may outlive training
            for h in handles:
                h.remove()
        clf.model.eval()

    def _train(self, xt, yt, acts, nb_epochs, loop, verbose) -> None:
        clf = self._classifier
        model, device = clf.model, clf.device
        model.train()
        if self.losses_ is None:
            # Cross-entropy first: prototypes placed on an untrained network's activations
            # (all near one point, tiny scale) make the radius-relative terms dominate and stall.
            warmup = min(self.warmup_epochs, nb_epochs)
            for _ in range(warmup):
                self._epoch(xt, yt, acts, loop, aux=None)
            nb_epochs -= warmup
            with torch.no_grad():
                idx = torch.randperm(len(xt))[:1024]
                acts[self.final_layer] = _pooled(_logits(model(xt[idx].to(device))))
                self.losses_ = nn.ModuleDict(
                    {
                        _key(n): self._make_loss(clf.nb_classes, acts[n].shape[1])
                        for n in self.layers
                    }
                ).to(device)
                for n in self.layers:
                    self.losses_[_key(n)].initialise(acts[n], yt[idx].to(device))
        aux = torch.optim.Adam(self.losses_.parameters(), lr=self.aux_learning_rate)
        for _ in trange(nb_epochs, desc=type(self).__name__, unit="epoch", disable=not verbose):
            totals = self._epoch(xt, yt, acts, loop, aux=aux)
            self.history_.append({k: v / len(xt) for k, v in totals.items()})

    def _epoch(self, xt, yt, acts, loop, aux) -> dict[str, float]:
        """One pass over the data: cross-entropy alone (``aux=None``, the warm-up) or with the
        layer losses; returns the summed cross-entropy and layer-loss values."""
        model, device = self._classifier.model, self._classifier.device
        opt = self._classifier.optimizer
        totals = {"ce": 0.0, "aux": 0.0}
        for idx in loop.batches(len(xt)):
            xb, yb = xt[idx].to(device), yt[idx].to(device)
            logits = _logits(model(xb))
            loss = ce = nn.functional.cross_entropy(logits, yb)
            if aux is not None:
                acts[self.final_layer] = logits
                extra = sum(self.losses_[_key(n)](acts[n], yb) for n in self.layers)
                loss = ce + self.weight * extra
                aux.zero_grad()
                totals["aux"] += float(extra.detach()) * len(idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if aux is not None:
                aux.step()
            totals["ce"] += ce.item() * len(idx)
        if loop.scheduler is not None:
            loop.scheduler.step()
        return totals


class _Loop:
    """The batching of one ``fit`` call (ART's ``batch_size``, ``drop_last``, ``scheduler``)."""

    def __init__(self, batch_size: int, drop_last: bool, scheduler: Any) -> None:
        self.batch_size, self.drop_last, self.scheduler = batch_size, drop_last, scheduler

    def batches(self, n: int) -> list[torch.Tensor]:
        parts = list(torch.randperm(n).split(self.batch_size))
        if self.drop_last and parts and len(parts[-1]) < self.batch_size:
            parts.pop()
        return parts


class HCPTrainer(_HookedLossTrainer):
    r"""ART training defence with Hyperspherical Class Prototypes (Mygdalis & Pitas, Pattern
    Recognition 2022, eqs. (1)-(5); AI4Media D4.1 §3.2).

    Loss = cross-entropy + ``weight`` x :class:`HCPLoss` on the logits (the final layer,
    named ``"output"``) + ``weight`` x :class:`HCPLoss` on each named intermediate layer (GAP over
    spatial dimensions for conv layers). The trained classifier is the same ART
    ``PyTorchClassifier``, usable by any ART attack; the hooks are removed after ``fit``.

    :param classifier: ART ``PyTorchClassifier`` (with an optimiser) to train in place.
    :param layers: Module names (as in ``model.named_modules()``) to constrain; ``"output"``
                   names the final layer (the logits), added when ``include_output`` is true.
    :param c: Soft-margin weight of :math:`L_M` (> 0). With the radius term averaged over classes,
              a class's radius settles where a fraction of about ``1 / c`` of its samples lies
              outside its hypersphere (the SVDD :math:`\nu` property), hence the default 10.
    :param weight: Weight of the HCP losses against the cross-entropy (>= 0, default 0.01, the
                   usual weight of centre-loss-like terms: the enclosure slack grows with the
                   squared activation scale).
    :param aux_learning_rate: Adam step size of the prototypes and radii (> 0).
    :param include_output: Also constrain the final layer (the logits), as the seed does.
    :param warmup_epochs: Cross-entropy-only epochs (>= 0, counted in ``nb_epochs``) before the
                          prototypes are placed at the class means and radii at the class RMS
                          distances of the activations.
    :param verbose: Show a tqdm progress bar over epochs.
    :raises TypeError: ``classifier`` is not a ``PyTorchClassifier``; ``layers`` is a string.
    :raises ValueError: An unknown layer name (the message lists the valid ones).
    :raises InvalidParameterError: A parameter outside the ranges above.
    """

    _parameter_constraints = {
        **_HookedLossTrainer._parameter_constraints,
        "c": [_POSITIVE],
        "include_output": ["boolean"],
    }

    def __init__(
        self,
        classifier: Any,
        layers: Sequence[str] = (),
        *,
        c: float = 10.0,
        weight: float = 0.01,
        aux_learning_rate: float = 1e-2,
        include_output: bool = True,
        warmup_epochs: int = 1,
        verbose: bool = True,
    ) -> None:
        if isinstance(layers, str):
            raise TypeError("layers must be a sequence of module names (str), not one string")
        self.c, self.include_output = c, include_output
        layers = [n for n in layers if n != self.final_layer] + (
            [self.final_layer] if include_output is True else []
        )
        super().__init__(
            classifier,
            layers,
            weight=weight,
            aux_learning_rate=aux_learning_rate,
            warmup_epochs=warmup_epochs,
            verbose=verbose,
        )

    def _params(self) -> dict[str, Any]:
        return {**super()._params(), "c": self.c, "include_output": self.include_output}

    def _make_loss(self, n_classes: int, n_features: int) -> nn.Module:
        return HCPLoss(n_classes, n_features, c=self.c)


class CenterLossTrainer(_HookedLossTrainer):
    """Centre-loss training (Wen et al., ECCV 2016): CE + ``weight`` x :class:`CenterLoss` on the
    named layers, the CL baseline of HCP's Table 2; same interface as :class:`HCPTrainer` (centres
    move with Adam at step 0.5 unless ``aux_learning_rate`` says otherwise)."""

    default_aux_learning_rate = 0.5

    def _make_loss(self, n_classes: int, n_features: int) -> nn.Module:
        return CenterLoss(n_classes, n_features)


class PCLTrainer(_HookedLossTrainer):
    """Prototype-conformity-loss training (Mustafa et al., ICCV 2019): CE + ``weight`` x
    :class:`PrototypeConformityLoss` on the named layers, the PCL baseline; same interface as
    :class:`HCPTrainer`, plus ``push_weight`` (>= 0, the loss's gamma)."""

    _parameter_constraints = {**_HookedLossTrainer._parameter_constraints, "push_weight": [_NONNEG]}

    def __init__(
        self,
        classifier: Any,
        layers: Sequence[str],
        *,
        push_weight: float = 0.1,
        weight: float = 0.01,
        aux_learning_rate: float | None = None,
        warmup_epochs: int = 1,
        verbose: bool = True,
    ) -> None:
        self.push_weight = push_weight
        super().__init__(
            classifier,
            layers,
            weight=weight,
            aux_learning_rate=aux_learning_rate,
            warmup_epochs=warmup_epochs,
            verbose=verbose,
        )

    def _params(self) -> dict[str, Any]:
        return {**super()._params(), "push_weight": self.push_weight}

    def _make_loss(self, n_classes: int, n_features: int) -> nn.Module:
        return PrototypeConformityLoss(n_classes, n_features, push_weight=self.push_weight)
