"""Distributed differential privacy for secure aggregation (DP-FedAvg with the noise split
among the clients): each client clips its update and adds a Gaussian share of std
sigma / sqrt(n_min), so the securely aggregated sum carries the central noise sigma
(McMahan et al., ICLR 2018, DP-FedAvg; Kairouz et al., ICML 2021, distributed DP with SecAgg).
Privacy is accounted with Opacus's RDP accountant (Mironov 2017)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
from flwr.app import Array, ArrayRecord, Context, Message, MessageType

from ..._validation import Interval, check_params
from ._secagg import MIN_SURVIVORS
from .secaggplus_mod import STATE_KEY

_POSITIVE = Interval(numbers.Real, 0, float("inf"), closed="neither")


def distributed_noise_std(noise_multiplier: float, clipping_norm: float, n_clients: int) -> float:
    """Std of each client's Gaussian noise share: ``noise_multiplier * clipping_norm /
    sqrt(n_clients)``, so that the sum over ``n_clients`` (or more) clients carries noise of
    std ``noise_multiplier * clipping_norm`` (the central Gaussian mechanism on a sum of
    updates clipped to L2 norm ``clipping_norm``).

    Dropout rule: pass the fewest clients whose sum can be released (``n_min``; under
    :class:`SecAggPlus` the ``min_survivors`` the server aborts below). With ``m >= n_min``
    survivors the sum's noise std is ``sigma * sqrt(m / n_min) >= sigma``; ``k`` colluding
    clients who subtract their own shares leave ``sigma * sqrt((m - k) / n_min)``.

    Raises
    ------
    InvalidParameterError
        ``noise_multiplier`` or ``clipping_norm`` not finite > 0, ``n_clients`` not an int >= 1.
    """
    check_params(
        "distributed_noise_std",
        {"noise_multiplier": noise_multiplier, "clipping_norm": clipping_norm,
         "n_clients": n_clients},
        {"noise_multiplier": [_POSITIVE], "clipping_norm": [_POSITIVE],
         "n_clients": [Interval(numbers.Integral, 1, None, closed="left")]},
    )  # fmt: skip
    return float(noise_multiplier) * float(clipping_norm) / math.sqrt(int(n_clients))


def gaussian_epsilon(
    noise_multiplier: float, rounds: int, delta: float, *, sample_rate: float = 1.0
) -> float:
    """(epsilon, ``delta``)-DP of ``rounds`` releases of a Gaussian-noised sum (std
    ``noise_multiplier`` x L2 sensitivity), each client taking part with probability
    ``sample_rate`` (1: every round), from Opacus's RDP accountant (add/remove-one-client
    neighbouring). One round: ``rounds = 1``."""
    from opacus.accountants import RDPAccountant

    accountant = RDPAccountant()
    accountant.history = [(float(noise_multiplier), float(sample_rate), int(rounds))]
    return float(accountant.get_epsilon(delta=float(delta)))


def noise_multiplier_for(
    epsilon: float, delta: float, rounds: int, *, sample_rate: float = 1.0
) -> float:
    """Smallest noise multiplier giving (``epsilon``, ``delta``)-DP over ``rounds`` rounds
    (Opacus ``get_noise_multiplier`` with the RDP accountant)."""
    from opacus.accountants.utils import get_noise_multiplier

    return float(
        get_noise_multiplier(
            target_epsilon=float(epsilon), target_delta=float(delta), sample_rate=sample_rate,
            steps=int(rounds), accountant="rdp", epsilon_tolerance=0.005,
        )
    )  # fmt: skip


class DistributedDPMod:
    """Client mod: clip the update (new - received weights) to L2 norm ``clipping_norm`` and
    add its share of Gaussian noise, std :func:`distributed_noise_std` (``noise_multiplier``,
    ``clipping_norm``, ``n_min``), before :class:`SecAggPlusMod` masks it.

    Use ``ClientApp(mods=[SecAggPlusMod(), DistributedDPMod(...)])`` with a
    :class:`SecAggPlus` server. ``n_min`` is the ``min_survivors`` the server announced for
    the round (it aborts below it), so every released sum carries noise
    ``sigma = noise_multiplier * clipping_norm`` or more; ``min_survivors`` here is this
    client's own floor (refuses a round announcing fewer). Alone (no secure sum) each update
    would carry only ``sigma / sqrt(n_min)``, hence the mod refuses to run without
    SecAgg+ unless ``min_survivors`` is given. The reply's weight (``weighted_by_key``) is set
    to 1: the sum is of equally weighted clipped updates, as DP-FedAvg accounts it (use
    ``max_weight=1`` on the server). Privacy: :func:`gaussian_epsilon` (noise_multiplier,
    rounds, delta). No norm is reported back (metrics travel in the clear).

    Caveat: the noise is continuous Gaussian, then SecAgg+ clips each value to
    ``clipping_range`` and rounds it stochastically to its integer grid. The accounting treats
    the released sum as the continuous Gaussian mechanism; the rigorous analysis of discretised
    noise is the distributed discrete Gaussian (Kairouz et al., ICML 2021), not implemented here.
    Keep ``clipping_range`` many noise stds above the weights so clipping stays negligible.

    Parameters
    ----------
    noise_multiplier : float
        sigma / clipping_norm for the sum (finite, > 0).
    clipping_norm : float
        L2 bound of each client's update (finite, > 0).
    min_survivors : int >= 1, optional
    weighted_by_key : str, default "num-examples"
    random_state : None, int >= 0, RandomState or Generator

    Raises
    ------
    InvalidParameterError
        A parameter outside the constraints above.
    ValueError
        (inside a round) no SecAgg+ round and no ``min_survivors``; the server's
        ``min_survivors`` below this client's; not one ArrayRecord; keys changed by the app.
    """

    _parameter_constraints = {
        "noise_multiplier": [_POSITIVE],
        "clipping_norm": [_POSITIVE],
        "min_survivors": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "weighted_by_key": [str],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        noise_multiplier: float,
        clipping_norm: float,
        min_survivors: int | None = None,
        weighted_by_key: str = "num-examples",
        random_state: Any = None,
    ) -> None:
        check_params(
            self,
            {"noise_multiplier": noise_multiplier, "clipping_norm": clipping_norm,
             "min_survivors": min_survivors, "weighted_by_key": weighted_by_key,
             "random_state": random_state},
            self._parameter_constraints,
        )  # fmt: skip
        self.noise_multiplier, self.clipping_norm = float(noise_multiplier), float(clipping_norm)
        self.min_survivors, self.weighted_by_key = min_survivors, weighted_by_key
        self.random_state = random_state
        self._rng = np.random.default_rng(random_state)

    def _n_min(self, context: Context) -> int:
        state = context.state.config_records.get(STATE_KEY)
        announced = None if state is None else state.get(MIN_SURVIVORS)
        if announced is None:
            if self.min_survivors is None:
                raise ValueError(
                    "DistributedDPMod: no SecAgg+ round (put SecAggPlusMod before it) and no "
                    "min_survivors: the update would leave with a fraction of the noise"
                )
            return int(self.min_survivors)
        if self.min_survivors is not None and announced < self.min_survivors:
            raise ValueError(
                f"DistributedDPMod: the server may release a sum of {announced} clients, "
                f"fewer than this client's min_survivors {self.min_survivors}"
            )
        return int(announced)

    def __call__(
        self, msg: Message, context: Context, call_next: Callable[[Message, Context], Message]
    ) -> Message:
        if msg.metadata.message_type != MessageType.TRAIN or len(msg.content.array_records) != 1:
            return call_next(msg, context)
        std = distributed_noise_std(self.noise_multiplier, self.clipping_norm, self._n_min(context))
        sent = next(iter(msg.content.array_records.values()))
        before = {k: v.numpy().astype(np.float64) for k, v in sent.items()}
        reply = call_next(msg, context)
        if reply.has_error():
            return reply
        if len(reply.content.array_records) != 1:
            raise ValueError("DistributedDPMod: the reply must hold one ArrayRecord")
        name, out = next(iter(reply.content.array_records.items()))
        if list(out.keys()) != list(before):
            raise ValueError("DistributedDPMod: the reply's arrays differ from the ones sent")
        after = {k: v.numpy() for k, v in out.items()}
        update = np.concatenate([(after[k].astype(np.float64) - before[k]).ravel() for k in before])
        norm = float(np.linalg.norm(update))
        if norm > self.clipping_norm:
            update *= self.clipping_norm / norm
        update += self._rng.normal(0.0, std, size=update.shape)
        new, start = {}, 0
        for k, b in before.items():
            piece = b.ravel() + update[start : start + b.size]
            new[k] = Array(piece.reshape(b.shape).astype(after[k].dtype))
            start += b.size
        reply.content[name] = ArrayRecord(new)
        for record in reply.content.metric_records.values():
            if self.weighted_by_key in record:
                record[self.weighted_by_key] = 1
            record["ddp-noise-std"] = std
        return reply
