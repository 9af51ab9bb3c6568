"""A defence: search a generator's latent space for backdoor outputs, and a static check for
expansion layers (seed §3.3; the paper only sketches defences, none is public)."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ..._validation import Interval, InvalidParameterError, Options, check_params
from .estimators import PyTorchGenerator

__all__ = ["DetectionResult", "GeneratorBackdoorDetector", "inspect_architecture"]


@dataclass
class DetectionResult:
    """Outcome of :meth:`GeneratorBackdoorDetector.detect`.

    Attributes: ``score`` (the largest anomaly found), ``is_backdoored`` (``score > threshold``),
    ``threshold``, ``z`` (the most suspicious latent code, float32 ``(L,)``), ``x`` (its output,
    float32 ``output_shape``), ``scores`` (the final score of every start, ``(n_starts,)``) and
    ``baseline`` (the median raw anomaly of the random starting codes, before the search).
    """

    score: float
    is_backdoored: bool
    threshold: float
    z: np.ndarray
    x: np.ndarray
    scores: np.ndarray = field(repr=False)
    baseline: float = float("nan")


def inspect_architecture(generator: Any, reference: Any) -> dict[str, Any]:
    """Static check: parameters of ``generator`` that a trusted ``reference`` does not have.

    A suspect tensor matches a reference tensor when the reference's name is a dotted suffix of
    the suspect's (``base.fc.0.weight`` matches ``fc.0.weight``, so a wrapped copy still matches)
    and the shapes agree. Unmatched tensors are *extra* (e.g. ReX expansion layers); matched ones
    whose values differ are *modified* (e.g. ReD or fine-tuning).

    :param generator: The suspect (``nn.Module`` or ART estimator with ``.model``).
    :param reference: The trusted model of the same architecture.
    :return: ``{"extra": [names], "n_extra_parameters": int, "modified": [names],
             "missing": [reference names without a match], "flagged": bool}`` (flagged when any
             tensor is extra or missing).
    """
    sus = dict(getattr(generator, "model", generator).state_dict())
    ref = dict(getattr(reference, "model", reference).state_dict())
    matched_ref: set[str] = set()
    extra, modified = [], []
    for name, tensor in sus.items():
        hit = next(
            (
                r
                for r in ref
                if r not in matched_ref
                and (name == r or name.endswith("." + r))
                and ref[r].shape == tensor.shape
            ),
            None,
        )
        if hit is None:
            extra.append(name)
            continue
        matched_ref.add(hit)
        if not torch.equal(ref[hit].cpu(), tensor.cpu()):
            modified.append(name)
    missing = [r for r in ref if r not in matched_ref]
    n_extra = int(sum(sus[n].numel() for n in extra))
    return {
        "extra": extra,
        "n_extra_parameters": n_extra,
        "modified": modified,
        "missing": missing,
        "flagged": bool(extra or missing),
    }


class GeneratorBackdoorDetector:
    r"""Flag a generator whose latent space hides outputs far from its benign distribution.

    From ``n_starts`` random codes :math:`z \sim \mathcal{N}(0, I)`, Adam maximises an anomaly
    score of :math:`G(z)`, projecting every code back into the ball of radius
    ``latent_radius`` (default :math:`\sqrt{L} + 3`, beyond which Gaussian codes are practically
    never drawn, so the search stays where triggers can live). The generator's score is the
    largest anomaly found; it is flagged when that exceeds ``threshold``.

    - ``score="feature"``: squared Mahalanobis distance of ``feature_extractor.features(G(z))``
      from the benign feature distribution (mean and Ledoit–Wolf covariance of the features of
      the real samples given to :meth:`fit`). Needs no reference generator. Default threshold:
      the largest score of the fitted real samples.
    - ``score="difference"``: ``mean((G(z) - G_ref(z))**2)`` against a trusted ``reference``
      generator (for generators derived from it, e.g. by ReD or ReX). Default threshold 0.1.

    ``statistic="max"`` reports the largest anomaly found. ``statistic="peak_ratio"`` divides it
    by the median anomaly of the random starting codes (before the search): a backdoor is a
    *localised* excursion (one trigger basin), while benign drift, e.g. a generator fine-tuned on
    clean data, raises the anomaly everywhere and so scores a ratio near that of the reference.
    With ``peak_ratio`` there is no default threshold: pass ``threshold`` (e.g. calibrated on
    clean generators) or read :attr:`DetectionResult.score` as a ranking.

    :param feature_extractor: ``nn.Module`` with a ``features`` method (e.g. a classifier trained
           on the same real data, or a discriminator); needed for ``score="feature"``.
    :param reference: Trusted :class:`PyTorchGenerator`; needed for ``score="difference"``.
    :param score: ``"auto"`` (``"difference"`` when a reference is given), ``"feature"`` or
           ``"difference"``.
    :param statistic: ``"max"`` or ``"peak_ratio"`` (above).
    :param n_starts: Random starting codes.
    :param max_iter: Adam steps.
    :param learning_rate: Adam step size on the codes.
    :param latent_radius: Bound on ``||z||``; ``None``: :math:`\sqrt{L} + 3`.
    :param threshold: Decision threshold; ``None``: the default above.
    :param random_state: Seed of the starting codes.
    :param verbose: tqdm bar over the search steps.
    :raises InvalidParameterError: a parameter out of range (at construction and in :meth:`fit`),
            or a missing extractor / reference (in :meth:`fit`).
    """

    _parameter_constraints = {
        "score": [Options(str, {"auto", "feature", "difference"})],
        "statistic": [Options(str, {"max", "peak_ratio"})],
        "n_starts": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "latent_radius": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "threshold": [Interval(numbers.Real, None, None, closed="neither"), None],
        "random_state": ["random_state"],
        "verbose": ["boolean"],
    }

    def __init__(
        self,
        feature_extractor: nn.Module | None = None,
        reference: PyTorchGenerator | None = None,
        score: str = "auto",
        statistic: str = "max",
        n_starts: int = 64,
        max_iter: int = 100,
        learning_rate: float = 0.05,
        latent_radius: float | None = None,
        threshold: float | None = None,
        random_state: Any = None,
        verbose: bool = False,
    ) -> None:
        self.feature_extractor = feature_extractor
        self.reference = reference
        self.score = score
        self.statistic = statistic
        self.n_starts = n_starts
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.latent_radius = latent_radius
        self.threshold = threshold
        self.random_state = random_state
        self.verbose = verbose
        check_params(self, self.__dict__, self._parameter_constraints)

    @property
    def mode(self) -> str:
        """The score in use (``"auto"`` resolved)."""
        if self.score != "auto":
            return self.score
        return "difference" if self.reference is not None else "feature"

    def fit(self, x: np.ndarray | None = None) -> GeneratorBackdoorDetector:
        """Fit the benign feature distribution on real samples ``x`` (float32 ``(N, C, H, W)``,
        ``N`` > 1, in the generator's output range); ``score="difference"`` needs no data.

        Sets ``mean_``, ``precision_`` and ``threshold_``.

        :raises InvalidParameterError: ``score="difference"`` without a reference generator,
                ``score="feature"`` without a feature extractor, or unusable ``x``.
        """
        check_params(self, self.__dict__, self._parameter_constraints)
        if self.mode == "difference" and not isinstance(self.reference, PyTorchGenerator):
            raise InvalidParameterError("score='difference' needs a reference PyTorchGenerator")
        if self.mode == "feature" and not hasattr(self.feature_extractor, "features"):
            raise InvalidParameterError(
                "score='feature' needs a feature_extractor (nn.Module with a features method)"
            )
        fitted = None
        if self.mode == "feature":
            from sklearn.covariance import LedoitWolf  # noqa: PLC0415

            if x is None or np.asarray(x).ndim < 2 or len(x) < 2:
                raise InvalidParameterError("fit needs real samples x of shape (N, ...), N >= 2")
            device = next(self.feature_extractor.parameters()).device
            with torch.no_grad():
                feats = self.feature_extractor.eval().features(
                    torch.as_tensor(np.asarray(x, np.float32)).to(device)
                )
            lw = LedoitWolf().fit(feats.double().cpu().numpy())
            self.mean_ = torch.as_tensor(lw.location_, dtype=torch.float32)
            self.precision_ = torch.as_tensor(lw.precision_, dtype=torch.float32)
            fitted = self._mahalanobis(feats)
        if self.threshold is not None:
            self.threshold_ = float(self.threshold)
        elif self.statistic == "peak_ratio":
            self.threshold_ = math.inf  # a ratio has no default threshold
        elif fitted is None:
            self.threshold_ = 0.1  # difference to the reference
        else:
            self.threshold_ = float(fitted.max())  # the largest score of the real samples
        return self

    def _mahalanobis(self, feats: torch.Tensor) -> torch.Tensor:
        d = feats - self.mean_.to(feats.device)
        return torch.einsum("ni,ij,nj->n", d, self.precision_.to(feats.device), d)

    def _anomaly(self, generator: PyTorchGenerator, z: torch.Tensor) -> torch.Tensor:
        out = generator.forward(z)
        if self.mode == "difference":
            with torch.no_grad():
                ref = self.reference.forward(z)
            return ((out - ref) ** 2).flatten(1).mean(1)
        # the extractor may live on another device than the generator (e.g. CPU vs CUDA)
        ext_device = next(self.feature_extractor.parameters()).device
        return self._mahalanobis(self.feature_extractor.features(out.to(ext_device)))

    def detect(self, generator: PyTorchGenerator) -> DetectionResult:
        """Search ``generator``'s latent space and decide.

        :raises InvalidParameterError: not a :class:`PyTorchGenerator`, or latent lengths differ.
        :raises sklearn.exceptions.NotFittedError: :meth:`fit` was not called.
        """
        if not hasattr(self, "threshold_"):
            from sklearn.exceptions import NotFittedError  # noqa: PLC0415

            raise NotFittedError("call fit before detect")
        if not isinstance(generator, PyTorchGenerator):
            raise InvalidParameterError("generator must be a PyTorchGenerator")
        length = generator.encoding_length
        if self.reference is not None and self.reference.encoding_length != length:
            raise InvalidParameterError("generator and reference have different latent lengths")
        radius = self.latent_radius or math.sqrt(length) + 3.0
        rng = np.random.default_rng(self.random_state)
        z0 = rng.standard_normal((self.n_starts, length)).astype(np.float32)
        z = torch.from_numpy(z0).to(generator.device).requires_grad_(True)
        model = generator.model
        frozen = list(model.parameters())
        if self.mode == "feature":
            frozen += list(self.feature_extractor.parameters())
        flags = [p.requires_grad for p in frozen]
        for p in frozen:
            p.requires_grad_(False)
        model.eval()
        optimizer = torch.optim.Adam([z], lr=self.learning_rate)
        from tqdm.auto import trange  # noqa: PLC0415

        try:
            with torch.no_grad():
                base = float(self._anomaly(generator, z).median().clamp_min(1e-12))
            for _ in trange(self.max_iter, desc="latent search", disable=not self.verbose):
                loss = -self._anomaly(generator, z).sum()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                with torch.no_grad():
                    norm = z.norm(dim=1, keepdim=True).clamp_min(1e-12)
                    z.mul_(torch.clamp(radius / norm, max=1.0))
            with torch.no_grad():
                scores = self._anomaly(generator, z).cpu().numpy().astype(np.float64)
        finally:
            for p, flag in zip(frozen, flags, strict=True):
                p.requires_grad_(flag)
        if self.statistic == "peak_ratio":
            scores = scores / base
        best = int(np.argmax(scores))
        z_best = z.detach().cpu().numpy()[best]
        return DetectionResult(
            score=float(scores[best]),
            is_backdoored=bool(scores[best] > self.threshold_),
            threshold=self.threshold_,
            z=z_best,
            x=generator.predict(z_best[None])[0],
            scores=scores,
            baseline=base,
        )
