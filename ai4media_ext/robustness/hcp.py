"""Hyperspherical Class Prototypes (HCP, Mygdalis & Pitas, Pattern Recognition 2022) as an ART
training defence, with the centre-loss baseline built on the same layer-hook machinery."""

from __future__ import annotations

import abc
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._compat import require

require("art", "art")
require("torch", "art")

import torch  # noqa: E402
from art.defences.trainer.trainer import Trainer  # noqa: E402
from torch import nn  # noqa: E402
from tqdm.auto import trange  # noqa: E402

__all__ = [
    "CenterLoss",
    "CenterLossTrainer",
    "HCPLoss",
    "HCPTrainer",
    "PCLTrainer",
    "PrototypeConformityLoss",
]


def _check_real(name: str, value: Any, *, positive: bool) -> float:
    """``value`` as a float, or a ValueError naming ``name`` and the allowed range."""
    ok = isinstance(value, numbers.Real) and (value > 0 if positive else value >= 0)
    if not ok:
        rule = "> 0" if positive else "a real number >= 0"
        raise ValueError(f"{name} must be {rule}, got {value!r}")
    return float(value)


def _check_int(name: str, value: Any, minimum: int) -> int:
    """``value`` as an int, or a ValueError naming ``name`` and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


class HCPLoss(nn.Module):
    r"""HCP loss of one layer: C learnable class prototypes :math:`A \in R^{C \times L}` and radii
    :math:`r_j`, with :math:`d_{ij} = \|h_i - a_j\|_2^2` for activations :math:`h_i`.

    * :math:`L_M` (soft-margin hypersphere enclosure, eq. (1)):
      :math:`\frac{1}{C}\sum_j r_j^2 + c \cdot \frac{1}{N}\sum_i \max(0, d_{iy_i} - r_{y_i}^2)`.
      Eq. (2) of the seed prints :math:`\max(c, \cdot)`; that would make the penalty at least
      :math:`c` for every sample, so we follow the soft-margin formulation of eq. (1),
      :math:`c \cdot \max(0, \cdot)` (the SVDD slack).
    * :math:`L_P` (eq. (3), pull to the own prototype relative to its radius):
      :math:`\frac{1}{N}\sum_i d_{iy_i} / (r_{y_i}^2 + e)`, :math:`e = 10^{-3}`.
    * :math:`L_{NP}` (eq. (4), push from the other prototypes relative to their radii):
      :math:`\frac{1}{N(C-1)}\sum_i \sum_{j \ne y_i} \max(0, 1 - d_{ij} / (r_j^2 + e))`, zero
      once a sample lies outside every other class's hypersphere.

    :math:`L_{HCP} = L_M + L_P + L_{NP}` (eq. (5)). Everything is computed for the whole batch
    and all classes at once (one distance matrix).

    Parameters
    ----------
    n_classes, n_features : int
        C and the layer width L.
    c : float, default 1.0
        Soft-margin weight of the enclosure slack.
    e : float, default 1e-3
        Stabiliser of the radius ratios.
    """

    def __init__(self, n_classes: int, n_features: int, *, c: float = 1.0, e: float = 1e-3) -> None:
        super().__init__()
        _check_int("n_classes", n_classes, 2)
        _check_int("n_features", n_features, 1)
        self.c = _check_real("c", c, positive=True)
        self.e = _check_real("e", e, positive=True)
        self.prototypes = nn.Parameter(torch.randn(n_classes, n_features) * 0.01)
        self.radii = nn.Parameter(torch.ones(n_classes))

    @torch.no_grad()
    def initialise(self, h: torch.Tensor, y: torch.Tensor) -> None:
        """Prototypes at the class means of ``h``, radii at the RMS distance to them (the
        trainer calls this after a cross-entropy warm-up, when the class means have separated;
        on an untrained network they nearly coincide and the pull and push terms cancel)."""
        means, seen = _class_means(h, y, self.prototypes.shape[0])
        self.prototypes[seen] = means[seen]
        d = (h - means[y]).pow(2).sum(1)[:, None]
        rms = _class_means(d, y, self.prototypes.shape[0])[0][:, 0].sqrt().clamp_min(1e-2)
        self.radii[seen] = rms[seen]

    def terms(self, h: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """The three terms for activations ``h`` (N x L) and labels ``y`` (N,)."""
        d = torch.cdist(h, self.prototypes).pow(2)  # N x C squared distances
        r2 = self.radii.pow(2)
        own = d.gather(1, y[:, None]).squeeze(1)
        r_own = r2[y]
        l_m = r2.mean() + self.c * (own - r_own).clamp_min(0).mean()
        l_p = (own / (r_own + self.e)).mean()
        other = torch.ones_like(d, dtype=torch.bool).scatter(1, y[:, None], False)
        push = (1 - d / (r2 + self.e)).clamp_min(0) * other
        l_np = push.sum(1).mean() / (d.shape[1] - 1)
        return {"L_M": l_m, "L_P": l_p, "L_NP": l_np}

    def forward(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        t = self.terms(h, y)
        return t["L_M"] + t["L_P"] + t["L_NP"]


class CenterLoss(nn.Module):
    r"""Centre loss (Wen et al., ECCV 2016): :math:`\frac{1}{2N}\sum_i \|h_i - c_{y_i}\|^2` with
    learnable class centres (the CL baseline of HCP's Table 2)."""

    def __init__(self, n_classes: int, n_features: int) -> None:
        super().__init__()
        self.centers = nn.Parameter(torch.randn(n_classes, n_features) * 0.01)

    @torch.no_grad()
    def initialise(self, h: torch.Tensor, y: torch.Tensor) -> None:
        """Centres at the class means of ``h``."""
        means, seen = _class_means(h, y, self.centers.shape[0])
        self.centers[seen] = means[seen]

    def forward(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return 0.5 * (h - self.centers[y]).pow(2).sum(1).mean()


class PrototypeConformityLoss(nn.Module):
    r"""Prototype conformity loss (PCL, Mustafa et al., ICCV 2019, eq. (3)) with learnable class
    centres :math:`w_j`:

    .. math:: \frac{1}{N}\sum_i \Big[\|h_i - w_{y_i}\|^2 - \frac{\gamma}{C-1}\sum_{j \ne y_i}
              \big(\|h_i - w_j\|^2 + \|w_{y_i} - w_j\|^2\big)\Big]

    The paper's loss has :math:`\gamma = 1`; it is unbounded below (scaling every feature and
    centre up lowers it: with :math:`\gamma = 1` our CIFAR-10 CNN's loss ran to -2.6e9 within 10
    epochs), so the push part gets a smaller weight, ``push_weight`` (default 0.1).
    """

    def __init__(self, n_classes: int, n_features: int, *, push_weight: float = 0.1) -> None:
        super().__init__()
        _check_int("n_classes", n_classes, 2)
        _check_int("n_features", n_features, 1)
        self.push_weight = _check_real("push_weight", push_weight, positive=False)
        self.centers = nn.Parameter(torch.randn(n_classes, n_features) * 0.01)

    initialise = CenterLoss.initialise

    def forward(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        d = torch.cdist(h, self.centers).pow(2)  # N x C
        dc = torch.cdist(self.centers, self.centers).pow(2)[y]  # N x C: ||w_y - w_j||^2
        own = d.gather(1, y[:, None]).squeeze(1)
        # the j = y_i column of d + dc is ||h_i - w_y||^2 + 0: take it out of the push sum
        push = ((d + dc).sum(1) - own) / (d.shape[1] - 1)
        return (own - self.push_weight * push).mean()


def _class_means(
    h: torch.Tensor, y: torch.Tensor, n_classes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-class means of the rows of ``h`` (C x L) and which classes occur in ``y``."""
    onehot = nn.functional.one_hot(y, n_classes).to(h)
    counts = onehot.sum(0)
    return (onehot.T @ h) / counts.clamp_min(1)[:, None], counts > 0


def _logits(output: Any) -> torch.Tensor:
    """The model's logits (the last output when the model returns several)."""
    return output[-1] if isinstance(output, tuple | list) else output


def _pooled(output: Any) -> torch.Tensor:
    """A layer's activations as N x L: global average pooling over spatial dimensions."""
    if isinstance(output, tuple | list):
        output = output[0]
    return output.mean(dim=tuple(range(2, output.dim()))) if output.dim() > 2 else output.flatten(1)


class _HookedLossTrainer(Trainer):
    """Trains an ART ``PyTorchClassifier`` with cross-entropy plus a per-layer loss on the
    activations of named modules (read with forward hooks, removed after training)."""

    final_layer = "output"
    #: Adam step size of the loss parameters when ``aux_learning_rate`` is not given
    default_aux_learning_rate = 1e-2

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
        modules = dict(classifier.model.named_modules())
        valid = [n for n in modules if n and n != self.final_layer]
        bad = [n for n in layers if n != self.final_layer and n not in modules]
        if bad:
            raise ValueError(
                f"unknown layer name(s) {bad}; valid names: {valid + [self.final_layer]}"
            )
        self.weight = _check_real("weight", weight, positive=False)
        if aux_learning_rate is None:
            aux_learning_rate = self.default_aux_learning_rate
        self.aux_learning_rate = _check_real("aux_learning_rate", aux_learning_rate, positive=True)
        self.warmup_epochs = _check_int("warmup_epochs", warmup_epochs, 0)
        self.layers = list(layers)
        self.verbose = verbose
        self.losses_: nn.ModuleDict | None = None
        self.history_: list[dict[str, float]] = []

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
        **kwargs: Any,
    ) -> None:
        """Train for ``nb_epochs`` over ``x``/``y`` (labels as indices or one-hot); the ART
        classifier's own optimiser updates the model, Adam (``aux_learning_rate``) the loss
        parameters (prototypes, radii or centres)."""
        clf = self._classifier
        model = clf.model
        device = clf.device
        verbose = self.verbose if verbose is None else verbose
        nb_epochs = _check_int("nb_epochs", nb_epochs, 1)
        batch_size = _check_int("batch_size", batch_size, 1)
        x = np.asarray(x)
        labels = np.asarray(y)
        labels = labels.argmax(1) if labels.ndim == 2 else labels.astype(np.int64)
        if len(labels) != len(x):
            raise ValueError(f"y must hold {len(x)} labels, got {len(labels)}")
        x_pre, _ = clf._apply_preprocessing(x, y=None, fit=True)
        xt = torch.as_tensor(np.asarray(x_pre, dtype=np.float32))
        yt = torch.as_tensor(labels)
        if clf.optimizer is None:
            raise ValueError("the ART classifier needs an optimizer to be trained")

        acts: dict[str, torch.Tensor] = {}
        modules = dict(model.named_modules())
        handles = [
            modules[name].register_forward_hook(
                lambda _m, _i, out, name=name: acts.__setitem__(name, _pooled(out))
            )
            for name in self.layers
            if name != self.final_layer
        ]
        try:
            self._train(clf, model, device, xt, yt, acts, nb_epochs, batch_size, verbose)
        finally:  # no hook may outlive training
            for h in handles:
                h.remove()
        model.eval()

    def _train(self, clf, model, device, xt, yt, acts, nb_epochs, batch_size, verbose) -> None:
        model.train()
        if self.losses_ is None:
            # Cross-entropy first: prototypes placed on an untrained network's activations
            # (all near one point, tiny scale) make the radius-relative terms dominate and stall.
            warmup = min(self.warmup_epochs, nb_epochs)
            for _ in range(warmup):
                self._epoch(model, device, xt, yt, acts, batch_size, aux=None)
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
            totals = self._epoch(model, device, xt, yt, acts, batch_size, aux=aux)
            self.history_.append({k: v / len(xt) for k, v in totals.items()})

    def _epoch(self, model, device, xt, yt, acts, batch_size, aux) -> dict[str, float]:
        """One pass over the data: cross-entropy alone (``aux=None``, the warm-up) or with the
        layer losses; returns the summed cross-entropy and layer-loss values."""
        opt = self._classifier.optimizer
        totals = {"ce": 0.0, "aux": 0.0}
        for idx in torch.randperm(len(xt)).split(batch_size):
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
        return totals


def _key(name: str) -> str:
    return name.replace(".", "__")  # ModuleDict keys may not contain dots


class HCPTrainer(_HookedLossTrainer):
    """ART training defence with Hyperspherical Class Prototypes.

    Loss = cross-entropy + ``weight`` x :class:`HCPLoss` on the logits (the final layer,
    named ``"output"``) + ``weight`` x :class:`HCPLoss` on each named intermediate layer (GAP over
    spatial dimensions for conv layers). The trained classifier is the same ART
    ``PyTorchClassifier``, usable by any ART attack; the hooks are removed after ``fit``.

    :param classifier: ART ``PyTorchClassifier`` (with an optimiser) to train in place.
    :param layers: Module names (as in ``model.named_modules()``) to constrain; ``"output"``
                   names the final layer (the logits), added when ``include_output`` is true.
    :param c: Soft-margin weight of :math:`L_M`. With the radius term averaged over classes, a
              class's radius settles where a fraction of about ``1 / c`` of its samples lies
              outside its hypersphere (the SVDD :math:`\nu` property), hence the default 10.
    :param weight: Weight of the HCP losses against the cross-entropy (default 0.01, the usual
                   weight of centre-loss-like terms: the enclosure slack grows with the squared
                   activation scale).
    :param aux_learning_rate: Adam step size of the prototypes and radii.
    :param include_output: Also constrain the final layer (the logits), as the seed does.
    :param warmup_epochs: Cross-entropy-only epochs (counted in ``nb_epochs``) before the
                          prototypes are placed at the class means and radii at the class RMS
                          distances of the activations.
    :param verbose: Show a tqdm progress bar over epochs.
    """

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
        layers = [n for n in layers if n != self.final_layer] + (
            [self.final_layer] if include_output else []
        )
        super().__init__(
            classifier,
            layers,
            weight=weight,
            aux_learning_rate=aux_learning_rate,
            warmup_epochs=warmup_epochs,
            verbose=verbose,
        )
        self.c = _check_real("c", c, positive=True)

    def _make_loss(self, n_classes: int, n_features: int) -> nn.Module:
        return HCPLoss(n_classes, n_features, c=self.c)


class CenterLossTrainer(_HookedLossTrainer):
    """Centre-loss training (CE + ``weight`` x :class:`CenterLoss` on the named layers), the CL
    baseline; same interface as :class:`HCPTrainer` (centres move with Adam at step 0.5 unless
    ``aux_learning_rate`` says otherwise)."""

    default_aux_learning_rate = 0.5

    def _make_loss(self, n_classes: int, n_features: int) -> nn.Module:
        return CenterLoss(n_classes, n_features)


class PCLTrainer(_HookedLossTrainer):
    """Prototype-conformity-loss training (CE + ``weight`` x :class:`PrototypeConformityLoss`
    on the named layers), the PCL baseline; same interface as :class:`HCPTrainer`."""

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
        super().__init__(
            classifier,
            layers,
            weight=weight,
            aux_learning_rate=aux_learning_rate,
            warmup_epochs=warmup_epochs,
            verbose=verbose,
        )
        self.push_weight = _check_real("push_weight", push_weight, positive=False)

    def _make_loss(self, n_classes: int, n_features: int) -> nn.Module:
        return PrototypeConformityLoss(n_classes, n_features, push_weight=self.push_weight)
