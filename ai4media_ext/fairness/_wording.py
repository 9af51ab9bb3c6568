"""Plain-language building blocks of the report: outcome words set by the user, feature
descriptions, and counts over one common denominator ("out of every 10 people: 6 vs 8").

Source: issue #26 item 6; Gigerenzer & Hoffrage (1995) on natural frequencies over a common
reference class; Spiegelhalter (2017), "Risk and uncertainty communication" (use the same
denominator for every number compared).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import combinations
from typing import Any

from ._strings import mark

#: keys of ``FairnessReport(outcome_terms=...)``
TERM_KEYS = ("favourable", "unfavourable", "favourable_verb", "unfavourable_verb")
DEFAULT_TERMS = {"favourable": "the favourable outcome", "unfavourable": "the unfavourable outcome"}
DENOMINATORS = (10, 100, 1000)
#: largest rounding error of a shown count, relative to the rate
REL_TOL = 0.15


def check_terms(terms: Mapping[str, Any] | None) -> None:
    """``outcome_terms`` must map keys of :data:`TERM_KEYS` to non-empty strings."""
    for key, value in (terms or {}).items():
        if key not in TERM_KEYS:
            raise ValueError(f"outcome_terms: unknown key {key!r}; valid: {list(TERM_KEYS)}")
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"outcome_terms[{key!r}] must be a non-empty string, got {value!r}")


def resolve_terms(terms: Mapping[str, str] | None) -> dict[str, str]:
    """The outcome words with domain-neutral defaults: nouns "the favourable outcome" / "the
    unfavourable outcome", verbs "got <noun>"."""
    out = {**DEFAULT_TERMS, **(terms or {})}
    out.setdefault("favourable_verb", f"got {out['favourable']}")
    out.setdefault("unfavourable_verb", f"got {out['unfavourable']}")
    return out


def _round(rate: float, d: int) -> int:
    return int(math.floor(rate * d + 0.5))


def common_denominator(rates: list[float]) -> tuple[int, list[int | None]]:
    """The smallest of 10, 100, 1000 over which every rate keeps its meaning: a rate strictly
    between 0 and 1 is not shown as 0 or as everyone nor off by more than 15% of itself, and two
    rates that differ by 2 points or more are not shown as the same count. Missing rates (NaN)
    give ``None``."""
    finite = [r for r in rates if r == r]
    for d in DENOMINATORS:
        counts = [_round(r, d) for r in finite]
        edges = all(
            0 < k < d and abs(k / d - r) <= REL_TOL * r
            for r, k in zip(finite, counts, strict=True)
            if 0 < r < 1
        )
        distinct = all(
            ki != kj
            for (ri, ki), (rj, kj) in combinations(zip(finite, counts, strict=True), 2)
            if abs(ri - rj) >= 0.02
        )
        if edges and distinct:
            break
    return d, [_round(r, d) if r == r else None for r in rates]


def count_of(rate: float, count: int | None, d: int) -> str:
    """One count out of ``d`` as words: "6", "fewer than 1", "more than 999", "none measured"."""
    if count is None:
        return "no one to count"
    if count == 0 and rate > 0:
        return "fewer than 1"
    if count == d and rate < 1:
        return f"more than {d - 1:,}"
    return f"{count:,}"


def compare(u_rate: float, p_rate: float, u: str, p: str, people: bool = True) -> str:
    """ "Out of every 10 people: 6 in the U group vs 8 in the P group" (group names marked)."""
    d, (a, b) = common_denominator([u_rate, p_rate])
    return (
        f"Out of every {d:,}{' people' if people else ''}: {count_of(u_rate, a, d)} in the "
        f"{mark(u)} group vs {count_of(p_rate, b, d)} in the {mark(p)} group"
    )


def share_of_people(rate: float) -> str:
    """A single share as words: "no one", "everyone", "3 out of every 100 people"."""
    if rate != rate:
        return "no one (no records)"
    if rate <= 0:
        return "no one"
    if rate >= 1:
        return "everyone"
    d, (k,) = common_denominator([rate])
    return f"{count_of(rate, k, d)} out of every {d:,} people"


def people(n: int) -> str:
    """ "no people", "1 person", "3 people"."""
    return "no people" if n == 0 else "1 person" if n == 1 else f"{n:,} people"


def percent(rate: float) -> str:
    return "not measurable" if rate is None or rate != rate else f"{100 * rate:.1f}%"


def humanise(name: str) -> str:
    """Last resort for a feature without a description: underscores as spaces."""
    return str(name).replace("_", " ")


def describe_feature(report: Any, name: str) -> str:
    """The plain description of a feature: the user's mapping, else the data set's metadata,
    else the humanised name."""
    return str(report.feature_descriptions_.get(name) or humanise(name))


def describe_value(report: Any, feature: str, value: str) -> str:
    """A category value in words: the user's ``"feature=value"`` entry, else the data set's
    ``category_descriptions``, else the value itself."""
    user = report.feature_descriptions_.get(f"{feature}={value}")
    meta = report.category_descriptions_.get(feature, {}).get(value)
    return str(user or meta or value)
