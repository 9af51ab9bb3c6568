"""Full-batch trainer for LPGNN with the paper's model selection on noisy validation labels."""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch_geometric.data import Data
from tqdm.auto import tqdm

from .model import LPGNN


class LPGNNTrainer:
    """Fit and evaluate an :class:`LPGNN` on one graph (transductive node classification).

    Adam on the Drop loss for ``epochs`` full-batch steps. Model selection follows LPGNN on the
    *noisy* validation labels: an epoch's weights are kept when its validation loss (of the
    forward-corrected prediction against the noisy labels) is the lowest so far, provided the
    noisy validation accuracy does not exceed ``T[0, 0]`` — the largest accuracy a noise-free
    model can reach against randomized-response labels — and the noisy training accuracy does
    not exceed ``1.05 * T[0, 0]`` (beyond either, the model is fitting the noise).

    Parameters
    ----------
    epochs : int
        Training epochs (default 500, as in the paper).
    lr, weight_decay : float
        Adam parameters.
    device : str
        ``"cpu"`` or ``"cuda"``.
    verbose : bool
        Show a tqdm progress bar with the losses.

    Attributes
    ----------
    best_epoch_ : int
        Epoch whose weights were kept (0 if none qualified: the last weights are kept).
    history_ : list of dict
        Per-epoch train loss and noisy train/validation accuracy and loss.
    """

    def __init__(
        self,
        *,
        epochs: int = 500,
        lr: float = 0.01,
        weight_decay: float = 0.0,
        device: str = "cpu",
        verbose: bool = False,
    ) -> None:
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}")
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        if device not in ("cpu", "cuda") and not str(device).startswith("cuda:"):
            raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.device = device
        self.verbose = verbose

    def fit(self, model: LPGNN, data: Data) -> LPGNNTrainer:
        model = model.to(self.device)
        data = data.to(self.device)
        adj = data.edge_index
        t = getattr(data, "transition_matrix", None)
        max_acc = float(t[0, 0]) if t is not None else 1.0
        opt = torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        best_loss, best_state, self.best_epoch_ = math.inf, None, 0
        self.history_: list[dict[str, float]] = []
        bar = tqdm(range(1, self.epochs + 1), desc="LPGNN", disable=not self.verbose, leave=False)
        for epoch in bar:
            model.train()
            opt.zero_grad()
            logits = model(data.x, adj)
            loss = model.drop_loss(logits, data, adj)
            loss.backward()
            opt.step()
            with torch.no_grad():
                model.eval()
                logits = model(data.x, adj)
                pred = logits.argmax(dim=-1)
                p_noisy = model.noisy_label_probabilities(logits, data)
                val = data.val_mask
                val_loss = F.nll_loss(torch.log(p_noisy[val] + 1e-20), data.y[val]).item()
                val_acc = (pred[val] == data.y[val]).float().mean().item()
                train_acc = (pred[data.train_mask] == data.y[data.train_mask]).float().mean()
            record = {
                "epoch": epoch,
                "train_loss": loss.item(),
                "train_acc": train_acc.item(),
                "val_loss": val_loss,
                "val_acc": val_acc,
            }
            self.history_.append(record)
            if val_loss < best_loss and val_acc <= max_acc and train_acc <= 1.05 * max_acc:
                best_loss, self.best_epoch_ = val_loss, epoch
                best_state = copy.deepcopy(model.state_dict())
            bar.set_postfix(loss=f"{loss.item():.3f}", val_loss=f"{val_loss:.3f}")
        if best_state is not None:
            model.load_state_dict(best_state)
        return self

    @torch.no_grad()
    def evaluate(self, model: LPGNN, data: Data, mask: str = "test_mask") -> float:
        """Accuracy of ``argmax p(y|x)`` against ``data.y`` on ``mask`` (clean test labels)."""
        model = model.to(self.device).eval()
        data = data.to(self.device)
        m = getattr(data, mask)
        pred = model(data.x, data.edge_index).argmax(dim=-1)
        return (pred[m] == data.y[m]).float().mean().item()
