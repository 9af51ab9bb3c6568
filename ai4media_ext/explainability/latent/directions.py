"""Attribute directions in a GAN's latent space: InterFaceGAN and multi-attribute balanced centroids."""

from __future__ import annotations

import numbers
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from ..._validation import (
    Interval,
    InvalidParameterError,
    Options,
    check_array,
    check_generator,
    check_params,
)
from .sampling import balanced_indices, combination_codes, confident_mask

__all__ = ["LatentDirections", "project_out"]


def project_out(direction: np.ndarray, conditions: np.ndarray) -> np.ndarray:
    """InterFaceGAN's conditional manipulation (``project_boundary``), for any number of conditions:
    remove from ``direction`` its component in the span of the ``conditions`` and renormalise.

    Parameters
    ----------
    direction : ndarray of shape (d,)
    conditions : ndarray of shape (c, d)
        Condition directions (need not be orthogonal; linearly independent of ``direction``).

    Returns
    -------
    ndarray of shape (d,), unit norm

    Raises
    ------
    InvalidParameterError
        ``direction`` lies in the span of the conditions.
    """
    if conditions.shape[0] == 0:
        return direction / np.linalg.norm(direction)
    q, _ = np.linalg.qr(conditions.T)  # orthonormal basis of the conditions' span, (d, c)
    rest = direction - q @ (q.T @ direction)
    norm = np.linalg.norm(rest)
    if norm < 1e-12 * max(np.linalg.norm(direction), 1e-300):
        raise InvalidParameterError(
            "condition_on: the direction lies in the span of the condition directions"
        )
    return rest / norm


class LatentDirections(BaseEstimator):
    """One unit direction per binary attribute in a generator's latent space.

    A scikit-learn estimator (``get_params`` / ``set_params`` / ``clone`` work; parameters are
    validated at construction and again at :meth:`fit`).

    Fits, for each attribute, the direction along which the attribute changes: either the normal of
    a linear SVM separating codes with and without the attribute (InterFaceGAN, Shen et al., CVPR
    2020) or the normalised difference of the two class centroids (Doubinsky et al., Pattern
    Recognition Letters 162, 2022, §3.2), on all confident codes or on a multi-attribute balanced
    sample in which every combination of attributes is equally frequent (§3.1). Editing moves a code
    along a direction, ``z + alpha * n`` (InterFaceGAN's ``linear_interpolate``).

    Parameters
    ----------
    method : {"centroid", "svm"}, default="centroid"
        ``"centroid"``: mean code with the attribute minus mean code without it, normalised.
        ``"svm"``: the unit normal of ``sklearn.svm.SVC(kernel="linear", C=svm_C)``, oriented
        towards the attribute (InterFaceGAN's ``train_boundary``).
    balanced : bool, default=True
        Fit on a multi-attribute balanced sample (all 2^k combinations equally frequent).
    threshold : float in [0.5, 1) or None, default=None
        Confidence filter: keep the codes whose every attribute score is ``> threshold`` or
        ``< 1 - threshold`` (the authors use 0.9 with classifier probabilities).
    n_per_combination : int >= 1 or None, default=None
        Codes drawn per combination when ``balanced``; ``None`` takes the rarest combination's count.
    svm_C : float > 0, default=1.0
        SVM regularisation (a very small C gives a very-large-margin SVM).
    attribute_names : sequence of str or None, default=None
        Names of the attribute columns (``"attr<j>"`` when None).
    random_state : None, int or numpy Generator/RandomState, default=None
        Seeds the balanced sample.

    Attributes
    ----------
    directions_ : ndarray of shape (k, d), float64
        Unit directions, one per attribute.
    attribute_names_ : list of str
    combination_counts_ : ndarray of shape (2^k,), int64
        Codes per attribute combination in the fitted sample (attribute j = bit j).
    n_samples_fit_ : int
        Codes the directions were computed from.
    fit_seconds_ : ndarray of shape (k,), float64
        Seconds spent computing each direction (excluding the shared filtering and sampling).
    sampling_seconds_ : float
        Seconds spent on the confidence filter and the balanced sample (shared by all attributes).

    Raises
    ------
    InvalidParameterError
        Parameters outside their ranges (at ``fit``); see :meth:`fit` for data errors.
    """

    _parameter_constraints: dict[str, list] = {
        "method": [Options(str, {"centroid", "svm"})],
        "balanced": ["boolean"],
        "threshold": [Interval(numbers.Real, 0.5, 1, closed="left"), None],
        "n_per_combination": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "svm_C": [Interval(numbers.Real, 0, None, closed="neither")],
        "attribute_names": [list, tuple, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        method: str = "centroid",
        balanced: bool = True,
        threshold: float | None = None,
        n_per_combination: int | None = None,
        svm_C: float = 1.0,
        attribute_names: Sequence[str] | None = None,
        random_state: Any = None,
    ):
        self.method = method
        self.balanced = balanced
        self.threshold = threshold
        self.n_per_combination = n_per_combination
        self.svm_C = svm_C
        self.attribute_names = attribute_names
        self.random_state = random_state
        self._check_params()

    def _check_params(self) -> None:
        params = {name: getattr(self, name) for name in self._parameter_constraints}
        check_params(self, params, self._parameter_constraints)

    # -- fitting -----------------------------------------------------------------------------------
    def _validate_data(self, latents: Any, attributes: Any) -> tuple[np.ndarray, np.ndarray]:
        z = check_array(latents, name="latents", ndim=2, dtype=np.float64)
        a = check_array(attributes, name="attributes", ndim=(1, 2), dtype=np.float64)
        if a.ndim == 1:
            a = a[:, None]
        if a.shape[0] != z.shape[0]:
            raise InvalidParameterError(
                f"attributes has {a.shape[0]} rows but latents has {z.shape[0]}"
            )
        if np.any((a < 0) | (a > 1)):
            raise InvalidParameterError(
                "attributes must be scores in [0, 1] (probabilities or 0/1 labels)"
            )
        names = self.attribute_names
        if names is not None and len(names) != a.shape[1]:
            raise InvalidParameterError(
                f"attribute_names has {len(names)} names but attributes has {a.shape[1]} columns"
            )
        return z, a

    def fit(self, latents: Any, attributes: Any) -> LatentDirections:
        """Compute one direction per attribute.

        Parameters
        ----------
        latents : array-like of shape (n, d)
            Latent codes (finite reals). Not modified.
        attributes : array-like of shape (n, k) or (n,)
            Attribute scores in [0, 1] of the images generated from ``latents`` (binarised at 0.5
            after the confidence filter).

        Returns
        -------
        self

        Raises
        ------
        InvalidParameterError
            NaN/inf or wrongly shaped inputs, scores outside [0, 1], an attribute that is constant
            among the kept codes (no direction exists), an attribute combination with no code when
            ``balanced`` (balancing is impossible), or ``n_per_combination`` larger than the
            rarest combination.
        """
        self._check_params()
        z, scores = self._validate_data(latents, attributes)
        k = scores.shape[1]
        self.attribute_names_ = list(self.attribute_names or [f"attr{j}" for j in range(k)])
        start = time.perf_counter()
        keep = confident_mask(scores, self.threshold)
        z, binary = z[keep], scores[keep] >= 0.5
        share = binary.mean(axis=0) if binary.shape[0] else np.zeros(k)
        constant = np.flatnonzero((share == 0) | (share == 1))
        if binary.shape[0] == 0 or constant.size:
            bad = [self.attribute_names_[j] for j in constant] or self.attribute_names_
            raise InvalidParameterError(
                f"attributes: {bad} take a single value among the {binary.shape[0]} codes kept by "
                f"threshold={self.threshold}; a direction needs codes with and without each "
                f"attribute"
            )
        codes = combination_codes(binary)
        if self.balanced:
            rng = check_generator(self.random_state)
            idx = balanced_indices(codes, 2**k, self.n_per_combination, rng)
            z, binary, codes = z[idx], binary[idx], codes[idx]
        self.sampling_seconds_ = time.perf_counter() - start
        self.combination_counts_ = np.bincount(codes, minlength=2**k)
        self.n_samples_fit_ = int(z.shape[0])
        directions = np.empty((k, z.shape[1]))
        seconds = np.empty(k)
        for j in range(k):  # one estimator per attribute (k is small); each is vectorised
            start = time.perf_counter()
            directions[j] = self._direction(z, binary[:, j])
            seconds[j] = time.perf_counter() - start
        self.directions_ = directions
        self.fit_seconds_ = seconds
        return self

    def _direction(self, z: np.ndarray, positive: np.ndarray) -> np.ndarray:
        if self.method == "centroid":
            diff = z[positive].mean(axis=0) - z[~positive].mean(axis=0)
        else:
            from sklearn.svm import SVC

            svm = SVC(kernel="linear", C=self.svm_C).fit(z, positive.astype(np.int64))
            diff = svm.coef_[0]
        norm = np.linalg.norm(diff)
        if not norm > 0:
            raise InvalidParameterError(
                "attributes: the codes with and without an attribute have the same mean; "
                "no direction"
            )
        return diff / norm

    # -- using the directions ----------------------------------------------------------------------
    def _index(self, attribute: int | str) -> int:
        if not hasattr(self, "directions_"):
            raise AttributeError(
                "LatentDirections is not fitted yet; call fit(latents, attributes)"
            )
        if isinstance(attribute, str):
            if attribute not in self.attribute_names_:
                raise InvalidParameterError(
                    f"attribute {attribute!r} is not one of {self.attribute_names_}"
                )
            return self.attribute_names_.index(attribute)
        if isinstance(attribute, numbers.Integral) and not isinstance(attribute, bool):
            if 0 <= attribute < len(self.attribute_names_):
                return int(attribute)
        raise InvalidParameterError(
            f"attribute must be a name in {self.attribute_names_} or an index in "
            f"[0, {len(self.attribute_names_)}), got {attribute!r}"
        )

    def direction(self, attribute: int | str) -> np.ndarray:
        """The unit direction of one attribute, shape (d,)."""
        j = self._index(attribute)
        return self.directions_[j].copy()

    def conditional(self, attribute: int | str, condition_on: Sequence[int | str]) -> np.ndarray:
        """InterFaceGAN's conditional manipulation: ``attribute``'s direction with its components
        along the directions of the attributes in ``condition_on`` projected out, renormalised.

        Returns
        -------
        ndarray of shape (d,), unit norm

        Raises
        ------
        InvalidParameterError
            Unknown attribute names, or ``condition_on`` containing ``attribute`` itself.
        """
        j = self._index(attribute)
        others = [self._index(c) for c in condition_on]
        if j in others:
            raise InvalidParameterError("condition_on must not contain the edited attribute")
        return project_out(self.directions_[j], self.directions_[others])

    def edit(
        self, z: Any, attribute: int | str | np.ndarray, alphas: Sequence[float] | np.ndarray
    ) -> np.ndarray:
        """Edit paths ``z + alpha * n`` for every code and step.

        Parameters
        ----------
        z : array-like of shape (n, d)
            Codes to edit (not modified).
        attribute : int, str or ndarray of shape (d,)
            An attribute (its fitted direction) or an explicit direction (e.g. from
            :meth:`conditional`).
        alphas : sequence of float
            Steps along the direction (the authors use 10 steps from -3 to 3).

        Returns
        -------
        ndarray of shape (n, len(alphas), d), float64
        """
        if isinstance(attribute, np.ndarray):
            n = check_array(attribute, name="attribute", ndim=1, dtype=np.float64)
        else:
            j = self._index(attribute)
            n = self.directions_[j]
        codes = check_array(z, name="z", ndim=2, dtype=np.float64)
        if codes.shape[1] != n.shape[0]:
            raise InvalidParameterError(
                f"z has {codes.shape[1]} dimensions but the direction has {n.shape[0]}"
            )
        steps = check_array(alphas, name="alphas", ndim=1, dtype=np.float64)
        return codes[:, None, :] + steps[None, :, None] * n[None, None, :]
