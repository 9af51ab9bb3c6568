"""``RobustnessEvaluation``: an ART classifier under a battery of attacks, with the gradient-
masking checks of Carlini et al. (2019) and a verdict per check."""

from __future__ import annotations

import contextlib
import numbers
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..._compat import require
from ..._validation import (
    Interval,
    InvalidParameterError,
    Options,
    check_array,
    check_labels,
    check_params,
)
from . import battery, checks
from .report import plot_curves, summary_table

require("art", "art")

from tqdm.auto import tqdm  # noqa: E402

__all__ = ["ATTACKS", "RobustnessEvaluation"]

#: the battery, in run order
ATTACKS = ("fgsm", "pgd", "mim", "apgd_ce", "apgd_dlr", "square", "transfer", "noise")
_POS = Interval(numbers.Real, 0, None, closed="neither")
_INT1 = Interval(numbers.Integral, 1, None, closed="left")
_FRACTION = Interval(numbers.Real, 0, 1, closed="both")


@contextlib.contextmanager
def _numpy_seed(seed: int | None) -> Iterator[None]:
    """ART's random starts and Square's draws use NumPy's global generator: seed it for the
    block, restore its state after."""
    if seed is None:
        yield
        return
    state = np.random.get_state()  # noqa: NPY002
    np.random.seed(seed)  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


class RobustnessEvaluation:
    """Robust accuracy of an ART classifier under a battery of attacks, and the checks that
    detect gradient masking (Carlini et al., "On Evaluating Adversarial Robustness",
    arXiv:1902.06705, 2019; Athalye, Carlini & Wagner, ICML 2018).

    The battery (ART's own attacks): FGSM, PGD without random start (= BIM), MIM (momentum 1),
    AutoPGD with cross-entropy (untargeted) and with the DLR loss targeted at the ``targets`` most
    likely wrong classes (AutoAttack's APGD-T cascade; ART's targeted DLR form), the score-based
    black-box Square attack, a PGD transfer attack from ``surrogate`` and random noise of the full
    budget. FGSM, PGD and MIM also run over ``eps_curve`` and a budget covering the whole input
    range, all budgets in one batched call.

    Checks (``checks_``, each ``{"flag", "evaluated", "evidence"}``): ``iterative_weaker``
    (an iterative attack > ``tolerance`` weaker than FGSM), ``blackbox_stronger`` (Square or
    transfer > ``tolerance`` stronger than every white-box attack), ``noise_stronger`` (random
    noise stronger than white-box), ``unbounded_budget`` (PGD/MIM at the input range leave more
    than ``unbounded_accuracy``), ``non_monotone`` (PGD/MIM accuracy rising with the budget by more
    than ``tolerance``), ``gradients`` (non-finite input gradients, or more than
    ``vanishing_fraction`` of the correctly classified inputs with ``|grad|_inf <=
    gradient_threshold``).

    Work is shared: one clean prediction, then only the clean-correct samples are attacked (a
    clean error is non-robust under every attack); the targeted cascade attacks only the samples
    still robust; each attack ends with one batched prediction.

    :param classifier: ART classifier with loss gradients (``loss_gradient``; ``clip_values``
                       recommended). APGD needs a PyTorch or TensorFlow classifier (ART's rule).
    :param norm: ``np.inf`` (or ``"inf"``) or 2.
    :param eps: The evaluation budget (> 0), in the classifier's input units.
    :param eps_curve: Budgets of the accuracy-vs-budget curves (default ``eps`` x (1/4, 1/2, 1, 2,
                      4)); ``eps`` and the input-range budget are always added.
    :param attacks: Names from :data:`ATTACKS` to run (default: all; ``transfer`` needs a
                    ``surrogate``).
    :param max_iter: Iterations of PGD, MIM, AutoPGD and the transfer PGD (>= 1).
    :param step_ratio: PGD/MIM step as a fraction of the budget (> 0; AutoPGD starts at 2 eps).
    :param targets: Target classes of the targeted APGD-DLR cascade (>= 1).
    :param square_iter: Queries of the Square attack (>= 1).
    :param noise_draws: Random-noise draws per sample (>= 1).
    :param surrogate: ART classifier to craft the transfer attack on (e.g. an independently
                      trained undefended model), or ``None``.
    :param tolerance: Accuracy difference (fraction) that counts as evidence (in [0, 1]).
    :param unbounded_accuracy: Largest accuracy accepted at the input-range budget (in [0, 1]).
    :param gradient_threshold: ``|grad|_inf`` at or below which a gradient counts as vanished.
    :param vanishing_fraction: Largest fraction of vanished gradients accepted (in [0, 1]).
    :param batch_size: Batch size of every attack and prediction (>= 1).
    :param random_state: Seed of the random starts, Square's draws and the noise (int or None).
    :param verbose: Show a tqdm progress bar over the battery.
    :raises InvalidParameterError: A parameter outside the ranges above (names it).
    """

    _parameter_constraints = {
        "norm": [Options(float, {np.inf, 2.0}), Options(int, {2}), Options(str, {"inf"})],
        "eps": [_POS],
        "eps_curve": [list, tuple, np.ndarray, None],
        "attacks": [list, tuple],
        "max_iter": [_INT1],
        "step_ratio": [_POS],
        "targets": [_INT1],
        "square_iter": [_INT1],
        "noise_draws": [_INT1],
        "tolerance": [_FRACTION],
        "unbounded_accuracy": [_FRACTION],
        "gradient_threshold": [Interval(numbers.Real, 0, None, closed="left")],
        "vanishing_fraction": [_FRACTION],
        "batch_size": [_INT1],
        "random_state": [Interval(numbers.Integral, 0, None, closed="left"), None],
        "verbose": ["boolean"],
    }

    def __init__(
        self,
        classifier: Any,
        *,
        norm: float | int | str = np.inf,
        eps: float = 0.03,
        eps_curve: Sequence[float] | None = None,
        attacks: Sequence[str] = ATTACKS,
        max_iter: int = 20,
        step_ratio: float = 0.25,
        targets: int = 3,
        square_iter: int = 1000,
        noise_draws: int = 10,
        surrogate: Any = None,
        tolerance: float = 0.02,
        unbounded_accuracy: float = 0.05,
        gradient_threshold: float = 1e-20,
        vanishing_fraction: float = 0.1,
        batch_size: int = 256,
        random_state: int | None = None,
        verbose: bool = False,
    ) -> None:
        self.classifier, self.surrogate = classifier, surrogate
        self.norm, self.eps, self.eps_curve, self.attacks = norm, eps, eps_curve, attacks
        self.max_iter, self.step_ratio, self.targets = max_iter, step_ratio, targets
        self.square_iter, self.noise_draws = square_iter, noise_draws
        self.tolerance, self.unbounded_accuracy = tolerance, unbounded_accuracy
        self.gradient_threshold, self.vanishing_fraction = gradient_threshold, vanishing_fraction
        self.batch_size, self.random_state, self.verbose = batch_size, random_state, verbose
        self._check_params()

    def _check_params(self) -> None:
        check_params(self, {k: getattr(self, k) for k in self._parameter_constraints},
                     self._parameter_constraints)  # fmt: skip
        unknown = [a for a in self.attacks if a not in ATTACKS]
        if unknown or not self.attacks:
            raise InvalidParameterError(
                f"The 'attacks' parameter of RobustnessEvaluation must name attacks among "
                f"{ATTACKS}. Got {list(self.attacks)!r} instead."
            )
        if self.eps_curve is not None:
            curve = np.asarray(self.eps_curve, dtype=np.float64)
            if curve.ndim != 1 or not np.all(np.isfinite(curve)) or np.any(curve <= 0):
                raise InvalidParameterError(
                    "The 'eps_curve' parameter of RobustnessEvaluation must be a 1-d sequence "
                    f"of positive budgets. Got {self.eps_curve!r} instead."
                )
        if list(self.attacks) == ["transfer"] and self.surrogate is None:
            raise InvalidParameterError("the transfer attack alone needs a surrogate classifier")
        if "transfer" in self.attacks and self.surrogate is not None:
            if not hasattr(self.surrogate, "loss_gradient"):
                raise InvalidParameterError(
                    "surrogate must be an ART classifier with loss gradients, got "
                    f"{type(self.surrogate).__name__}"
                )
        if not hasattr(self.classifier, "predict") or not hasattr(self.classifier, "nb_classes"):
            raise InvalidParameterError(
                f"classifier must be an ART classifier, got {type(self.classifier).__name__}"
            )

    @property
    def _norm(self) -> float:
        return np.inf if self.norm in ("inf", np.inf) else 2

    def _budgets(self, x: np.ndarray) -> tuple[list[float], float]:
        """The sweep budgets (sorted, ``eps`` included) and the input-range budget."""
        clip = getattr(self.classifier, "clip_values", None)
        span = (
            float(np.max(np.asarray(clip[1]) - np.asarray(clip[0])))
            if clip is not None
            else float(x.max() - x.min())
        )
        full = span if self._norm == np.inf else span * float(np.sqrt(np.prod(x.shape[1:])))
        curve = (
            self.eps * np.array([0.25, 0.5, 1, 2, 4]) if self.eps_curve is None else self.eps_curve
        )
        budgets = sorted({float(self.eps), full, *(float(e) for e in curve if e < full)})
        return budgets, full

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        """Run the battery and the checks on ``x`` (never modified).

        :param x: ``(n, *input_shape)`` float inputs in the classifier's units.
        :param y: True labels, index ``(n,)`` / ``(n, 1)`` or one-hot ``(n, nb_classes)``.
        :return: ``{"clean": float, "table": {attack: {eps: accuracy}}, "worst_case": float,
                 "worst_case_curve": {eps: accuracy}, "checks": {...}, "masked": bool}``
                 (worst case: a sample counts as robust at a budget only if no attack at that
                 or any smaller budget changed its class); the
                 same values are kept as ``clean_accuracy_``, ``table_``, ``worst_case_``,
                 ``worst_case_curve_``, ``checks_``, ``masked_``; ``seconds_`` holds the wall
                 time of each attack and of the gradient check.
        :raises InvalidParameterError: ``x`` not numeric/finite or of another shape than the
                 classifier's input, bad labels (naming ``y``).
        """
        x = check_array(x, name="x", dtype=np.float32)
        if tuple(x.shape[1:]) != tuple(self.classifier.input_shape):
            raise InvalidParameterError(
                f"x must have shape (n, {', '.join(map(str, self.classifier.input_shape))}), "
                f"got {x.shape}"
            )
        y = check_labels(y, len(x), self.classifier.nb_classes)
        with _numpy_seed(self.random_state):
            self._run(x, y)
        return {"clean": self.clean_accuracy_, "table": self.table_,
                "worst_case": self.worst_case_, "worst_case_curve": self.worst_case_curve_,
                "checks": self.checks_, "masked": self.masked_}  # fmt: skip

    def _run(self, x: np.ndarray, y: np.ndarray) -> None:
        n, b = len(x), self.batch_size
        clean = battery.correct(self.classifier, x, y, b)
        idx = np.flatnonzero(clean)
        xc, yc = x[idx], y[idx]
        budgets, full = self._budgets(x)
        names = [a for a in ATTACKS if a in self.attacks]
        if self.surrogate is None and "transfer" in names:
            names.remove("transfer")
        per_sample: dict[str, dict[float, np.ndarray]] = {}
        self.seconds_: dict[str, float] = {}
        steps = tqdm(names + ["gradients"], desc="RobustnessEvaluation", disable=not self.verbose)
        for name in steps:
            steps.set_postfix_str(name)
            start = time.perf_counter()
            if name == "gradients":
                grad_norms, grad_finite = battery.gradient_norms(self.classifier, xc, yc, b)
            else:
                per_sample[name] = self._attack(name, xc, yc, budgets)
            self.seconds_[name] = time.perf_counter() - start
        self.clean_accuracy_ = float(clean.mean())
        self.table_ = {a: {e: float(ok.sum() / n) for e, ok in d.items()}
                       for a, d in per_sample.items()}  # fmt: skip
        # an adversarial example found within a smaller budget is one within every larger one
        self.worst_case_curve_ = {}
        robust = np.ones(len(idx), dtype=bool)
        for e in budgets:
            for d in per_sample.values():
                if e in d:
                    robust &= d[e]
            self.worst_case_curve_[e] = float(robust.sum() / n)
        self.worst_case_ = self.worst_case_curve_[float(self.eps)]
        self.eps_max_ = full
        tol, e = self.tolerance, float(self.eps)
        self.checks_ = {
            "iterative_weaker": checks.iterative_weaker(self.table_, tol),
            "blackbox_stronger": checks.blackbox_stronger(self.table_, e, tol),
            "noise_stronger": checks.noise_stronger(self.table_, e, tol),
            "unbounded_budget": checks.unbounded_budget(self.table_, full, self.unbounded_accuracy),
            "non_monotone": checks.non_monotone(self.table_, tol),
            "gradients": checks.gradients(
                grad_norms, grad_finite, self.gradient_threshold, self.vanishing_fraction
            ),
        }
        self.masked_ = any(c["flag"] for c in self.checks_.values())

    def _attack(
        self, name: str, x: np.ndarray, y: np.ndarray, budgets: list[float]
    ) -> dict[float, np.ndarray]:
        clf, norm, b, e = self.classifier, self._norm, self.batch_size, float(self.eps)
        if name in battery.SWEEP:
            return battery.run_sweep(name, clf, x, y, budgets, norm=norm, max_iter=self.max_iter,
                                     step_ratio=self.step_ratio, batch_size=b)  # fmt: skip
        if name in ("apgd_ce", "apgd_dlr"):
            loss = "cross_entropy" if name == "apgd_ce" else "difference_logits_ratio"
            ok = battery.run_apgd(clf, x, y, e, loss_type=loss, targets=self.targets, norm=norm,
                                  max_iter=self.max_iter, batch_size=b)  # fmt: skip
        elif name == "square":
            ok = battery.run_square(clf, x, y, e, norm=norm, max_iter=self.square_iter,
                                    batch_size=b)  # fmt: skip
        elif name == "transfer":
            ok = battery.run_transfer(clf, self.surrogate, x, y, e, norm=norm,
                                      max_iter=self.max_iter, step_ratio=self.step_ratio,
                                      batch_size=b)  # fmt: skip
        else:  # noise
            rng = np.random.default_rng(self.random_state)
            ok = battery.noise_correct(clf, x, y, e, norm=norm, draws=self.noise_draws,
                                       clip=getattr(clf, "clip_values", None), rng=rng,
                                       batch_size=b)  # fmt: skip
        return {e: ok}

    def to_dict(self, prefix: str = "") -> dict[str, float]:
        """Flat numbers: ``<prefix>clean``, ``<prefix><attack>`` (at ``eps``),
        ``<prefix><attack>_eps<budget>`` (curves), ``<prefix>worst_case``,
        ``<prefix>worst_case_eps<budget>`` and ``<prefix>masking_<check>`` (0/1).

        :raises RuntimeError: Called before :meth:`evaluate`.
        """
        if not hasattr(self, "checks_"):
            raise RuntimeError("call evaluate(x, y) first")
        out = {f"{prefix}clean": self.clean_accuracy_, f"{prefix}worst_case": self.worst_case_}
        for attack, curve in self.table_.items():
            for e, acc in curve.items():
                if e == float(self.eps):
                    out[f"{prefix}{attack}"] = acc
                if len(curve) > 1:
                    out[f"{prefix}{attack}_eps{e:g}"] = acc
        for e, acc in self.worst_case_curve_.items():
            out[f"{prefix}worst_case_eps{e:g}"] = acc
        for name, verdict in self.checks_.items():
            out[f"{prefix}masking_{name}"] = int(verdict["flag"])
        return out

    def summary(self) -> str:
        """A Markdown table (attack x budget) followed by the verdict and evidence per check.

        :raises RuntimeError: Called before :meth:`evaluate`.
        """
        if not hasattr(self, "checks_"):
            raise RuntimeError("call evaluate(x, y) first")
        return summary_table(self)

    def plot(self, path: Any = None, ax: Any = None) -> Any:
        """Accuracy-vs-budget curves of the sweep attacks and the worst case (log budget axis);
        written as PNG to ``path`` (atomically) when given. Returns the matplotlib figure.

        :raises RuntimeError: Called before :meth:`evaluate`.
        """
        if not hasattr(self, "checks_"):
            raise RuntimeError("call evaluate(x, y) first")
        return plot_curves(self, path, ax)
