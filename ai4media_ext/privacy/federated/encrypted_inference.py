"""Inference on CKKS-encrypted inputs (seed Fig. 17): a fitted linear model scores encrypted
feature vectors; only the data owner can decrypt the scores."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._ckks import make_context


def inference_context() -> Any:
    """CKKS context for one plaintext-weight dot product + bias: N = 8192, [60, 40, 40, 60]
    (200 <= 218 bits, 128-bit security), scale 2^40, Galois keys for the slot sum."""
    ctx = make_context(8192, (60, 40, 40, 60), 40)
    ctx.generate_galois_keys()
    return ctx


class EncryptedLinearScorer:
    """Scores of a fitted scikit-learn linear classifier (``coef_``, ``intercept_``) on
    encrypted inputs: ``enc(x) . w_c + b_c`` per class, computed without the secret key.

    Parameters
    ----------
    model : fitted scikit-learn linear classifier (e.g. ``LogisticRegression``)
        ``coef_`` of shape ``(n_classes, d)`` (or ``(1, d)`` for two classes), ``intercept_``.

    Raises
    ------
    TypeError
        ``model`` has no ``coef_`` / ``intercept_`` (not fitted, or not linear).

    Source: AI4Media D4.1 §5.4, Fig. 17 (inference on encrypted data, CKKS: Cheon et al.,
    ASIACRYPT 2017, through TenSEAL).
    """

    def __init__(self, model: Any) -> None:
        if not hasattr(model, "coef_") or not hasattr(model, "intercept_"):
            raise TypeError("model must be a fitted linear classifier with coef_ and intercept_")
        self.coef_ = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))
        self.intercept_ = np.asarray(model.intercept_, dtype=np.float64).ravel()
        self.classes_ = np.asarray(getattr(model, "classes_", np.arange(len(self.intercept_))))

    @staticmethod
    def encrypt(ctx: Any, x: np.ndarray) -> list[Any]:
        """Data owner: one CKKS vector per row of ``x`` (``(n, d)`` float)."""
        import tenseal as ts

        return [ts.ckks_vector(ctx, row.tolist()) for row in np.asarray(x, dtype=np.float64)]

    def scores(self, encrypted_rows: list[Any]) -> list[list[Any]]:
        """Model owner: encrypted class scores per row (no secret key needed)."""
        return [[row.dot(w.tolist()) + float(b) for w, b in zip(self.coef_, self.intercept_, strict=True)]
                for row in encrypted_rows]  # fmt: skip

    def decrypt_predict(self, encrypted_scores: list[list[Any]]) -> np.ndarray:
        """Data owner: decrypt the scores and take the predicted class; returns ``(n,)`` labels
        from ``classes_`` (needs the secret key)."""
        s = np.array([[c.decrypt()[0] for c in row] for row in encrypted_scores])
        if s.shape[1] == 1:  # binary: one score, positive means classes_[1]
            return self.classes_[(s[:, 0] > 0).astype(int)]
        return self.classes_[s.argmax(1)]
