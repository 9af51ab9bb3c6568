"""Weighted-in-Degree (WiD) explanations of ObjectGraphs as a captum ``Attribution``.

Seed §4.4, eq. (10): the salience of object k in a frame is the weighted in-degree of its node in
the learned adjacency, :math:`\\gamma_k = \\sum_l A_{lk}` (the column sum); the objects of largest
WiD explain the decision, those of smallest WiD are the least relevant (seed Figs. 11-12;
ViGAT's ``explanation.py`` applies the same rule to frame graphs).
"""

from __future__ import annotations

from typing import Any

import torch
from captum.attr import Attribution
from captum.log import log_usage
from torch import Tensor

from ..._validation import InvalidParameterError, check_params
from .model import check_object_inputs

__all__ = ["WeightedInDegree", "pool_per_label", "rank_objects"]


def _split_args(additional_forward_args: Any) -> tuple[Tensor | None, Tensor | None]:
    if additional_forward_args is None:
        return None, None
    args = (
        tuple(additional_forward_args)
        if isinstance(additional_forward_args, tuple | list)
        else (additional_forward_args,)
    )
    x_frame = args[0] if args else None
    mask = args[1] if len(args) > 1 else None
    return x_frame, mask


class WeightedInDegree(Attribution):
    r"""Weighted-in-Degree attribution of an :class:`ObjectGraphs` model (seed eq. (10)).

    For every frame, :math:`\gamma_k = \sum_l A_{lk}` over the present objects l, with
    :math:`A` the model's learned adjacency (:meth:`ObjectGraphs.adjacency`). WiD needs only the
    adjacency of the input, so it costs one pass through two linear maps: no forward through the
    graph layers or the LSTM and no backward pass. It is class-agnostic (``target`` is accepted
    for captum's calling convention and ignored). Each frame's WiD sums to its number of present
    objects, so values are comparable across frames.

    Args:
        forward_func (ObjectGraphs): the model; any callable with an ``adjacency(x, mask)``
            method returning ``(B, Q, K, K)`` row-stochastic matrices.

    Raises:
        InvalidParameterError: ``forward_func`` is not a callable with an ``adjacency`` method.
    """

    _parameter_constraints = {"forward_func": [callable]}

    def __init__(self, forward_func: Any) -> None:
        check_params(self, {"forward_func": forward_func}, self._parameter_constraints)
        if not callable(getattr(forward_func, "adjacency", None)):
            raise InvalidParameterError(
                "The 'forward_func' parameter of WeightedInDegree must be a model with an "
                f"adjacency(x, mask) method (e.g. ObjectGraphs). Got {type(forward_func).__name__}."
            )
        super().__init__(forward_func)

    @torch.no_grad()
    def attribute_objects(self, inputs: Tensor, additional_forward_args: Any = None) -> Tensor:
        r"""WiD per object: ``(B, Q, K)`` with the input's dtype; 0 for absent objects.

        Args:
            inputs (Tensor): object features ``(B, Q, K, F)``.
            additional_forward_args (tuple, optional): the model's other arguments,
                ``(x_frame,)`` or ``(x_frame, mask)``; only ``mask`` (bool ``(B, Q, K)``) is used,
                ``x_frame`` is only checked for matching shapes.

        Raises:
            ValueError, TypeError: malformed inputs (K = 0, mismatched frames, NaN, bad mask).
        """
        x_frame, mask = _split_args(additional_forward_args)
        check_object_inputs(inputs, x_frame, mask)
        adj = self.forward_func.adjacency(inputs, mask)
        return adj.sum(dim=-2)

    @log_usage()
    def attribute(
        self,
        inputs: Tensor | tuple[Tensor, ...],
        target: Any = None,
        additional_forward_args: Any = None,
    ) -> Tensor | tuple[Tensor, ...]:
        r"""WiD in captum's convention: attributions with the shape of ``inputs``.

        Args:
            inputs (Tensor or tuple[Tensor, ...]): object features ``(B, Q, K, F)``, or a tuple
                whose first element they are (e.g. ``(x, x_frame)`` when the frame features
                are attributed too).
            target: ignored (WiD does not depend on the class); kept for captum's signature.
            additional_forward_args (tuple, optional): the model's remaining arguments,
                ``(x_frame,)`` or ``(x_frame, mask)``.

        Returns:
            *Tensor* or *tuple[Tensor, ...]*: every feature of object k carries
            :math:`\gamma_k` (the grouping captum's ``FeatureAblation`` uses for a feature
            mask), shape ``(B, Q, K, F)`` (an expanded view); other tuple elements get zeros.
            Use :meth:`attribute_objects` for the ``(B, Q, K)`` values.
        """
        is_tuple = isinstance(inputs, tuple)
        tensors = inputs if is_tuple else (inputs,)
        if not tensors:
            raise ValueError("inputs is empty")
        if is_tuple and len(tensors) > 1 and additional_forward_args is None:
            additional_forward_args = tensors[1:]  # (x, x_frame[, mask]) passed as inputs
        gamma = self.attribute_objects(tensors[0], additional_forward_args)
        out = (gamma.unsqueeze(-1).expand_as(tensors[0]),) + tuple(
            torch.zeros_like(t) for t in tensors[1:]
        )
        return out if is_tuple else out[0]

    def explain(
        self,
        inputs: Tensor,
        additional_forward_args: Any = None,
        *,
        labels: Tensor | None = None,
        boxes: Tensor | None = None,
        num_labels: int | None = None,
        n: int = 3,
    ) -> dict[str, Tensor]:
        """WiD per object, the top-``n`` / bottom-``n`` objects of each frame mapped back to their
        labels and boxes, and WiD pooled per video and label.

        Args:
            inputs (Tensor): object features ``(B, Q, K, F)``.
            additional_forward_args (tuple, optional): ``(x_frame,)`` or ``(x_frame, mask)``.
            labels (LongTensor, optional): detected label of each object ``(B, Q, K)``.
            boxes (Tensor, optional): box of each object ``(B, Q, K, 4)``.
            num_labels (int, optional): label vocabulary size (default ``labels.max() + 1``).
            n (int): objects reported per frame at each end.

        Returns:
            dict with ``"wid"`` ``(B, Q, K)``; ``"top"``, ``"bottom"`` object indices
            ``(B, Q, n)``; with ``labels``: ``"top_labels"``, ``"bottom_labels"`` ``(B, Q, n)``
            and ``"video_mean"``, ``"video_max"`` ``(B, L)`` (NaN for labels absent from a video);
            with ``boxes``: ``"top_boxes"``, ``"bottom_boxes"`` ``(B, Q, n, 4)``.
        """
        _, mask = _split_args(additional_forward_args)
        gamma = self.attribute_objects(inputs, additional_forward_args)
        out = {"wid": gamma, **rank_objects(gamma, n, mask)}
        if labels is not None:
            for end in ("top", "bottom"):
                out[f"{end}_labels"] = labels.gather(-1, out[end])
            out["video_mean"], out["video_max"] = pool_per_label(gamma, labels, num_labels, mask)
        if boxes is not None:
            for end in ("top", "bottom"):
                idx = out[end].unsqueeze(-1).expand(*out[end].shape, boxes.shape[-1])
                out[f"{end}_boxes"] = boxes.gather(-2, idx)
        return out


def rank_objects(scores: Tensor, n: int, mask: Tensor | None = None) -> dict[str, Tensor]:
    """Indices ``(B, Q, n)`` of the ``n`` highest (``"top"``) and lowest (``"bottom"``) scoring
    present objects of every frame (absent objects rank last at both ends)."""
    k = scores.shape[-1]
    if not 1 <= n <= k:
        raise ValueError(f"n must be in [1, K={k}], got {n}")
    present = torch.ones_like(scores, dtype=torch.bool) if mask is None else mask
    inf = torch.tensor(float("inf"), dtype=scores.dtype)
    top = torch.where(present, scores, -inf).topk(n, dim=-1).indices
    bottom = torch.where(present, scores, inf).topk(n, dim=-1, largest=False).indices
    return {"top": top, "bottom": bottom}


def pool_per_label(
    scores: Tensor, labels: Tensor, num_labels: int | None = None, mask: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Mean and max of per-object scores ``(B, Q, K)`` over all objects of a video carrying each
    label: two ``(B, L)`` tensors, NaN where a label does not occur in the video."""
    b = scores.shape[0]
    lab = labels.reshape(b, -1).long()
    if (lab < 0).any():
        raise ValueError("labels must be non-negative class ids")
    num = int(lab.max()) + 1 if num_labels is None else num_labels
    if int(lab.max()) >= num:
        raise ValueError(f"labels reach {int(lab.max())}, num_labels is {num}")
    val = scores.reshape(b, -1)
    keep = torch.ones_like(val, dtype=torch.bool) if mask is None else mask.reshape(b, -1)
    idx = torch.where(keep, lab, num)  # absent objects go to a spare bin
    nan = torch.full((b, num + 1), float("nan"), dtype=val.dtype)
    mean = nan.scatter_reduce(1, idx, val, "mean", include_self=False)[:, :num]
    amax = nan.scatter_reduce(1, idx, val, "amax", include_self=False)[:, :num]
    return mean, amax
