#!/usr/bin/env python3
"""Regression Concept Vectors (Graziani, Andrearczyk & Müller, iMIMIC @ MICCAI 2018)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from captum.attr import LayerActivation, LayerGradientXActivation
from captum.concept import Concept, ConceptInterpreter
from captum.log import log_usage
from torch import Tensor
from torch.nn import Module

from ...._validation import Interval, InvalidParameterError, check_params


class RegressionConcept(Concept):
    r"""A captum :class:`~captum.concept.Concept` whose examples carry a continuous measure.

    ``data_iter`` yields input batches exactly as for TCAV; ``measures`` holds one value per
    example, in the same order (e.g. the texture contrast or the hue share of each image).

    Args:
        id (int): unique identifier.
        name (str): unique name, e.g. ``"contrast"``.
        data_iter (Iterable): input batches (a ``DataLoader`` without labels).
        measures (Tensor or array-like): the concept measure of every example, shape ``(N,)``
            (any real dtype; stored as float64).

    Raises:
        InvalidParameterError: (a ``ValueError`` and ``TypeError``) for non-numeric, empty or
            non-finite ``measures``.
    """

    def __init__(self, id: int, name: str, data_iter: Any, measures: Any) -> None:
        super().__init__(id, name, data_iter)
        if hasattr(measures, "detach"):
            measures = measures.detach().cpu().numpy()
        arr = np.asarray(measures)
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
        ):
            raise InvalidParameterError(
                f"measures of concept {name!r} must be real numbers, got dtype {arr.dtype}"
            )
        values = torch.as_tensor(arr.astype(np.float64)).flatten()
        if values.numel() == 0:
            raise InvalidParameterError(f"measures of concept {name!r} must not be empty")
        if not torch.isfinite(values).all():
            raise InvalidParameterError(f"measures of concept {name!r} must be finite")
        self.measures = values

    def same_as(self, other: Concept) -> bool:
        """Whether ``other`` is this concept (the same object, or the same id, name, examples
        iterator and measures)."""
        return other is self or (
            isinstance(other, RegressionConcept)
            and other.id == self.id
            and other.name == self.name
            and other.data_iter is self.data_iter
            and other.measures.shape == self.measures.shape
            and bool(torch.equal(other.measures, self.measures))
        )


def _pool(activation: Tensor) -> Tensor:
    # Global average pooling over every dimension after the channel one (conv layers).
    return activation.flatten(2).mean(dim=2) if activation.dim() > 2 else activation


def _r2(y: Tensor, pred: Tensor) -> Tensor:
    tss = ((y - y.mean()) ** 2).sum()
    return 1 - ((y - pred) ** 2).sum() / tss if tss > 0 else torch.tensor(0.0, dtype=y.dtype)


def least_squares(a: Tensor, y: Tensor, ridge: float = 0.0) -> tuple[Tensor, Tensor]:
    """Least squares with an unpenalised intercept: ``(coefficients, intercept)``.

    ``ridge = 0`` is ordinary least squares (minimum-norm solution when the activations are
    rank deficient, singular values below ``1e-6`` of the largest treated as zero); ``ridge > 0`` adds ``ridge * mean(diag(A_c^T A_c)) * I`` to the normal
    equations of the centred activations ``A_c`` — a scale-free ridge penalty.
    """
    a_mean, y_mean = a.mean(dim=0), y.mean()
    ac, yc = a - a_mean, y - y_mean
    if ridge > 0:
        gram = ac.T @ ac
        penalty = ridge * gram.diagonal().mean().clamp_min(1e-12)
        coef = torch.linalg.solve(gram + penalty * torch.eye(len(gram), dtype=a.dtype), ac.T @ yc)
    else:
        # Activations come from float32 models: directions with singular values below float32
        # resolution are rounding noise, not signal.
        coef = torch.linalg.lstsq(ac, yc[:, None], rcond=1e-6, driver="gelsd").solution[:, 0]
    return coef, y_mean - a_mean @ coef


class RCV(ConceptInterpreter):
    r"""Regression Concept Vectors: where a *continuous* concept measure lives in a layer.

    For every concept and layer, the concept measure :math:`c(x)` is regressed on the (globally
    average-pooled) layer activations :math:`\phi_l(x)` by least squares; the unit coefficient
    vector is the RCV :math:`v`, and its quality the held-out coefficient of determination
    :math:`R^2` (k-fold). :meth:`interpret` then gives, for each input, the sensitivity
    :math:`S(x) = \nabla_{\phi_l} f_k(x) \cdot v` (the directional derivative of the class
    output along the RCV; for a conv layer the pooled direction is applied at every spatial
    position, so the spatial gradients are summed), the TCAV-style score (share of positive
    sensitivities) and the bidirectional relevance :math:`Br = R^2 \mu(S) / \sigma(S)`.

    Runs wherever captum's :class:`~captum.concept.TCAV` runs: same model, layer names and
    :class:`~captum.concept.Concept` inputs (as :class:`RegressionConcept`), activations from
    :class:`~captum.attr.LayerActivation` and gradients from
    :class:`~captum.attr.LayerGradientXActivation` (``multiply_by_inputs=False``, TCAV's
    default).

    Args:
        model (Module): the model to interpret.
        layers (str, Module or list of them): the layers, by name (``model.named_modules()``)
            or as submodules of ``model`` (as captum's layer attribution APIs take them); they
            are stored and reported by name.
        n_splits (int, optional): folds of the held-out :math:`R^2`. (default: 3)
        ridge (float, optional): scale-free ridge penalty of the regression; 0 is the
            reference's ordinary least squares. A small value stabilises wide layers with few
            concept examples. (default: 0)
        random_state (int, optional): seed of the fold shuffling. (default: 0)

    Attributes:
        rcvs (dict): ``{(concept identifier, layer): {"direction", "r2", "r2_folds",
            "intercept", "coefficients"}}`` filled by :meth:`compute_rcvs`.

    Raises:
        InvalidParameterError: (a ``ValueError`` and ``TypeError``) for bad parameters, a
            ``layers`` entry that is neither a layer name nor a submodule of ``model``, or, as
            captum's TCAV, a second *different* concept with an identifier already in use
            (within one call or against a concept already fitted): results are never merged.

    Examples::

        >>> rcv = RCV(model, ["conv2", "fc1"])
        >>> concept = RegressionConcept(0, "contrast", loader, contrast_values)
        >>> scores = rcv.interpret(test_images, [concept], target=3)
        >>> scores["contrast-0"]["fc1"]["br_score"]
    """

    _parameter_constraints = {
        "n_splits": [Interval(numbers.Integral, 2, None, closed="left")],
        "random_state": [Interval(numbers.Integral, 0, None, closed="left"), None],
        "ridge": [Interval(numbers.Real, 0, math.inf, closed="left")],
    }

    def __init__(
        self,
        model: Module,
        layers: str | Module | Sequence[str | Module],
        n_splits: int = 3,
        random_state: int = 0,
        ridge: float = 0.0,
    ) -> None:
        check_params(
            self,
            {"n_splits": n_splits, "random_state": random_state, "ridge": ridge},
            self._parameter_constraints,
        )
        super().__init__(model)
        self.layers = self._layer_names(model, layers)
        modules = dict(model.named_modules())
        self.ridge = float(ridge)
        self._modules = {name: modules[name] for name in self.layers}
        self.n_splits = int(n_splits)
        self.random_state = random_state
        self.rcvs: dict[tuple[str, str], dict[str, Tensor]] = {}
        self._concepts: dict[str, RegressionConcept] = {}

    @staticmethod
    def _layer_names(model: Module, layers: Any) -> list[str]:
        """Layer names from names and/or submodules; InvalidParameterError naming ``layers``."""
        items = [layers] if isinstance(layers, str | Module) else layers
        if isinstance(items, Iterable) and not isinstance(items, str | bytes | dict):
            items = list(items)
        else:
            raise InvalidParameterError(
                f"layers must be a layer name, a submodule of the model or a list of them, "
                f"got {type(layers).__name__}"
            )
        modules = dict(model.named_modules())
        by_id = {id(m): name for name, m in modules.items()}
        names = []
        for item in items:
            if isinstance(item, Module):
                if id(item) not in by_id:
                    raise InvalidParameterError(
                        f"layers holds a {type(item).__name__} that is not a submodule of model"
                    )
                names.append(by_id[id(item)])
            elif isinstance(item, str):
                if item not in modules:
                    valid = [name for name in modules if name]
                    raise InvalidParameterError(
                        f"layers names unknown layer {item!r}; valid layer names: {valid}"
                    )
                names.append(item)
            else:
                raise InvalidParameterError(
                    f"layers must hold layer names or modules, got {type(item).__name__}"
                )
        if not names:
            raise InvalidParameterError("layers must name at least one layer")
        return list(dict.fromkeys(names))

    def _register(self, concepts: Sequence[Any]) -> None:
        """Refuse two different concepts with one identifier (captum's TCAV rule)."""
        seen: dict[str, RegressionConcept] = {}
        for concept in concepts:
            if not isinstance(concept, RegressionConcept):
                raise InvalidParameterError(
                    f"concepts must be RegressionConcept (a captum Concept with measures), "
                    f"got {type(concept).__name__}"
                )
            key = concept.identifier
            known = seen.get(key, self._concepts.get(key))
            if known is not None and not known.same_as(concept):
                raise InvalidParameterError(
                    f"concepts: two different concepts share the identifier {key!r} (id "
                    f"{concept.id}, name {concept.name!r}); give each concept a unique id"
                )
            seen[key] = concept

    def activations(self, batches: Iterable[Any], layer: str) -> Tensor:
        """Pooled activations ``(N, F)`` of ``layer`` for every input batch (float64)."""
        extractor = LayerActivation(self.model, self._modules[layer])
        with torch.no_grad():
            acts = [_pool(extractor.attribute(batch)).double() for batch in batches]
        return torch.cat(acts)

    def fit_direction(
        self, a: Tensor, y: Tensor, random_state: int | None = None
    ) -> dict[str, Tensor]:
        """Regress measures ``y`` (N,) on activations ``a`` (N, F): the unit RCV, the
        coefficients and intercept of the fit on all examples, and the k-fold held-out
        :math:`R^2` (folds shuffled with ``random_state``, default the interpreter's)."""
        n = len(y)
        if n < 2 * self.n_splits:
            raise ValueError(f"need at least {2 * self.n_splits} concept examples, got {n}")
        seed = self.random_state if random_state is None else random_state
        order = torch.from_numpy(np.random.default_rng(seed).permutation(n))
        folds = torch.tensor_split(order, self.n_splits)
        r2 = []
        for k, test in enumerate(folds):
            train = torch.cat([f for j, f in enumerate(folds) if j != k])
            coef, intercept = least_squares(a[train], y[train], self.ridge)
            r2.append(_r2(y[test], a[test] @ coef + intercept))
        coef, intercept = least_squares(a, y, self.ridge)
        norm = coef.norm()
        direction = coef / norm if norm > 0 else coef
        return {
            "direction": direction,
            "coefficients": coef,
            "intercept": intercept,
            "r2_folds": torch.stack(r2),
            "r2": torch.stack(r2).mean(),
        }

    def compute_rcvs(self, concepts: Sequence[RegressionConcept]) -> dict:
        """Fit the RCV of every concept at every layer (held-out :math:`R^2` included).

        A concept whose identifier is already fitted is refitted only if it is the same concept;
        a different concept with that identifier raises ``InvalidParameterError``."""
        self._register(concepts)
        for concept in concepts:
            self._concepts[concept.identifier] = concept
            for layer in self.layers:
                a = self.activations(concept.data_iter, layer)
                if len(a) != len(concept.measures):
                    raise ValueError(
                        f"concept {concept.name!r}: {len(concept.measures)} measures for "
                        f"{len(a)} examples"
                    )
                self.rcvs[(concept.identifier, layer)] = self.fit_direction(a, concept.measures)
        return self.rcvs

    def layer_gradients(
        self, inputs: Tensor, layer: str, target: Any = None, additional_forward_args: Any = None
    ) -> Tensor:
        """Gradient of the target output w.r.t. the layer, summed over spatial positions."""
        grads = LayerGradientXActivation(
            self.model, self._modules[layer], multiply_by_inputs=False
        ).attribute(inputs, target=target, additional_forward_args=additional_forward_args)
        return (grads.flatten(2).sum(dim=2) if grads.dim() > 2 else grads).double()

    @staticmethod
    def scores(sensitivity: Tensor, r2: Tensor) -> dict[str, Tensor]:
        """TCAV-style score and bidirectional relevance from sensitivities and :math:`R^2`."""
        std = sensitivity.std()
        return {
            "sensitivity": sensitivity,
            "tcav": (sensitivity > 0).double().mean(),
            "br_score": r2 * sensitivity.mean() / std
            if std > 0
            else torch.zeros((), dtype=r2.dtype),
            "r2": r2,
        }

    @log_usage()
    def interpret(
        self,
        inputs: Tensor,
        concepts: Sequence[RegressionConcept],
        target: Any = None,
        additional_forward_args: Any = None,
        **kwargs: Any,
    ) -> dict[str, dict[str, dict[str, Tensor]]]:
        """Sensitivity, TCAV-style score, Br and :math:`R^2` per concept and layer.

        Args:
            inputs (Tensor): inputs whose sensitivities are computed (e.g. test images of one
                class).
            concepts (list of RegressionConcept): RCVs not yet computed are fitted first.
            target (int or Tensor, optional): output index (class) differentiated, as in
                captum's attribution methods.
            additional_forward_args (Any, optional): passed to the model.
            **kwargs: accepted for captum's ``ConceptInterpreter.interpret`` signature; none
                applies, so any given raises ``TypeError`` (never ignored silently).

        Returns:
            dict: ``{concept identifier: {layer: {"sensitivity": Tensor (N,), "tcav": Tensor,
            "br_score": Tensor, "r2": Tensor}}}`` — the nesting of TCAV's output.
        """
        if kwargs:
            raise TypeError(f"RCV.interpret() got unexpected keyword argument(s) {sorted(kwargs)}")
        for item in inputs if isinstance(inputs, tuple) else (inputs,):
            if not isinstance(item, Tensor) or not item.is_floating_point():
                raise InvalidParameterError(
                    f"inputs must be floating-point tensors (as for captum's attributions), got "
                    f"{getattr(item, 'dtype', type(item).__name__)}; convert with .float()"
                )
            if item.numel() == 0 or not torch.isfinite(item).all():
                raise InvalidParameterError("inputs must be non-empty and finite (no NaN or inf)")
        concepts = list(concepts)
        self._register(concepts)
        todo = [c for c in concepts if any((c.identifier, l) not in self.rcvs for l in self.layers)]
        if todo:
            self.compute_rcvs(todo)
        out: dict[str, dict[str, dict[str, Tensor]]] = {c.identifier: {} for c in concepts}
        for layer in self.layers:
            grads = self.layer_gradients(inputs, layer, target, additional_forward_args)
            for concept in concepts:
                fit = self.rcvs[(concept.identifier, layer)]
                out[concept.identifier][layer] = self.scores(grads @ fit["direction"], fit["r2"])
        return out
