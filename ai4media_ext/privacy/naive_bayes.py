"""diffprivlib's Gaussian naive Bayes with its Laplace noise drawn by :class:`SecureLaplace`."""

from __future__ import annotations

from typing import Any

import numpy as np
from diffprivlib.accountant import BudgetAccountant
from diffprivlib.models import GaussianNB

from .mechanisms import SecureLaplace


def _fold(values: np.ndarray, lower: float | np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Reflect values into ``[lower, upper]`` (repeatedly, for values far outside)."""
    width = upper - lower
    shifted = np.mod(values - lower, 2 * width)
    return lower + np.where(shifted > width, 2 * width - shifted, shifted)


class SecureGaussianNB(GaussianNB):
    """Drop-in :class:`diffprivlib.models.GaussianNB` whose means and variances use SecureLaplace.

    Same budget split as diffprivlib (a third of ``epsilon`` for the class counts, a third for
    the means and a third for the variances, each divided over the features) and the same
    sensitivities (feature diameter for the sums, ``max(mu - lower, upper - mu)**2`` for the
    squared deviations). Differences: each sum is divided by its sensitivity so that one
    vectorised SecureLaplace call (sensitivity 1) serves all features, and the results are
    brought back into their domains by post-processing, which keeps the privacy guarantee: the
    sums are clamped (as diffprivlib's ``LaplaceTruncated``), the squared deviations are folded
    at the domain ends (as diffprivlib's ``LaplaceFolded``) where diffprivlib uses a
    bounded-domain Laplace. Clamping a variance would put mass on exactly zero, which a Gaussian
    likelihood cannot use. A feature whose bounds are equal (``lower == upper``) has
    sensitivity 0 and is released exactly (mean ``lower``, variance 0), as diffprivlib does.
    """

    def _update_mean_variance(
        self,
        n_past: Any,
        mu: Any,
        var: Any,
        X: np.ndarray,
        random_state: Any,
        sample_weight: Any = None,
        n_noisy: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        if n_noisy is None:
            raise ValueError("n_noisy (the noisy class count) must be given by GaussianNB.fit")
        if not n_noisy:
            return mu, var
        n_features = X.shape[1]
        lower = np.broadcast_to(np.asarray(self.bounds[0], dtype=float), (n_features,))
        upper = np.broadcast_to(np.asarray(self.bounds[1], dtype=float), (n_features,))
        mech = SecureLaplace(
            epsilon=self.epsilon / 3 / n_features,
            sensitivity=1.0,
            # An int seed makes the fit reproducible; None keeps the OS CSPRNG (diffprivlib's
            # model would fall back to numpy's global RandomState here).
            random_state=random_state if self.random_state is not None else None,
            # The model itself spends its epsilon on self.accountant once fit() is done.
            accountant=BudgetAccountant(),
        )
        diameter = upper - lower
        # lower == upper: the bounds pin the feature to one value (diffprivlib clips X to the
        # bounds), so its sensitivity is 0 and, as diffprivlib, it is released without noise:
        # mean = lower, variance = 0.
        free = diameter > 0
        new_mu = lower.copy()
        new_var = np.zeros(n_features)
        if free.any():
            lo, hi, width = lower[free], upper[free], diameter[free]
            xf = X[:, free]
            sums = mech.randomise(xf.sum(axis=0) / width) * width
            new_mu[free] = np.clip(sums, lo * n_noisy, hi * n_noisy) / n_noisy
            sq_sens = np.maximum(new_mu[free] - lo, hi - new_mu[free]) ** 2
            ssd = mech.randomise(((xf - new_mu[free]) ** 2).sum(axis=0) / sq_sens) * sq_sens
            new_var[free] = _fold(ssd, 0.0, sq_sens * n_noisy) / n_noisy
        if n_past == 0:
            return new_mu, new_var
        # Chan, Golub & LeVeque's pooled update, as in scikit-learn / diffprivlib.
        n_total = float(n_past + n_noisy)
        total_mu = (n_noisy * new_mu + n_past * mu) / n_total
        total_ssd = (
            n_past * var
            + n_noisy * new_var
            + (n_past / float(n_noisy * n_total)) * (n_noisy * mu - n_noisy * new_mu) ** 2
        )
        return total_mu, total_ssd / n_total
