"""The attack battery of :class:`RobustnessEvaluation`: ART's own attacks, run so that work is
shared: only the clean-correct samples are attacked, every budget of a sweep runs in one batched
call (ART's per-sample ``eps`` arrays), targeted attacks cascade over the samples still robust,
and every attack ends with one batched prediction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "correct",
    "gradient_norms",
    "noise_correct",
    "run_apgd",
    "run_square",
    "run_sweep",
    "run_transfer",
]

#: sweep attacks (several budgets in one batched call) and their ART classes
SWEEP = {"fgsm": "FastGradientMethod", "pgd": "ProjectedGradientDescent",
         "mim": "MomentumIterativeMethod"}  # fmt: skip


def correct(classifier: Any, x: np.ndarray, y: np.ndarray, batch_size: int) -> np.ndarray:
    """``(n,)`` bool: the classifier's top class equals ``y`` (index labels)."""
    if len(x) == 0:
        return np.zeros(0, dtype=bool)
    return classifier.predict(x, batch_size=batch_size).argmax(1) == y


def _onehot(y: np.ndarray, nb_classes: int) -> np.ndarray:
    return np.eye(nb_classes, dtype=np.float32)[y]


def _per_sample(values: np.ndarray, n: int, ndim: int) -> np.ndarray:
    """Budgets repeated per sample, shaped ``(len(values) * n, 1, ..., 1)`` for ART."""
    return np.repeat(values.astype(np.float32), n).reshape((-1,) + (1,) * (ndim - 1))


def run_sweep(
    name: str,
    classifier: Any,
    x: np.ndarray,
    y: np.ndarray,
    budgets: Sequence[float],
    *,
    norm: Any,
    max_iter: int,
    step_ratio: float,
    batch_size: int,
) -> dict[float, np.ndarray]:
    """One ART FGSM / PGD (no random start, i.e. BIM) / MIM run over ``len(budgets)`` stacked
    copies of ``x``, each with its own budget; returns budget -> ``(n,)`` bool still correct."""
    from art.attacks import evasion

    n = len(x)
    if n == 0:
        return {float(b): np.zeros(0, dtype=bool) for b in budgets}
    eps = _per_sample(np.asarray(budgets, dtype=np.float64), n, x.ndim)
    x_all = np.concatenate([x] * len(budgets))
    y_all = _onehot(np.tile(y, len(budgets)), classifier.nb_classes)
    kwargs: dict[str, Any] = {"norm": norm, "eps": eps, "batch_size": batch_size}
    if name == "fgsm":
        kwargs["eps_step"] = eps.copy()
    else:
        kwargs.update(eps_step=eps * step_ratio, max_iter=max_iter, verbose=False)
        if name == "pgd":
            kwargs["num_random_init"] = 0
    attack = getattr(evasion, SWEEP[name])(classifier, **kwargs)
    x_adv = attack.generate(x_all, y=y_all)
    ok = correct(classifier, x_adv, np.tile(y, len(budgets)), batch_size).reshape(len(budgets), n)
    return {float(b): ok[i] for i, b in enumerate(budgets)}


def run_apgd(
    classifier: Any,
    x: np.ndarray,
    y: np.ndarray,
    eps: float,
    *,
    loss_type: str,
    targets: int,
    norm: Any,
    max_iter: int,
    batch_size: int,
) -> np.ndarray:
    """ART's AutoPGD (Croce & Hein 2020) with one random start: untargeted for
    ``cross_entropy``; for ``difference_logits_ratio`` targeted at the ``targets`` most likely
    wrong classes of the clean logits in turn, each run only on the samples still robust
    (AutoAttack's APGD-T cascade). Returns ``(n,)`` bool still correct."""
    from art.attacks.evasion import AutoProjectedGradientDescent

    ok = np.ones(len(x), dtype=bool)
    if len(x) == 0:
        return ok
    common = {"norm": norm, "eps": eps, "eps_step": 2 * eps, "max_iter": max_iter,
              "nb_random_init": 1, "batch_size": batch_size, "verbose": False}  # fmt: skip
    if loss_type == "cross_entropy":
        attack = AutoProjectedGradientDescent(classifier, loss_type=loss_type, **common)
        x_adv = attack.generate(x, y=_onehot(y, classifier.nb_classes))
        return correct(classifier, x_adv, y, batch_size)
    logits = classifier.predict(x, batch_size=batch_size).astype(np.float64)
    logits[np.arange(len(x)), y] = -np.inf
    ranked = np.argsort(-logits, axis=1)
    attack = AutoProjectedGradientDescent(classifier, loss_type=loss_type, targeted=True, **common)
    for t in range(min(targets, classifier.nb_classes - 1)):
        idx = np.flatnonzero(ok)
        if idx.size == 0:
            break
        target = _onehot(ranked[idx, t], classifier.nb_classes)
        x_adv = attack.generate(x[idx], y=target)
        ok[idx] = correct(classifier, x_adv, y[idx], batch_size)
    return ok


def run_square(
    classifier: Any, x: np.ndarray, y: np.ndarray, eps: float, *, norm: Any, max_iter: int,
    batch_size: int,
) -> np.ndarray:  # fmt: skip
    """ART's Square attack (Andriushchenko et al. 2020, score-based black box: predictions
    only). Returns ``(n,)`` bool still correct."""
    from art.attacks.evasion import SquareAttack

    if len(x) == 0:
        return np.zeros(0, dtype=bool)
    attack = SquareAttack(
        classifier, norm=norm, eps=eps, max_iter=max_iter, p_init=0.8, nb_restarts=1,
        batch_size=batch_size, verbose=False,
    )  # fmt: skip
    x_adv = attack.generate(x, y=_onehot(y, classifier.nb_classes))
    return correct(classifier, x_adv, y, batch_size)


def run_transfer(
    classifier: Any, surrogate: Any, x: np.ndarray, y: np.ndarray, eps: float, *, norm: Any,
    max_iter: int, step_ratio: float, batch_size: int,
) -> np.ndarray:  # fmt: skip
    """PGD (no random start) on the ``surrogate`` classifier, evaluated on ``classifier``.
    Returns ``(n,)`` bool still correct."""
    from art.attacks.evasion import ProjectedGradientDescent

    if len(x) == 0:
        return np.zeros(0, dtype=bool)
    attack = ProjectedGradientDescent(
        surrogate, norm=norm, eps=eps, eps_step=eps * step_ratio, max_iter=max_iter,
        num_random_init=0, batch_size=batch_size, verbose=False,
    )  # fmt: skip
    x_adv = attack.generate(x, y=_onehot(y, surrogate.nb_classes))
    return correct(classifier, x_adv, y, batch_size)


def noise_correct(
    classifier: Any, x: np.ndarray, y: np.ndarray, eps: float, *, norm: Any, draws: int,
    clip: tuple[float, float] | None, rng: np.random.Generator, batch_size: int,
) -> np.ndarray:  # fmt: skip
    """Random noise of the full budget (L-inf: a random corner of the eps box; L2: a random
    direction of length eps), ``draws`` draws per sample in one batch. Returns ``(n,)`` bool:
    correct under every draw."""
    if len(x) == 0:
        return np.zeros(0, dtype=bool)
    shape = (draws,) + x.shape
    if norm == np.inf:
        delta = eps * rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=shape)
    else:
        delta = rng.standard_normal(shape).astype(np.float32)
        flat = delta.reshape(draws, len(x), -1)
        flat *= eps / np.linalg.norm(flat, axis=2, keepdims=True)
    x_noisy = (x[None] + delta).astype(np.float32)
    if clip is not None:
        np.clip(x_noisy, clip[0], clip[1], out=x_noisy)
    ok = correct(classifier, x_noisy.reshape((-1,) + x.shape[1:]), np.tile(y, draws), batch_size)
    return ok.reshape(draws, len(x)).all(0)


def gradient_norms(
    classifier: Any, x: np.ndarray, y: np.ndarray, batch_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample L-inf norm of the loss gradient w.r.t. the input (``(n,)`` float64) and
    whether every component is finite (``(n,)`` bool), in batches."""
    norms, finite = [], []
    for start in range(0, len(x), batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        g = np.asarray(classifier.loss_gradient(xb, _onehot(yb, classifier.nb_classes)))
        g = g.reshape(len(xb), -1).astype(np.float64)
        fin = np.isfinite(g).all(1)
        norms.append(np.where(fin, np.abs(np.where(np.isfinite(g), g, 0)).max(1), np.nan))
        finite.append(fin)
    if not norms:
        return np.zeros(0), np.zeros(0, dtype=bool)
    return np.concatenate(norms), np.concatenate(finite)
