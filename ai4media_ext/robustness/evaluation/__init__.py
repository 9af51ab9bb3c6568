"""Robustness evaluation that catches gradient masking: :class:`RobustnessEvaluation` runs a
battery of ART attacks on any ART classifier and the checks of Carlini et al. (2019);
``checks`` holds the checks as pure functions of an accuracy table, ``battery`` the batched
attack runners."""

from .checks import CHECKS
from .evaluator import ATTACKS, RobustnessEvaluation

__all__ = ["ATTACKS", "CHECKS", "RobustnessEvaluation"]
