"""A small object classifier whose penultimate layer and max softmax stand in for a detector.

ObjectGraphs (Gkalelis et al., CVPRW 2021) describes every detected object by a CNN feature of
its box and ranks the objects by the detector's confidence (DoC). :class:`ObjectCNN` plays both
parts on small real images: three conv blocks, global average pooling (so it also runs on a
whole multi-object frame, giving the global frame feature), a ``feature_dim``-wide ReLU layer (the
object / frame feature) and a linear classifier (its max softmax is the DoC).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .._io import write_bytes_atomic

__all__ = ["ObjectCNN", "cached_object_cnn", "train_object_cnn"]


class ObjectCNN(nn.Module):
    """Conv(16)-Conv(32)-Conv(64) blocks, global average pooling, ``feature_dim`` ReLU units.

    Args:
        in_channels: image channels (3 for CIFAR-10, 1 for digits).
        num_classes: object classes.
        feature_dim: width of the penultimate (feature) layer.

    Shapes:
        - input: ``(N, in_channels, H, W)`` float32 in [0, 1], any ``H, W >= 8``.
        - :meth:`forward`: logits ``(N, num_classes)``; :meth:`features`: ``(N, feature_dim)``.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 10, feature_dim: int = 128):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, 16, 3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )
        self.fc1 = nn.Linear(64, feature_dim)
        self.fc2 = nn.Linear(feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.fc1(self.body(x).flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.features(x))

    @torch.no_grad()
    def describe(
        self, x: np.ndarray | torch.Tensor, batch_size: int = 512
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Features ``(N, feature_dim)`` float32, DoC (max softmax) ``(N,)`` and the predicted
        class ``(N,)`` int64 of images ``(N, C, H, W)`` in [0, 1], in batches, in eval mode."""
        was_training = self.training
        self.eval()
        feats, probs = [], []
        x = torch.as_tensor(x)
        for xb in x.split(batch_size):
            f = self.features(xb.float())
            feats.append(f)
            probs.append(torch.softmax(self.fc2(f), dim=1))
        self.train(was_training)
        p = torch.cat(probs)
        conf, pred = p.max(dim=1)
        return torch.cat(feats).numpy(), conf.numpy(), pred.numpy()


def train_object_cnn(
    x: np.ndarray,
    y: np.ndarray,
    *,
    num_classes: int,
    epochs: int = 10,
    feature_dim: int = 128,
    random_state: int = 0,
    verbose: bool = False,
) -> ObjectCNN:
    """Train :class:`ObjectCNN` on images ``x`` ``(N, C, H, W)`` float in [0, 1], labels ``y``
    ``(N,)``: Adam (lr 1e-3, cosine decay), batch 64, random flips and 2-pixel shifts."""
    gen = torch.Generator().manual_seed(random_state)
    torch.manual_seed(random_state)
    model = ObjectCNN(x.shape[1], num_classes, feature_dim)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long)
    steps = epochs * ((len(xt) + 63) // 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    model.train()
    for _ in tqdm(range(epochs), desc="ObjectCNN", unit="epoch", disable=not verbose):
        for idx in torch.randperm(len(xt), generator=gen).split(64):
            xb = xt[idx]
            flip = torch.rand(len(xb), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            dx, dy = torch.randint(-2, 3, (2,), generator=gen).tolist()
            xb = torch.roll(xb, shifts=(dy, dx), dims=(2, 3))
            opt.zero_grad()
            nn.functional.cross_entropy(model(xb), yt[idx]).backward()
            opt.step()
            sched.step()
    return model.eval()


def cached_object_cnn(
    cache: str | Path, x: np.ndarray, y: np.ndarray, **train_kwargs: Any
) -> ObjectCNN:
    """:func:`train_object_cnn`, cached in ``cache`` under a key hashing the training data and
    arguments (written atomically, so an interrupted run never leaves a half-written model)."""
    digest = hashlib.sha256(np.ascontiguousarray(x).tobytes())
    digest.update(np.ascontiguousarray(y).tobytes())
    kwargs = {k: v for k, v in train_kwargs.items() if k != "verbose"}
    digest.update(repr(sorted(kwargs.items())).encode())
    path = Path(cache) / f"object_cnn_{digest.hexdigest()[:16]}.pt"
    if path.is_file():
        model = ObjectCNN(x.shape[1], kwargs["num_classes"], kwargs.get("feature_dim", 128))
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model.eval()
    model = train_object_cnn(x, y, **train_kwargs)
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    write_bytes_atomic(path, buf.getvalue())
    return model
