"""LPGNN's local-DP transforms: multi-bit feature perturbation and k-RR label perturbation."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import torch
from diffprivlib.accountant import BudgetAccountant
from torch_geometric.data import Data
from torch_geometric.data.datapipes import functional_transform
from torch_geometric.transforms import BaseTransform

from ..._validation import Interval, InvalidParameterError, Options, check_params
from ..mechanisms import GeneralizedRandomizedResponse, MultiBit
from ..mechanisms._base import budget_check, budget_spend

# Budgets: as everywhere in the package, ``accountant=None`` is diffprivlib's default accountant
# (BudgetAccountant.load_default); the budget is checked before anything is perturbed and spent
# after. Each call releases every node's data once (parallel composition over nodes).


def _float_features(x: Any) -> torch.Tensor:
    """``data.x`` as a floating tensor (integer/bool counts become the default float dtype)."""
    if not isinstance(x, torch.Tensor) or x.dim() != 2:
        raise InvalidParameterError(
            f"data.x must be a 2-D node feature tensor, got {getattr(x, 'shape', type(x))}"
        )
    if x.is_complex():
        raise InvalidParameterError(f"data.x must hold real numbers, got {x.dtype}")
    if x.layout != torch.strided:  # torch sparse: kept sparse (scipy CSR) for the sparse path
        import scipy.sparse as sp

        x = x.to_sparse_csr().cpu()
        dtype = x.dtype if x.is_floating_point() else torch.get_default_dtype()
        values = x.values().to(dtype).numpy()
        if not np.all(np.isfinite(values)):
            raise InvalidParameterError("data.x must be finite (no NaN or inf)")
        return sp.csr_array(
            (values, x.col_indices().numpy(), x.crow_indices().numpy()), shape=tuple(x.shape)
        )
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    if x.numel() and not torch.isfinite(x).all():
        raise InvalidParameterError("data.x must be finite (no NaN or inf)")
    return x


def _column_range(x: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-column minimum and maximum of a dense tensor or a scipy sparse matrix."""
    if isinstance(x, torch.Tensor):
        return x.min(dim=0).values, x.max(dim=0).values
    lo = torch.from_numpy(np.asarray(x.min(axis=0).todense()).reshape(-1))
    hi = torch.from_numpy(np.asarray(x.max(axis=0).todense()).reshape(-1))
    return lo, hi


@functional_transform("feature_perturbation")
class FeaturePerturbation(BaseTransform):
    r"""Perturb node features with the multi-bit mechanism and rectify them (functional name:
    :obj:`feature_perturbation`).

    As in LPGNN, each feature column is first min-max normalised to :math:`[0, 1]` with the
    range taken from the data (constant columns are dropped), then every node's vector is
    encoded by :class:`~ai4media_ext.privacy.mechanisms.MultiBit` under
    :math:`\epsilon_x`-local DP and rectified to an unbiased estimate. ``epsilon=inf`` keeps the
    normalised raw features (and charges ``inf``).

    The output features are floating point: ``x``'s own float dtype, or
    ``torch.get_default_dtype()`` for integer/bool count features (the unbiased estimates are
    not integers).

    Args:
        epsilon (float): feature privacy budget :math:`\epsilon_x` per node, in (0, inf].
        m (int or str, optional): features sampled per node (default ``"best"``, the paper's
            rule).
        random_state (int, optional): seed for reproducible perturbation (default: OS CSPRNG).
        accountant (BudgetAccountant, optional): charged :math:`\epsilon_x` per call; default:
            diffprivlib's default accountant. Checked before anything is perturbed.
        sparse (bool, optional): return the rectified features as a sparse matrix plus a
            per-column constant instead of a dense matrix (default ``False``). The encoder
            sends only ``m`` of ``d`` features per node (``m = 1`` for every
            :math:`\epsilon_x \le 3`), so the rectified matrix is
            :math:`X' = S + \mathbf{1} c^\top` with ``S`` holding ``m`` entries per row:
            ``data.x`` becomes ``S`` as a ``torch.sparse_csr`` tensor and ``data.x_offset`` the
            column offsets ``c`` (shape ``(d,)``), which :class:`LPGNN` consumes without
            densifying (``X'.to_dense()`` is ``data.x.to_dense() + data.x_offset``). With
            ``epsilon=inf``, ``S`` holds the nonzeros of the normalised raw features. Only the
            sampled entries of the input are read; memory is :math:`O(nm + d)`. The same
            seed gives the same draws as the dense output.

    Shapes:
        - **input:** ``data.x`` :math:`(|\mathcal{V}|, F)` dense (any real dtype)
        - **output:** ``data.x`` :math:`(|\mathcal{V}|, F')` (:math:`F' \le F`: constant
          columns dropped), dense or sparse CSR; ``data.x_offset`` :math:`(F')` when sparse

    Raises:
        InvalidParameterError: (a ``ValueError`` and ``TypeError``) for a bad parameter or a
            ``data.x`` that is missing, not 2-D or not finite.
        BudgetError: the accountant cannot afford :math:`\epsilon_x`.
    """

    _parameter_constraints = {
        "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "m": [Interval(numbers.Integral, 1, None, closed="left"), Options(str, {"best", "max"})],
        "random_state": ["random_state"],
        "accountant": [BudgetAccountant, None],
        "sparse": ["boolean"],
    }

    def __init__(
        self,
        epsilon: float,
        *,
        m: int | str = "best",
        random_state: Any = None,
        accountant: BudgetAccountant | None = None,
        sparse: bool = False,
    ) -> None:
        self.epsilon = epsilon
        self.m = m
        self.random_state = random_state
        self.accountant = accountant
        self.sparse = sparse
        check_params(self, self._params(), self._parameter_constraints)

    def _params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._parameter_constraints}

    def forward(self, data: Data) -> Data:
        check_params(self, self._params(), self._parameter_constraints)
        x = _float_features(getattr(data, "x", None))
        if x.shape[0] == 0:
            raise InvalidParameterError("data.x must hold at least one node")
        lo, hi = _column_range(x)
        keep = hi > lo
        if self.sparse:
            data.x, data.x_offset = self._sparse(x, lo, hi, keep)
            return data
        if not isinstance(x, torch.Tensor):  # a sparse input on the dense path
            x = torch.from_numpy(x.toarray())
        x = (x[:, keep] - lo[keep]) / (hi[keep] - lo[keep])
        if math.isinf(self.epsilon):  # raw features: an unbounded release, charged as such
            self._charge_inf()
        elif x.size(1) > 0:
            mech = self._mechanism()
            encoded = mech.randomise(x.detach().cpu().numpy())
            rectified = mech.rectify(encoded, dtype=np.float64)
            x = torch.from_numpy(rectified).to(device=x.device, dtype=x.dtype)
        data.x = x
        return data

    def _mechanism(self) -> MultiBit:
        return MultiBit(
            epsilon=self.epsilon,
            alpha=0.0,
            beta=1.0,
            m=self.m,
            random_state=self.random_state,
            accountant=self.accountant,  # None: diffprivlib's default accountant
        )

    def _charge_inf(self) -> None:
        accountant = BudgetAccountant.load_default(self.accountant)
        budget_check(accountant, math.inf, 0.0)
        budget_spend(accountant, math.inf, 0.0)

    def _sparse(self, x: Any, lo, hi, keep) -> tuple[torch.Tensor, torch.Tensor]:
        """``(S, c)`` with ``S + 1 c^T`` the (normalised or rectified) features, S sparse CSR."""
        import scipy.sparse as sp

        n, dtype = x.shape[0], lo.dtype
        device = x.device if isinstance(x, torch.Tensor) else torch.device("cpu")
        cols = torch.nonzero(keep).view(-1)
        lo, span = lo[cols], (hi - lo)[cols]
        d = cols.numel()
        if math.isinf(self.epsilon):
            self._charge_inf()
            # (x - lo) / span = x / span - lo / span: the nonzeros of x, scaled, plus a constant.
            raw = x if sp.issparse(x) else sp.csr_array(x.detach().cpu().numpy())
            raw = raw[:, cols.cpu().numpy()]
            raw = sp.csr_array(raw @ sp.diags_array(1.0 / span.cpu().double().numpy()))
            raw.sum_duplicates()  # canonical CSR: sorted, distinct column indices per row
            indptr, indices, values = raw.indptr, raw.indices, raw.data
            offset = (-lo / span).to(dtype)
        elif d > 0:
            mech = self._mechanism()

            def gather(r, c):
                c = torch.from_numpy(c)
                if sp.issparse(x):
                    v = torch.from_numpy(
                        np.asarray(x[r.copy(), cols[c].numpy().copy()]).reshape(-1)
                    )
                else:
                    v = x[torch.from_numpy(r).to(device), cols[c].to(device)].cpu()
                return ((v.to(lo.dtype) - lo[c]) / span[c]).numpy()

            idx, signs = mech.encode_entries(n, d, gather)
            scale, mid = mech.rectifier(d)
            m = idx.shape[1]
            indptr, indices = np.arange(0, n * m + 1, m), idx.reshape(-1)
            values = signs.reshape(-1).astype(np.float64) * scale
            offset = torch.full((d,), mid, dtype=dtype)
        else:
            indptr, indices, values = np.zeros(n + 1), np.zeros(0), np.zeros(0)
            offset = torch.zeros(0, dtype=dtype)
        s = torch.sparse_csr_tensor(
            torch.as_tensor(indptr, dtype=torch.int64),
            torch.as_tensor(indices, dtype=torch.int64),
            torch.as_tensor(values, dtype=dtype),
            size=(n, d),
            check_invariants=True,  # O(nnz); also silences torch's "checks disabled" warning
        )
        return s.to(device), offset.to(device)

    def __repr__(self) -> str:
        extra = ", sparse=True" if self.sparse else ""
        return f"{self.__class__.__name__}(epsilon={self.epsilon}, m={self.m!r}{extra})"


@functional_transform("label_perturbation")
class LabelPerturbation(BaseTransform):
    r"""Perturb the training and validation labels with k-ary randomized response (functional
    name: :obj:`label_perturbation`).

    Labels of nodes in ``train_mask`` or ``val_mask`` are released under
    :math:`\epsilon_y`-local DP by
    :class:`~ai4media_ext.privacy.mechanisms.GeneralizedRandomizedResponse`; every other label
    (the test nodes') is left untouched for evaluation. The mechanism's transition matrix
    :math:`T_{ij} = P(\tilde y = j \mid y = i)` is stored as ``data.transition_matrix``.

    Args:
        epsilon (float): label privacy budget :math:`\epsilon_y`, in (0, inf].
        num_classes (int, optional): number of classes (default: ``int(y.max()) + 1``).
        random_state (int, optional): seed for reproducible perturbation (default: OS CSPRNG).
        accountant (BudgetAccountant, optional): charged :math:`\epsilon_y` per call; default:
            diffprivlib's default accountant. Checked before anything is perturbed.

    Raises:
        InvalidParameterError: (a ``ValueError`` and ``TypeError``) for a bad parameter, or
            ``data.y`` that is not integer class indices in ``[0, num_classes)``.
        BudgetError: the accountant cannot afford :math:`\epsilon_y`.
    """

    _parameter_constraints = {
        "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "num_classes": [Interval(numbers.Integral, 2, None, closed="left"), None],
        "random_state": ["random_state"],
        "accountant": [BudgetAccountant, None],
    }

    def __init__(
        self,
        epsilon: float,
        *,
        num_classes: int | None = None,
        random_state: Any = None,
        accountant: BudgetAccountant | None = None,
    ) -> None:
        self.epsilon = epsilon
        self.num_classes = num_classes
        self.random_state = random_state
        self.accountant = accountant
        check_params(self, self._params(), self._parameter_constraints)

    def _params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._parameter_constraints}

    def forward(self, data: Data) -> Data:
        check_params(self, self._params(), self._parameter_constraints)
        for name in ("y", "train_mask", "val_mask"):
            if getattr(data, name, None) is None:
                raise InvalidParameterError(
                    f"data.{name} is required (add a split, e.g. RandomNodeSplit)"
                )
        if not isinstance(data.y, torch.Tensor) or data.y.dim() != 1:
            raise InvalidParameterError(
                f"data.y must be a 1-D tensor of class indices, got "
                f"{tuple(getattr(data.y, 'shape', ()))}"
            )
        if data.y.is_floating_point() or data.y.is_complex() or data.y.dtype == torch.bool:
            raise InvalidParameterError(
                f"data.y must hold integer class indices, got dtype {data.y.dtype}"
            )
        if data.y.numel() == 0:
            raise InvalidParameterError("data.y must hold at least one label")
        k = self.num_classes or max(2, int(data.y.max()) + 1)
        mech = GeneralizedRandomizedResponse(
            epsilon=self.epsilon,
            k=k,
            random_state=self.random_state,
            accountant=self.accountant,  # None: diffprivlib's default accountant
        )
        release = (data.train_mask | data.val_mask).cpu().numpy()
        y = data.y.cpu().numpy().copy()
        if y.min() < 0 or y.max() >= k:
            raise InvalidParameterError(
                f"data.y must hold class indices in [0, {k}), got [{y.min()}, {y.max()}]"
            )
        y[release] = mech.randomise(y[release])
        data.y = torch.from_numpy(y).to(data.y.device)
        data.transition_matrix = torch.from_numpy(mech.transition_matrix).float()
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(epsilon={self.epsilon})"
