"""Small retrieval (re-ID style) backbones for 28x28 RGB inputs, mirroring MetaAttack's Table 3.

* :class:`IDENet` — global feature (the IDE baseline of Zheng et al., 2016): a CNN, global average
  pooling to one feature vector, a linear identity classifier on top during training.
* :class:`PCBNet` — part-based feature (PCB, Sun et al., ECCV 2018): the last feature map is cut
  into ``parts`` horizontal stripes, each stripe average-pooled, reduced by a 1x1 convolution
  (+ BN + ReLU) and classified by its own identity classifier; the retrieval feature is the
  concatenation of the reduced part features.

Both return the retrieval feature from ``forward`` (the embedding ART's
``PyTorchRetrievalEstimator`` wraps) and the identity logits from :meth:`logits`;
:func:`train_reid` trains them with cross-entropy on identity labels (summed over parts for PCB).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import trange

from .._validation import Interval, check_array, check_labels, check_params

__all__ = ["IDENet", "PCBNet", "train_reid"]


def _body(c_in: int, width: int, second_pool: bool) -> nn.Sequential:
    """conv(c_in -> w) at full size, pool, two convs (w -> 2w -> 2w) at half size[, pool]."""
    layers = [
        nn.Conv2d(c_in, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1, bias=False), nn.BatchNorm2d(2 * width), nn.ReLU(),
        nn.Conv2d(2 * width, 2 * width, 3, padding=1, bias=False), nn.BatchNorm2d(2 * width),
        nn.ReLU(),
    ]  # fmt: skip
    if second_pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class IDENet(nn.Module):
    """Global-feature (IDE-like) retrieval backbone.

    Args:
        num_classes: identities seen in training (10 digits).
        in_channels: input channels.
        width: channels of the first conv (then ``2 * width`` twice and ``4 * width``).

    Shapes:
        input ``(n, in_channels, H, W)`` float32 in [0, 1] (H, W >= 4);
        ``forward`` -> ``(n, 4 * width)`` feature; ``logits`` -> ``(n, num_classes)``.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 16) -> None:
        super().__init__()
        # a third stage at 7x7 widens the receptive field before the global pooling
        self.body = nn.Sequential(
            _body(in_channels, width, second_pool=True),
            nn.Conv2d(2 * width, 4 * width, 3, padding=1, bias=False), nn.BatchNorm2d(4 * width),
            nn.ReLU(),
        )  # fmt: skip
        self.feature_dim = 4 * width
        self.classifier = nn.Linear(self.feature_dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).mean(dim=(2, 3))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self(x))


class PCBNet(nn.Module):
    """Part-based (PCB-like) retrieval backbone: horizontal stripes pooled into part features.

    Args:
        num_classes: identities seen in training.
        in_channels: input channels.
        width: channels of the first block (the later two have ``2 * width``).
        parts: number of horizontal stripes ``p`` (PCB uses 6 on 24 rows; 4 on the 14 rows here).
        part_dim: reduced dimension of each part feature.

    Shapes:
        input ``(n, in_channels, H, W)`` float32 in [0, 1] with ``H // 2 >= parts``;
        ``forward`` -> ``(n, parts * part_dim)``; ``logits`` -> ``(n, parts, num_classes)``.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 16,
                 parts: int = 4, part_dim: int = 16) -> None:  # fmt: skip
        super().__init__()
        # one pooling only, so that the stripes keep 14 rows of a 28x28 input
        self.body = _body(in_channels, width, second_pool=False)
        self.parts = parts
        self.reduce = nn.Sequential(
            nn.Conv1d(2 * width * parts, part_dim * parts, 1, groups=parts, bias=False),
            nn.BatchNorm1d(part_dim * parts), nn.ReLU(),
        )  # fmt: skip
        self.feature_dim = parts * part_dim
        # one classifier per part, as a grouped 1x1 convolution (all parts in one call)
        self.classifier = nn.Conv1d(part_dim * parts, num_classes * parts, 1, groups=parts)
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fmap = self.body(x)  # (n, c, h, w)
        stripes = nn.functional.adaptive_avg_pool2d(fmap, (self.parts, 1))  # (n, c, p, 1)
        stacked = stripes[..., 0].transpose(1, 2).reshape(len(x), -1, 1)  # part-major (n, p*c, 1)
        return self.reduce(stacked)[..., 0]  # (n, p * part_dim)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        out = self.classifier(self(x)[..., None])[..., 0]
        return out.reshape(len(x), self.parts, self.num_classes)


def train_reid(
    model: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int = 3,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    random_state: int | None = 0,
    device: str = "cpu",
    verbose: bool = False,
) -> nn.Module:
    """Train a backbone with identity cross-entropy (summed over parts for ``(n, p, k)`` logits).

    Args:
        model: a module with ``logits(x)``, e.g. :class:`IDENet` or :class:`PCBNet`.
        x: float32 images ``(n, C, H, W)`` in [0, 1] (not modified).
        y: identity labels ``(n,)``, ``(n, 1)`` or one-hot ``(n, k)``.
        epochs, batch_size, learning_rate: Adam schedule.
        random_state: seed of the initial shuffle order and of torch's generator for the batches.
        device: ``"cpu"`` or ``"cuda"``.
        verbose: show a progress bar over epochs.

    Returns:
        the model, in eval mode.

    Raises:
        InvalidParameterError: a bad schedule value, or ``x`` / ``y`` of wrong shape or length.
    """
    check_params("train_reid", {"epochs": epochs, "batch_size": batch_size,
                                "learning_rate": learning_rate},
                 {"epochs": [Interval(numbers.Integral, 1, None, closed="left")],
                  "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
                  "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")]})  # fmt: skip
    xs = torch.as_tensor(check_array(x, ndim=4, dtype=np.float32), device=device)
    ys = torch.as_tensor(check_labels(y, n_samples=len(xs)), device=device)
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=learning_rate)
    gen = torch.Generator().manual_seed(0 if random_state is None else int(random_state))
    for _ in trange(epochs, desc="train re-ID", disable=not verbose):
        order = torch.randperm(len(xs), generator=gen).to(device)
        for start in range(0, len(xs), batch_size):
            idx = order[start : start + batch_size]
            out = model.logits(xs[idx])
            target = ys[idx]
            if out.dim() == 3:  # PCB: one classifier per part
                target = target[:, None].expand(-1, out.shape[1])
                loss = nn.functional.cross_entropy(out.transpose(1, 2), target) * out.shape[1]
            else:
                loss = nn.functional.cross_entropy(out, target)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def identity_accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray, batch_size: int = 500) -> Any:
    """Top-1 identity accuracy of ``model.logits`` (part logits averaged for PCB)."""
    preds = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            out = model.logits(torch.as_tensor(x[start : start + batch_size]))
            preds.append((out.mean(1) if out.dim() == 3 else out).argmax(1).numpy())
    return float(np.mean(np.concatenate(preds) == np.asarray(y)))
