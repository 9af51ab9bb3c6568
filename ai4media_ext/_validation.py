"""One place for parameter and argument validation, on scikit-learn's pattern.

Modelled on ``sklearn/utils/_param_validation.py``: each class declares its constraints once (a
``dict`` from parameter name to a list of constraints, any of which may be satisfied) and calls
:func:`check_params` from inside its host's own validation hook (diffprivlib ``_check_all``, ART
``_check_params``, ``__init__`` elsewhere), so the host's conventions still hold. A violation raises
:class:`InvalidParameterError`, a subclass of both ``ValueError`` and ``TypeError`` (so host code
and tests expecting either keep working), whose message names the parameter, the allowed values and
what was given.

Constraints
-----------
- ``Interval(numbers.Real | numbers.Integral, left, right, closed=...)``: a number in a range
  (``None`` bound = unbounded; ``bool`` is never a number here);
- ``Options(type, {...})``: one of a fixed set of values;
- a class: an instance of it (``"boolean"`` for ``bool``/``np.bool_``);
- ``"random_state"``: ``None``, an int >= 0, a ``numpy.random.RandomState`` or ``Generator``;
- ``"array-like"``: anything :func:`numpy.asarray` takes that is not a string or mapping;
- ``callable``: any callable;
- ``None``: the value ``None``.

Labels follow ART's conventions (:func:`check_labels`): index labels of shape ``(n,)`` or
``(n, 1)``, or one-hot ``(n, nb_classes)``.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "InvalidParameterError",
    "Interval",
    "Options",
    "check_params",
    "check_labels",
    "check_array",
    "check_kwargs",
    "check_generator",
]


class InvalidParameterError(ValueError, TypeError):
    """A parameter or argument outside its declared constraints.

    Subclasses both ``ValueError`` and ``TypeError`` (as scikit-learn's own), so a host's tests that
    expect either class still pass. The message names the parameter, the allowed values and the
    value given.
    """


def _is_number(value: Any, kind: type) -> bool:
    if isinstance(value, bool | np.bool_):
        return False
    return isinstance(value, kind)


class Interval:
    """A number in an interval.

    Parameters
    ----------
    kind : {numbers.Real, numbers.Integral}
        ``numbers.Integral`` accepts Python and NumPy integers only; ``numbers.Real`` also floats.
    left, right : float or None
        Bounds; ``None`` means unbounded on that side.
    closed : {"left", "right", "both", "neither"}
        Which bounds belong to the interval.
    """

    def __init__(self, kind: type, left: float | None, right: float | None, *, closed: str):
        if kind not in (numbers.Real, numbers.Integral):
            raise ValueError(f"kind must be numbers.Real or numbers.Integral, got {kind!r}")
        if closed not in ("left", "right", "both", "neither"):
            raise ValueError(f"closed must be left/right/both/neither, got {closed!r}")
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def is_satisfied_by(self, value: Any) -> bool:
        if not _is_number(value, self.kind):
            return False
        if value != value:  # NaN
            return False
        if self.left is not None:
            ok = value >= self.left if self.closed in ("left", "both") else value > self.left
            if not ok:
                return False
        if self.right is not None:
            ok = value <= self.right if self.closed in ("right", "both") else value < self.right
            if not ok:
                return False
        return True

    def __str__(self) -> str:
        kind = "an int" if self.kind is numbers.Integral else "a float"
        lb = "[" if self.closed in ("left", "both") else "("
        rb = "]" if self.closed in ("right", "both") else ")"
        left = "-inf" if self.left is None else repr(self.left)
        right = "inf" if self.right is None else repr(self.right)
        return f"{kind} in the range {lb}{left}, {right}{rb}"


class Options:
    """One of a fixed set of values of a given type (e.g. ``Options(str, {"l1", "l2"})``)."""

    def __init__(self, kind: type, options: Iterable[Any]):
        self.kind, self.options = kind, set(options)

    def is_satisfied_by(self, value: Any) -> bool:
        if isinstance(value, bool | np.bool_) and self.kind is not bool:
            return False
        return isinstance(value, self.kind) and value in self.options

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(o) for o in sorted(self.options, key=repr))


def _satisfied(value: Any, constraint: Any) -> bool:
    if constraint is None:
        return value is None
    if isinstance(constraint, Interval | Options):
        return constraint.is_satisfied_by(value)
    if constraint == "boolean":
        return isinstance(value, bool | np.bool_)
    if constraint == "random_state":
        return (
            value is None
            or _is_number(value, numbers.Integral)
            and value >= 0
            or isinstance(value, np.random.RandomState | np.random.Generator)
        )
    if constraint == "array-like":
        return not isinstance(value, str | bytes | Mapping) and (
            hasattr(value, "__array__") or isinstance(value, list | tuple)
        )
    if constraint is callable:
        return callable(value)
    if isinstance(constraint, type):
        if (
            constraint in (int, float)
            or constraint is numbers.Real
            or constraint is numbers.Integral
        ):
            return _is_number(value, constraint)
        return isinstance(value, constraint)
    raise ValueError(f"unknown constraint {constraint!r}")


def _describe(constraint: Any) -> str:
    if constraint is None:
        return "None"
    if constraint == "boolean":
        return "a bool"
    if constraint == "random_state":
        return "None, an int >= 0, a numpy RandomState or Generator"
    if constraint == "array-like":
        return "an array-like"
    if constraint is callable:
        return "a callable"
    if isinstance(constraint, type):
        return f"an instance of {constraint.__module__}.{constraint.__qualname__}"
    return str(constraint)


def check_params(owner: Any, params: Mapping[str, Any], constraints: Mapping[str, list]) -> None:
    """Check every parameter of ``params`` that has constraints; raise on the first violation.

    Parameters
    ----------
    owner : object or str
        The class, instance or function name used in the message.
    params : mapping
        Parameter name -> value (e.g. ``{"eps": self.eps}``).
    constraints : mapping
        Parameter name -> list of constraints, any one of which suffices (see the module doc).

    Raises
    ------
    InvalidParameterError
        ``The 'eps' parameter of FGSM must be a float in the range (0, inf). Got -1 instead.``
    """
    if isinstance(owner, str):
        name = owner
    else:
        cls = owner if isinstance(owner, type) else type(owner)
        name = cls.__name__
    for param, allowed in constraints.items():
        if param not in params:
            continue
        value = params[param]
        if any(_satisfied(value, c) for c in allowed):
            continue
        choices = [_describe(c) for c in allowed]
        expected = (
            choices[0] if len(choices) == 1 else ", ".join(choices[:-1]) + " or " + choices[-1]
        )
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        raise InvalidParameterError(
            f"The {param!r} parameter of {name} must be {expected}. Got {shown} instead."
        )


def check_labels(
    y: Any, n_samples: int | None = None, nb_classes: int | None = None, *, name: str = "y"
) -> np.ndarray:
    """Labels in ART's conventions, as index labels.

    Parameters
    ----------
    y : array-like
        Index labels of shape ``(n,)`` or ``(n, 1)`` (integers, or floats holding integers), or
        one-hot / probability rows of shape ``(n, nb_classes)`` (``nb_classes >= 2``; read with
        ``argmax``).
    n_samples : int, optional
        The expected ``n``.
    nb_classes : int, optional
        The number of classes; index labels must lie in ``[0, nb_classes)``.
    name : str
        The argument's name in error messages.

    Returns
    -------
    numpy.ndarray
        int64 index labels of shape ``(n,)`` (a new array; ``y`` is never modified).

    Raises
    ------
    InvalidParameterError
        Wrong shape, a non-numeric dtype, NaN/inf, non-integer index labels, a label outside
        ``[0, nb_classes)``, a one-hot width other than ``nb_classes`` or a length other than
        ``n_samples``; the message names ``name``.
    """
    if hasattr(y, "detach"):  # torch tensors
        y = y.detach().cpu().numpy()
    arr = np.asarray(y)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.integer)
        or np.issubdtype(arr.dtype, np.floating)
        or arr.dtype == np.bool_
    ):
        raise InvalidParameterError(f"{name} must hold numeric labels, got dtype {arr.dtype}")
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim == 2:
        if nb_classes is not None and arr.shape[1] != nb_classes:
            raise InvalidParameterError(
                f"{name} of shape {arr.shape} is read as one-hot, so its width must equal "
                f"nb_classes={nb_classes}; pass index labels of shape (n,) or (n, 1) or one-hot "
                f"(n, {nb_classes})"
            )
        if not np.all(np.isfinite(arr)):
            raise InvalidParameterError(f"{name} must be finite (no NaN or inf)")
        labels = np.argmax(arr, axis=1).astype(np.int64)
    elif arr.ndim == 1:
        if np.issubdtype(arr.dtype, np.floating):
            if not np.all(np.isfinite(arr)):
                raise InvalidParameterError(f"{name} must be finite (no NaN or inf)")
            if np.any(arr != np.round(arr)):
                raise InvalidParameterError(
                    f"{name} holds non-integer values; index labels must be whole numbers"
                )
        labels = arr.astype(np.int64)
        if labels.size and labels.min() < 0:
            raise InvalidParameterError(
                f"{name} holds the label {labels.min()}; labels must lie in "
                f"[0, {nb_classes if nb_classes is not None else 'nb_classes'})"
            )
        if nb_classes is not None and labels.size and labels.max() >= nb_classes:
            raise InvalidParameterError(
                f"{name} holds the label {labels.max()}; labels must lie in [0, {nb_classes})"
            )
    else:
        raise InvalidParameterError(
            f"{name} must have shape (n,), (n, 1) or (n, nb_classes), got shape {arr.shape}"
        )
    if n_samples is not None and labels.shape[0] != n_samples:
        raise InvalidParameterError(
            f"{name} has {labels.shape[0]} labels but there are {n_samples} samples"
        )
    return labels


def check_array(
    x: Any,
    *,
    name: str = "x",
    ndim: int | tuple[int, ...] | None = None,
    allow_empty: bool = False,
    finite: bool = True,
    dtype: Any = None,
) -> np.ndarray:
    """A real array, validated, never the caller's object when a conversion is needed.

    Parameters
    ----------
    x : array-like
        Integers, floats or bools (torch tensors are moved to CPU numpy).
    name : str
        The argument's name in error messages.
    ndim : int or tuple of int, optional
        Allowed numbers of dimensions.
    allow_empty : bool
        Whether a zero-size array is allowed.
    finite : bool
        Refuse NaN and inf.
    dtype : numpy dtype, optional
        Convert to it (e.g. ``np.float32``); by default integer and bool input becomes float64 and
        float input keeps its dtype.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    InvalidParameterError
        A non-numeric dtype, a wrong number of dimensions, an empty array, NaN/inf; naming ``name``.
    """
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    if isinstance(x, str | bytes):
        raise InvalidParameterError(f"{name} must be a numeric array, got {type(x).__name__}")
    arr = np.asarray(x)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.integer)
        or np.issubdtype(arr.dtype, np.floating)
        or arr.dtype == np.bool_
    ):
        raise InvalidParameterError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            raise InvalidParameterError(
                f"{name} must have {' or '.join(map(str, allowed))} dimensions, got shape {arr.shape}"
            )
    if not allow_empty and arr.size == 0:
        raise InvalidParameterError(f"{name} must not be empty, got shape {arr.shape}")
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    elif not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    if finite and not np.all(np.isfinite(arr)):
        raise InvalidParameterError(f"{name} must be finite (no NaN or inf)")
    return arr


def check_kwargs(where: str, kwargs: Mapping[str, Any], allowed: Iterable[str] = ()) -> None:
    """Refuse keyword arguments that a ``**kwargs`` signature (kept for the host's API) does not
    use, instead of swallowing them silently.

    Parameters
    ----------
    where : str
        The callable's name for the message, e.g. ``"MetaAttack.generate"``.
    kwargs : mapping
        The ``**kwargs`` received.
    allowed : iterable of str
        The keywords the callable reads.

    Raises
    ------
    TypeError
        ``<where>() got unexpected keyword argument(s) [...]; accepted: [...]``, as Python does.
    """
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        accepted = sorted(allowed)
        raise TypeError(
            f"{where}() got unexpected keyword argument(s) {unknown}"
            + (f"; accepted: {accepted}" if accepted else "")
        )


def check_generator(random_state: Any) -> np.random.Generator:
    """A NumPy ``Generator`` from a ``random_state`` (scikit-learn's ``check_random_state`` for
    the new-style API): ``None`` (fresh OS entropy), an int seed, a ``Generator`` (returned as is)
    or a legacy ``RandomState`` (seeds a new ``Generator`` from one draw of it).
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(2**31))
    return np.random.default_rng(random_state)
