"""Full-batch trainer for LPGNN with the paper's model selection on noisy validation labels."""

from __future__ import annotations

import copy
import math
import numbers

import torch
import torch.nn.functional as F
from torch_geometric.data import Data
from tqdm.auto import tqdm

from ..._validation import Interval, InvalidParameterError, check_params
from .model import LPGNN


def _check_data(data: Data, num_classes: int) -> None:
    for name in ("x", "edge_index", "y", "train_mask", "val_mask"):
        if getattr(data, name, None) is None:
            raise InvalidParameterError(f"data.{name} is required")
    y = data.y
    if y.dim() != 1 or y.is_floating_point() or y.dtype == torch.bool:
        raise InvalidParameterError(
            f"data.y must be 1-D integer class indices, got {y.dtype} of shape {tuple(y.shape)}"
        )
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise InvalidParameterError(
            f"data.y holds labels in [{int(y.min())}, {int(y.max())}]; the model has "
            f"num_classes={num_classes}"
        )
    for name in ("train_mask", "val_mask"):
        mask = getattr(data, name)
        if mask.dtype != torch.bool or mask.shape != y.shape:
            raise InvalidParameterError(
                f"data.{name} must be a bool mask of shape {tuple(y.shape)}, got {mask.dtype} "
                f"of shape {tuple(mask.shape)}"
            )


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
        Number of updates behind the kept weights (0: the initial weights qualified best, or
        none qualified and the final weights are kept).
    history_ : list of dict
        Per-epoch training loss.
    validation_ : list of dict
        Noisy validation loss/accuracy and training accuracy after each number of updates.
    """

    _parameter_constraints = {
        "epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, math.inf, closed="neither")],
        "weight_decay": [Interval(numbers.Real, 0, math.inf, closed="left")],
        "device": [str],
        "verbose": ["boolean"],
    }

    def __init__(
        self,
        *,
        epochs: int = 500,
        lr: float = 0.01,
        weight_decay: float = 0.0,
        device: str = "cpu",
        verbose: bool = False,
    ) -> None:
        check_params(
            self,
            {
                "epochs": epochs,
                "lr": lr,
                "weight_decay": weight_decay,
                "device": device,
                "verbose": verbose,
            },
            self._parameter_constraints,
        )
        if device not in ("cpu", "cuda") and not str(device).startswith("cuda:"):
            raise InvalidParameterError(f"device must be 'cpu' or 'cuda', got {device!r}")
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.device = device
        self.verbose = verbose

    def fit(self, model: LPGNN, data: Data) -> LPGNNTrainer:
        """Train ``model`` on ``data`` (``x``, ``edge_index``, ``y``, ``train_mask``,
        ``val_mask``, optional ``transition_matrix``); raises ``InvalidParameterError`` naming
        the missing or malformed attribute."""
        _check_data(data, model.num_classes)
        model = model.to(self.device)
        data = data.to(self.device)
        adj = data.edge_index
        t = getattr(data, "transition_matrix", None)
        self._max_acc = float(t[0, 0]) if t is not None else 1.0
        opt = torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        best_loss, best_state, self.best_epoch_ = math.inf, None, 0
        self.history_: list[dict[str, float]] = []
        self.validation_: list[dict[str, float]] = []
        bar = tqdm(range(1, self.epochs + 1), desc="LPGNN", disable=not self.verbose, leave=False)
        for epoch in bar:
            model.train()
            opt.zero_grad()
            # One pass gives the training logits and the eval-mode logits of the current
            # weights (dropout follows the shared first layer): the selection below judges
            # the weights before this epoch's update; the final weights are judged after.
            logits, eval_logits = model.forward_train_eval(data.x, adj)
            loss = model.drop_loss(logits, data, adj)
            record = self._validate(model, data, eval_logits, epoch - 1)
            if record is not None and record["val_loss"] < best_loss:
                best_loss, self.best_epoch_ = record["val_loss"], epoch - 1
                best_state = copy.deepcopy(model.state_dict())
            loss.backward()
            opt.step()
            self.history_.append({"epoch": epoch, "train_loss": loss.item()})
            bar.set_postfix(loss=f"{loss.item():.3f}", best_val_loss=f"{best_loss:.3f}")
        with torch.no_grad():
            model.eval()
            record = self._validate(model, data, model(data.x, adj), self.epochs)
        if record is not None and record["val_loss"] < best_loss:
            best_state, self.best_epoch_ = None, self.epochs  # keep the final weights
        if best_state is not None:
            model.load_state_dict(best_state)
        return self

    def _validate(
        self, model: LPGNN, data: Data, logits: torch.Tensor, epoch: int
    ) -> dict[str, float] | None:
        """Noisy validation metrics of the weights after ``epoch`` updates; None if the
        weights fit the label noise (accuracy above what randomized response allows)."""
        with torch.no_grad():
            pred = logits.argmax(dim=-1)
            p_noisy = model.noisy_label_probabilities(logits, data)
            val, train = data.val_mask, data.train_mask
            record = {
                "epoch": epoch,
                "val_loss": F.nll_loss(torch.log(p_noisy[val] + 1e-20), data.y[val]).item(),
                "val_acc": (pred[val] == data.y[val]).float().mean().item(),
                "train_acc": (pred[train] == data.y[train]).float().mean().item(),
            }
        self.validation_.append(record)
        if record["val_acc"] > self._max_acc or record["train_acc"] > 1.05 * self._max_acc:
            return None
        return record

    @torch.no_grad()
    def evaluate(self, model: LPGNN, data: Data, mask: str = "test_mask") -> float:
        """Accuracy of ``argmax p(y|x)`` against ``data.y`` on ``mask`` (clean test labels)."""
        model = model.to(self.device).eval()
        data = data.to(self.device)
        m = getattr(data, mask)
        pred = model(data.x, data.edge_index).argmax(dim=-1)
        return (pred[m] == data.y[m]).float().mean().item()
