"""Regression concepts, TCAV-style experimental sets and layer names for :class:`~.rcv.RCV`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from captum.concept import Concept
from torch.nn import Module

from ...._validation import InvalidParameterError


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


def as_experimental_sets(experimental_sets: Any) -> tuple[list[list[RegressionConcept]], bool]:
    """``(sets, nested)``: TCAV's ``List[List[Concept]]`` as given (``nested = True``) or a flat
    list of concepts as one set per concept (``nested = False``).

    Raises:
        InvalidParameterError: a mix of concepts and lists, an empty set, or an entry that is
            not a :class:`RegressionConcept`.
    """
    if isinstance(experimental_sets, Concept | str | bytes) or not isinstance(
        experimental_sets, Sequence
    ):
        raise InvalidParameterError(
            "experimental_sets must be a list of RegressionConcept or, as for captum's TCAV, a "
            f"list of lists of them; got {type(experimental_sets).__name__}"
        )
    items = list(experimental_sets)
    if not items:
        raise InvalidParameterError("experimental_sets must hold at least one concept")
    kinds = {isinstance(item, Concept) for item in items}
    if len(kinds) > 1:
        raise InvalidParameterError(
            "experimental_sets mixes concepts and lists of concepts; pass either a flat list of "
            "RegressionConcept or a list of lists (TCAV's experimental sets)"
        )
    nested = kinds == {False}
    sets = (
        [list(s) if isinstance(s, Sequence) else s for s in items]
        if nested
        else [[c] for c in items]
    )
    for concept_set in sets:
        if not isinstance(concept_set, list) or not concept_set:
            raise InvalidParameterError(
                "experimental_sets: every experimental set must be a non-empty list of "
                f"RegressionConcept, got {concept_set!r}"
            )
        for concept in concept_set:
            if not isinstance(concept, RegressionConcept):
                raise InvalidParameterError(
                    f"concepts must be RegressionConcept (a captum Concept with measures), "
                    f"got {type(concept).__name__}"
                )
    return sets, nested


def layer_names(model: Module, layers: Any) -> list[str]:
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
