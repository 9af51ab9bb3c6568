"""Cache keys that never match a different graph, and the adjacency PyG's sparse path expects."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch_geometric.utils import to_torch_csr_tensor

from ..._validation import InvalidParameterError


def _version(obj: Any) -> Any:
    if isinstance(obj, Tensor):
        return obj._version  # bumped by every in-place modification
    storage = getattr(obj, "storage", None)  # torch_sparse.SparseTensor
    if storage is not None:
        return tuple(t._version for t in (storage.row(), storage.col()) if t is not None)
    return None


class InputKey:
    """The identity of a call's inputs: the same objects, unmodified since, and the same size.

    Holds strong references, so a freed tensor's address can never be reused by another one;
    an in-place change of a tensor bumps its version counter and the key no longer matches.
    """

    __slots__ = ("objects", "versions", "extra")

    def __init__(self, *objects: Any, extra: Any = None) -> None:
        self.objects = objects
        self.versions = tuple(_version(o) for o in objects)
        self.extra = extra

    def matches(self, *objects: Any, extra: Any = None) -> bool:
        return (
            len(objects) == len(self.objects)
            and all(a is b for a, b in zip(objects, self.objects, strict=True))
            and tuple(_version(o) for o in objects) == self.versions
            and extra == self.extra
        )


def adjacency_t(edge_index: Tensor, num_nodes: int, dtype: torch.dtype | None = None) -> Tensor:
    """The transposed adjacency ``adj_t[target, source]`` as a torch CSR tensor.

    PyG's sparse path (``propagate(adj_t, ...)``, ``spmm(adj_t, x)``) aggregates row ``i`` of
    ``adj_t`` into node ``i``, so for ``edge_index`` with sources in row 0 and targets in row 1
    (``flow="source_to_target"``) the rows must be the targets: ``out[i] = sum_{j -> i} x[j]``.
    """
    weight = torch.ones(edge_index.size(1), dtype=dtype, device=edge_index.device)
    return to_torch_csr_tensor(edge_index.flip(0), weight, size=(num_nodes, num_nodes))


def check_edge_index(edge_index: Any, num_nodes: int) -> None:
    """A ``(2, E)`` integer tensor with node indices in ``[0, num_nodes)``; else ValueError/
    TypeError naming ``edge_index`` (sparse adjacencies are passed through)."""
    if not isinstance(edge_index, Tensor) or edge_index.layout != torch.strided:
        return
    if edge_index.is_floating_point() or edge_index.dtype == torch.bool:
        raise TypeError(f"edge_index must hold integer node indices, got {edge_index.dtype}")
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise InvalidParameterError(
            f"edge_index must have shape (2, E), got {tuple(edge_index.shape)}"
        )
    if edge_index.numel() and (edge_index.min() < 0 or edge_index.max() >= num_nodes):
        raise InvalidParameterError(
            f"edge_index holds node indices in [{int(edge_index.min())}, "
            f"{int(edge_index.max())}] but there are {num_nodes} nodes"
        )
