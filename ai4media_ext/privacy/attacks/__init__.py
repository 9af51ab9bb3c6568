"""Privacy attacks on federated learning: gradient inversion of a client's update (extra ``[art]``).

Names load on first use, so ``import ai4media_ext.privacy.attacks`` imports neither torch nor ART.
"""

from __future__ import annotations

from ..._compat import lazy_exports

__all__ = ["GradientInversionAttack", "infer_labels", "match_reconstructions"]

_LAZY = {
    "GradientInversionAttack": "gradient_inversion",
    "infer_labels": "gradient_inversion",
    "match_reconstructions": "metrics",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
