"""LPGNN's forward pass and Drop loss for a stack of same-shaped models, project-then-propagate.

A single :class:`LPGNN` is a stack of one. Models in a stack share the graph and the
architecture (backbone, widths, ``x_steps``, ``y_steps``) but have their own weights, features,
labels and dropout streams; their hidden matrices are concatenated along the feature axis so
that each sparse product with the graph runs once for all of them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..._validation import InvalidParameterError
from ._ops import GraphOps, _add_bias, gat_attend, project


def check_stack(models) -> None:
    """Raise ``InvalidParameterError`` unless the models can be stacked."""
    m0 = models[0]
    shape = m0._shape()
    for m in models[1:]:
        if m._shape() != shape:
            raise InvalidParameterError(
                f"models trained together need the same architecture, got {m0._shape()} and "
                f"{m._shape()}"
            )


def _weights(model, layer: str) -> Tensor:
    conv = getattr(model, layer)
    if model.backbone == "sage":  # [lin_l; lin_r]: neighbour part, root part
        return torch.cat([conv.lin_l.weight, conv.lin_r.weight])
    return conv.lin.weight


def _post(models, layer: str, p: Tensor, ops: GraphOps) -> Tensor:
    """The part of ``layer`` after its linear map, for the stacked projections ``p``."""
    m0 = models[0]
    convs = [getattr(m, layer) for m in models]
    n, r = p.size(0), len(models)
    if m0.backbone == "gcn":
        return _add_bias(ops.gcn(convs[0])(p), convs)
    if m0.backbone == "sage":
        p = p.view(n, r, 2, -1)
        neighbours = p[:, :, 0].reshape(n, -1)
        root = p[:, :, 1].reshape(n, -1)
        return _add_bias(ops.mean(neighbours) + root, [c.lin_l for c in convs])
    return gat_attend(convs, p.view(n, r * convs[0].heads, -1), ops)


def hidden(models, xs, offsets, ops: GraphOps) -> Tensor:
    """SELU output of the first layer, ``(N, R * width)``: ``post(A^K (X' W))``."""
    p = torch.cat(
        [
            project(x, _weights(m, "conv1"), off)
            for m, x, off in zip(models, xs, offsets, strict=True)
        ],
        dim=1,
    )
    p = ops.kprop(p, models[0].x_prop.steps)
    return F.selu(_post(models, "conv1", p, ops))


def logits(models, h: Tensor, ops: GraphOps, *, train: bool) -> list[Tensor]:
    """Class logits of each model from the stacked hidden matrix (dropout when ``train``)."""
    parts = h.chunk(len(models), dim=1)
    if train:
        parts = [m._drop(part) for m, part in zip(models, parts, strict=True)]
    q = torch.cat(
        [F.linear(part, _weights(m, "conv2")) for m, part in zip(models, parts, strict=True)], 1
    )
    return list(_post(models, "conv2", q, ops).chunk(len(models), dim=1))


def label_target(model, data, ops: GraphOps) -> Tensor:
    """Propagated one-hot noisy labels (test rows zeroed); cached per model and labels."""
    cache = model._target
    key = (data.y, data.train_mask, data.val_mask, ops.edge_index)
    if cache is None or not cache[0].matches(*key):
        from ._graph import InputKey

        labelled = data.train_mask | data.val_mask
        onehot = F.one_hot(data.y, model.num_classes).to(ops.dtype) * labelled[:, None]
        model._target = cache = (InputKey(*key), ops.kprop(onehot, model.y_prop.steps))
    return cache[1]


def drop_losses(models, outs: list[Tensor], datas, ops: GraphOps) -> list[Tensor]:
    """The Drop loss of each model on its ``data.train_mask``."""
    ps = [m.noisy_label_probabilities(o, d) for m, o, d in zip(models, outs, datas, strict=True)]
    steps = models[0].y_prop.steps
    if steps > 0:
        prop = ops.kprop(torch.cat(ps, dim=1), steps).chunk(len(models), dim=1)
        ps = [F.softmax(q, dim=-1) for q in prop]
    losses = []
    for m, p, d in zip(models, ps, datas, strict=True):
        mask = d.train_mask
        if steps > 0:
            target = label_target(m, d, ops)
            # Nodes with no labelled node K_y hops away carry no propagated label.
            mask = mask & (target.sum(dim=-1) > 0)
            y = target.argmax(dim=-1)
        else:
            y = d.y
        losses.append(F.nll_loss(torch.log(p[mask] + 1e-20), y[mask]))
    return losses
