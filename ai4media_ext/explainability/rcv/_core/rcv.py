"""Regression Concept Vectors (Graziani, Andrearczyk & Müller, iMIMIC @ MICCAI 2018)."""

from __future__ import annotations

import math
import numbers
import os
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch
from captum.attr import LayerActivation, LayerAttribution, LayerGradientXActivation
from captum.concept import ConceptInterpreter
from captum.concept._utils.common import concepts_to_str
from captum.log import log_usage
from torch import Tensor
from torch.nn import Module

from ...._validation import Interval, InvalidParameterError, check_params
from .concept import RegressionConcept, as_experimental_sets, layer_names
from .fit import DegenerateConceptWarning, fit_direction, pool, scores, sum_spatial
from .store import RCVStore, measures_digest


class RCV(ConceptInterpreter):
    r"""Regression Concept Vectors: where a *continuous* concept measure lives in a layer.

    For every concept and layer, the concept measure :math:`c(x)` is regressed on the (globally
    average-pooled) layer activations :math:`\phi_l(x)` by least squares; the unit coefficient
    vector is the RCV :math:`v`, and its quality the held-out coefficient of determination
    :math:`R^2` (k-fold). :meth:`interpret` then gives, for each input, the sensitivity
    :math:`S(x) = \nabla_{\phi_l} f_k(x) \cdot v` (the directional derivative of the class
    output along the RCV; for a conv layer the pooled direction is applied at every spatial
    position, so the spatial gradients are summed), the TCAV-style scores (``sign_count``: share
    of positive sensitivities, ``magnitude``: their mean) and the bidirectional relevance
    :math:`Br = R^2 \mu(S) / \sigma(S)`.

    A drop-in for captum's :class:`~captum.concept.TCAV` where the semantics carry over: same
    model, layers, ``model_id``, ``layer_attr_method``, ``attribute_to_layer_input`` and
    ``save_path`` options, the same ``interpret(inputs, experimental_sets, target,
    additional_forward_args, processes, **kwargs)`` call and result nesting. What differs:

    * A concept is regressed on its own continuous measure, so each concept of an experimental
      set gets its own RCV (TCAV trains one classifier per set); ``classifier`` /
      ``classifier_kwargs`` have no counterpart (``n_splits`` and ``ridge`` set the regression).
    * ``save_path`` defaults to ``None`` (nothing written; TCAV writes to ``./cav/``); stored
      files are ``.npz`` read without pickle, keyed by the settings they were made with.
    * ``processes > 1`` fits the regressions in that many threads (the activations are in
      memory and torch's linear algebra releases the GIL), not in a process pool.
    * Repeated concept ids raise ``InvalidParameterError`` (TCAV: ``AssertionError``).
    * Activations are average-pooled per channel (the paper's RCV space); TCAV flattens them.

    Args:
        model (Module): the model to interpret.
        layers (str, Module or list of them): the layers, by name (``model.named_modules()``)
            or as submodules of ``model``; stored and reported by name.
        n_splits (int, optional): folds of the held-out :math:`R^2`. (default: 3)
        random_state (int, optional): seed of the fold shuffling. (default: 0)
        ridge (float, optional): scale-free ridge penalty of the regression; 0 is the
            reference's ordinary least squares. (default: 0)
        model_id (str, optional): names the model in ``save_path`` (as TCAV's).
            (default: ``"default_model_id"``)
        layer_attr_method (LayerAttribution, optional): the layer attribution whose output is
            projected on the RCV; its ``layer`` is set per layer, as TCAV does. (default:
            :class:`~captum.attr.LayerGradientXActivation` with ``multiply_by_inputs=False``,
            i.e. the gradient — the paper's sensitivity)
        attribute_to_layer_input (bool, optional): use the layer's input instead of its output,
            for activations and attributions alike. (default: ``False``)
        save_path (str or PathLike, optional): directory of the activation / RCV store
            (see :mod:`.store`); ``None`` keeps everything in memory. (default: ``None``)

    Attributes:
        rcvs (dict): ``{(concept identifier, layer): {"direction", "r2", "r2_folds",
            "intercept", "coefficients"[, "degenerate"]}}``.

    Raises:
        InvalidParameterError: (a ``ValueError`` and ``TypeError``) for bad parameters, a
            ``layers`` entry that is neither a layer name nor a submodule of ``model``, or two
            *different* concepts with one id (within one call or against a fitted concept).

    Warns:
        DegenerateConceptWarning: a concept with a constant measure or constant activations at
            a layer; its results there are NaN (see :class:`DegenerateConceptWarning`).

    Examples::

        >>> rcv = RCV(model, ["conv2", "fc1"], model_id="cnn", save_path="rcv_store")
        >>> contrast = RegressionConcept(0, "contrast", loader, contrast_values)
        >>> area = RegressionConcept(1, "area", loader, area_values)
        >>> scores = rcv.interpret(test_images, experimental_sets=[[contrast, area]], target=3)
        >>> scores["0-1"]["fc1"]["br_score"]  # tensor of 2 values, in the set's order
    """

    _parameter_constraints = {
        "n_splits": [Interval(numbers.Integral, 2, None, closed="left")],
        "random_state": [Interval(numbers.Integral, 0, None, closed="left"), None],
        "ridge": [Interval(numbers.Real, 0, math.inf, closed="left")],
        "model_id": [str],
        "layer_attr_method": [LayerAttribution, None],
        "attribute_to_layer_input": ["boolean"],
        "save_path": [str, os.PathLike, None],
    }

    def __init__(
        self,
        model: Module,
        layers: str | Module | Sequence[str | Module],
        n_splits: int = 3,
        random_state: int = 0,
        ridge: float = 0.0,
        model_id: str = "default_model_id",
        layer_attr_method: LayerAttribution | None = None,
        attribute_to_layer_input: bool = False,
        save_path: str | os.PathLike[str] | None = None,
    ) -> None:
        params = {
            "n_splits": n_splits, "random_state": random_state, "ridge": ridge,
            "model_id": model_id, "layer_attr_method": layer_attr_method,
            "attribute_to_layer_input": attribute_to_layer_input, "save_path": save_path,
        }  # fmt: skip
        check_params(self, params, self._parameter_constraints)
        if not model_id:
            raise InvalidParameterError("model_id must be a non-empty string")
        super().__init__(model)
        self.layers = layer_names(model, layers)
        modules = dict(model.named_modules())
        self._modules = {name: modules[name] for name in self.layers}
        self.n_splits, self.random_state, self.ridge = int(n_splits), random_state, float(ridge)
        self.model_id = model_id
        self.layer_attr_method = layer_attr_method
        self.attribute_to_layer_input = bool(attribute_to_layer_input)
        self.save_path = save_path
        self._store = None if save_path is None else RCVStore(save_path, model_id)
        self.rcvs: dict[tuple[str, str], dict[str, Any]] = {}
        self._concepts: dict[int, RegressionConcept] = {}

    def _register(self, concepts: Iterable[RegressionConcept]) -> list[RegressionConcept]:
        """The distinct concepts, in order; refuses two different concepts with one id (TCAV's
        rule: its set keys are built from ids) before anything is computed."""
        seen: dict[int, RegressionConcept] = {}
        for concept in concepts:
            known = seen.get(concept.id, self._concepts.get(concept.id))
            if known is not None and not known.same_as(concept):
                raise InvalidParameterError(
                    f"concepts: two different concepts share the id {concept.id} (identifier "
                    f"{concept.identifier!r} and {known.identifier!r}); give each concept a "
                    "unique id"
                )
            seen.setdefault(concept.id, concept)
        return list(seen.values())

    def _meta(self, concept: RegressionConcept, fit: bool) -> dict[str, Any]:
        meta = {"n": len(concept.measures), "input": self.attribute_to_layer_input}
        if fit:
            meta.update(measures=measures_digest(concept.measures), n_splits=self.n_splits,
                        ridge=self.ridge, random_state=self.random_state)  # fmt: skip
        return meta

    def _layer_activations(self, batches: Iterable[Any], layers: list[str]) -> list[Tensor]:
        """Pooled activations ``(N, F)`` (float64) of ``layers``, one forward pass per batch."""
        extractor = LayerActivation(self.model, [self._modules[layer] for layer in layers])
        per_layer: list[list[Tensor]] = [[] for _ in layers]
        with torch.no_grad():
            for batch in batches:
                outs = extractor.attribute.__wrapped__(  # captum's own call, without usage log
                    extractor, batch, attribute_to_layer_input=self.attribute_to_layer_input
                )
                for store, out in zip(per_layer, outs, strict=True):
                    store.append(pool(out).double())
        if not per_layer[0]:
            raise ValueError("the concept's data_iter yielded no examples")
        return [torch.cat(acts) for acts in per_layer]

    def activations(self, batches: Iterable[Any], layer: str) -> Tensor:
        """Pooled activations ``(N, F)`` of ``layer`` for every input batch (float64)."""
        return self._layer_activations(batches, [layer])[0]

    def generate_activation(
        self, layers: str | list[str], concept: RegressionConcept
    ) -> dict[str, Tensor]:
        """Activations of ``concept`` at ``layers`` (one forward pass), saved to the store when
        ``save_path`` is set (TCAV's ``generate_activation``); ``{layer: Tensor (N, F)}``."""
        layers = [layers] if isinstance(layers, str) else list(layers)
        acts = dict(zip(layers, self._layer_activations(concept.data_iter, layers), strict=True))
        for layer, a in acts.items():
            if len(a) != len(concept.measures):
                raise ValueError(
                    f"concept {concept.name!r}: {len(concept.measures)} measures for "
                    f"{len(a)} examples"
                )
            if self._store is not None:
                meta = self._meta(concept, fit=False)
                self._store.save_activations(concept.identifier, layer, a, meta)
        return acts

    def fit_direction(
        self, a: Tensor, y: Tensor, random_state: int | None = None, label: str = "concept"
    ) -> dict[str, Any]:
        """Regress measures ``y`` (N,) on activations ``a`` (N, F): the unit RCV, the
        coefficients and intercept of the fit on all examples, and the k-fold held-out
        :math:`R^2` (folds shuffled with ``random_state``, default the interpreter's). A
        degenerate regression warns (:class:`DegenerateConceptWarning`) and gives a zero
        direction and NaN :math:`R^2`."""
        seed = self.random_state if random_state is None else random_state
        return fit_direction(a, y, self.n_splits, self.ridge, seed, label)

    def _cached_fit(self, concept: RegressionConcept, layer: str) -> dict[str, Any] | None:
        if self._store is None:
            return None
        fit = self._store.load_fit(concept.identifier, layer, self._meta(concept, fit=True))
        if fit is not None and "degenerate" in fit:
            warnings.warn(
                f"concept {concept.identifier!r} at layer {layer!r}: {fit['degenerate']} "
                "(stored fit); its results are NaN", DegenerateConceptWarning, stacklevel=4,
            )  # fmt: skip
        return fit

    def _concept_activations(self, concept: RegressionConcept, layers: list[str]) -> dict:
        acts: dict[str, Tensor] = {}
        if self._store is not None:
            meta = self._meta(concept, fit=False)
            for layer in layers:
                found = self._store.load_activations(concept.identifier, layer, meta)
                if found is not None:
                    acts[layer] = found
        if missing := [layer for layer in layers if layer not in acts]:
            acts.update(self.generate_activation(missing, concept))
        return acts

    def compute_rcvs(
        self, experimental_sets: Any, force_train: bool = False, processes: int | None = None
    ) -> dict:
        """Fit the RCV of every concept at every layer (held-out :math:`R^2` included).

        Args:
            experimental_sets: a list of :class:`RegressionConcept` or TCAV's list of lists.
            force_train (bool): recompute activations and fits even if fitted or stored.
            processes (int, optional): > 1 fits the regressions in that many threads.

        A concept already fitted (in memory or, with ``save_path``, on disk with the same
        settings) is reused unless ``force_train``; a different concept with a fitted id
        raises ``InvalidParameterError`` (a concept whose fit failed is not kept). Returns
        :attr:`rcvs`.
        """
        sets, _ = as_experimental_sets(experimental_sets)
        check_params(self, {"processes": processes}, {"processes": [
            Interval(numbers.Integral, 1, None, closed="left"), None]})  # fmt: skip
        concepts = self._register(c for s in sets for c in s)
        jobs = []
        for concept in concepts:
            todo = []
            for layer in self.layers:
                key = (concept.identifier, layer)
                cached = (
                    None if force_train else self.rcvs.get(key) or self._cached_fit(concept, layer)
                )
                if cached is None:
                    todo.append(layer)
                else:
                    self.rcvs[key] = cached
            if todo:
                if force_train:
                    acts = self.generate_activation(todo, concept)
                else:
                    acts = self._concept_activations(concept, todo)
                jobs += [(concept, layer, acts[layer]) for layer in todo]

        def run(job: tuple) -> dict[str, Any]:
            concept, layer, a = job
            label = f"concept {concept.identifier!r} at layer {layer!r}"
            return self.fit_direction(a, concept.measures, label=label)

        if processes is not None and processes > 1 and len(jobs) > 1:
            with ThreadPoolExecutor(max_workers=processes) as pool_:
                fits = list(pool_.map(run, jobs))
        else:
            fits = [run(job) for job in jobs]
        for (concept, layer, _), fit in zip(jobs, fits, strict=True):
            self.rcvs[(concept.identifier, layer)] = fit
            if self._store is not None:
                meta = self._meta(concept, fit=True)
                self._store.save_fit(concept.identifier, layer, fit, meta)
        self._concepts.update((c.id, c) for c in concepts)
        return self.rcvs

    def layer_gradients(
        self,
        inputs: Tensor | tuple[Tensor, ...],
        layer: str,
        target: Any = None,
        additional_forward_args: Any = None,
        **kwargs: Any,
    ) -> Tensor:
        """Layer attributions ``(N, F)`` (float64) of the target output: by default the
        gradient w.r.t. the layer's output (or input), summed over spatial positions;
        ``kwargs`` go to ``layer_attr_method.attribute`` (e.g. ``n_steps``)."""
        return self._attributions(inputs, [layer], target, additional_forward_args, kwargs)[0]

    def _attributions(
        self, inputs: Any, layers: list[str], target: Any, forward_args: Any, kwargs: dict
    ) -> list[Tensor]:
        """Attributions at ``layers``: one backward pass for all of them with the default
        gradient, one call per layer with a ``layer_attr_method`` (as TCAV)."""
        common = {
            "target": target, "additional_forward_args": forward_args,
            "attribute_to_layer_input": self.attribute_to_layer_input, **kwargs,
        }  # fmt: skip
        modules = [self._modules[layer] for layer in layers]
        if self.layer_attr_method is None:
            method = LayerGradientXActivation(self.model, modules, multiply_by_inputs=False)
            # captum's own call, without the usage log
            grads = method.attribute.__wrapped__(method, inputs, **common)
            grads = grads if len(modules) > 1 else [grads]
        else:
            grads = []
            for module in modules:
                self.layer_attr_method.layer = module
                method = self.layer_attr_method
                grads.append(method.attribute.__wrapped__(method, inputs, **common))
        return [sum_spatial(g).double() for g in grads]

    scores = staticmethod(scores)

    @log_usage()
    def interpret(
        self,
        inputs: Tensor | tuple[Tensor, ...],
        experimental_sets: Any,
        target: Any = None,
        additional_forward_args: Any = None,
        processes: int | None = None,
        **kwargs: Any,
    ) -> dict[str, dict[str, dict[str, Tensor]]]:
        """Sensitivities and scores per concept (or experimental set) and layer.

        Args:
            inputs (Tensor or tuple of Tensor): inputs whose sensitivities are computed, first
                dimension the examples (e.g. test images of one class).
            experimental_sets: a list of :class:`RegressionConcept`, or captum TCAV's nested
                ``List[List[Concept]]`` of them. RCVs not yet fitted are fitted first.
            target (int, tuple, Tensor or list, optional): output index (class)
                differentiated, as in captum's attribution methods.
            additional_forward_args (Any, optional): passed to the model.
            processes (int, optional): > 1 fits the regressions in that many threads.
            **kwargs: passed to the layer attribution method's ``attribute`` (as TCAV);
                ``attribute_to_layer_input`` belongs to the constructor.

        Returns:
            dict: for a flat list, ``{concept identifier: {layer: {"sensitivity": (N,),
            "sign_count", "magnitude", "tcav" (= sign_count), "br_score", "r2": scalars}}}``;
            for nested sets, TCAV's ``{"<id>-<id>...": {layer: {...}}}`` with every score a
            tensor of one value per concept in the set's order and ``"sensitivity"``
            ``(N, k)``. Tensors are float64; NaN marks a degenerate concept.

        Raises:
            InvalidParameterError: non-float or non-finite inputs, malformed
                ``experimental_sets``, repeated ids, bad ``processes``.
            TypeError: ``attribute_to_layer_input`` passed here, or keyword arguments the
                layer attribution method does not take.
        """
        if "attribute_to_layer_input" in kwargs:
            raise TypeError(
                "set attribute_to_layer_input in the RCV constructor (as for captum's TCAV): it "
                "applies to activations and attributions alike"
            )
        for item in inputs if isinstance(inputs, tuple) else (inputs,):
            if not isinstance(item, Tensor) or not item.is_floating_point():
                raise InvalidParameterError(
                    f"inputs must be floating-point tensors (as for captum's attributions), got "
                    f"{getattr(item, 'dtype', type(item).__name__)}; convert with .float()"
                )
            if item.numel() == 0 or not torch.isfinite(item).all():
                raise InvalidParameterError("inputs must be non-empty and finite (no NaN or inf)")
        sets, nested = as_experimental_sets(experimental_sets)
        self.compute_rcvs(sets, processes=processes)
        out: dict[str, dict[str, dict[str, Tensor]]] = {}
        concepts = self._register(c for s in sets for c in s)
        attributions = self._attributions(
            inputs, self.layers, target, additional_forward_args, kwargs
        )
        for layer, grads in zip(self.layers, attributions, strict=True):
            directions = torch.stack(
                [self.rcvs[(c.identifier, layer)]["direction"] for c in concepts]
            )
            sens = grads @ directions.T  # (N, concepts): one matrix product for all RCVs
            per = {
                c.id: scores(sens[:, j], self.rcvs[(c.identifier, layer)]["r2"])
                for j, c in enumerate(concepts)
            }
            for concept_set in sets:
                if not nested:
                    out.setdefault(concept_set[0].identifier, {})[layer] = per[concept_set[0].id]
                    continue
                rows = [per[c.id] for c in concept_set]
                stacked = {k: torch.stack([r[k] for r in rows]) for k in rows[0]}
                stacked["sensitivity"] = stacked["sensitivity"].T
                out.setdefault(concepts_to_str(concept_set), {})[layer] = stacked
        return out
