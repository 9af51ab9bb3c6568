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
from . import _stack
from ._stack import check_stack
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

    Adam on the Drop loss for ``epochs`` full-batch steps. Model selection is the LPGNN
    authors' rule (sisaman/LPGNN ``trainer.py``, methods.md §1.4), judged on the *noisy* labels
    after each epoch: the first epoch is kept, and a later epoch replaces the kept one only if
    its validation loss (forward-corrected prediction against the noisy labels) is lower, its
    noisy validation accuracy is higher but at most ``T[0, 0]`` (the accuracy a noise-free
    model reaches against randomized-response labels) and its training accuracy (of the
    epoch's training pass, dropout on, before the update) is higher but at most
    ``1.05 * T[0, 0]``. All three must improve on the kept epoch, not on the best seen so far;
    accuracies are compared in percent, as in the reference. The kept epoch's weights are
    restored at the end (the reference reports the test accuracy logged at that epoch).

    :meth:`fit_many` trains several models of the same architecture on the same graph in one
    stacked run (repeats, or budget pairs sharing their hyper-parameters); each model ends
    exactly as if trained alone with :meth:`fit`, given a ``random_state`` per model.

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
        The kept epoch (1-based: the weights after that many updates).
    history_ : list of dict
        Per-epoch training loss.
    validation_ : list of dict
        Per epoch: noisy validation loss and accuracy (percent) after the update, training
        accuracy (percent) of the epoch's training pass, and the cap ``max_acc`` (percent).
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
        ``val_mask``, optional ``transition_matrix`` and ``x_offset``); raises
        ``InvalidParameterError`` naming the missing or malformed attribute."""
        (run,) = self._fit([model], [data])
        self.best_epoch_, self.history_, self.validation_ = run
        return self

    def fit_many(self, models: list[LPGNN], datas: list[Data]) -> list[LPGNNTrainer]:
        """Train ``models[i]`` on ``datas[i]`` together, one stacked forward/backward per epoch.

        The models need the same architecture (backbone, widths, ``x_steps``, ``y_steps``)
        and ``project_first=True``; the data the same ``edge_index``. Returns one fitted
        trainer per model (its ``best_epoch_``, ``history_``, ``validation_``).

        Raises:
            InvalidParameterError: mismatched lengths, architectures or graphs.
        """
        if len(models) != len(datas) or not models:
            raise InvalidParameterError(
                f"fit_many needs as many data sets as models, got {len(models)} and {len(datas)}"
            )
        out = []
        for run in self._fit(list(models), list(datas)):
            fitted = copy.copy(self)
            fitted.best_epoch_, fitted.history_, fitted.validation_ = run
            out.append(fitted)
        return out

    def _fit(self, models, datas):
        for model, data in zip(models, datas, strict=True):
            _check_data(data, model.num_classes)
        if len(models) > 1:
            check_stack(models)
            if not all(m.project_first for m in models):
                raise InvalidParameterError("fit_many needs models with project_first=True")
            if any(not torch.equal(d.edge_index, datas[0].edge_index) for d in datas[1:]):
                raise InvalidParameterError("fit_many needs the same edge_index in every data")
        models = [m.to(self.device) for m in models]
        datas = [d.to(self.device) for d in datas]
        n = datas[0].y.size(0)
        ops = models[0].graph_ops(datas[0].edge_index, n, torch.get_default_dtype())
        opt = torch.optim.Adam(
            [{"params": list(m.parameters())} for m in models],
            lr=self.lr,
            weight_decay=self.weight_decay,
        )
        runs = [_Selection(d) for d in datas]
        n_train = [int(d.train_mask.sum()) for d in datas]
        pending = None
        bar = tqdm(range(1, self.epochs + 1), desc="LPGNN", disable=not self.verbose, leave=False)
        for epoch in bar:
            for m in models:
                m.train()
            opt.zero_grad()
            # One pass gives the training logits and the eval-mode logits of the current
            # weights (dropout follows the shared first layer): the eval logits judge the
            # previous epoch (its weights after its update); the last epoch is judged below.
            train, evaluated = _forward_train_eval(models, datas, ops)
            losses = _stack.drop_losses(models, train, datas, ops)
            with torch.no_grad():
                correct = [
                    ((t.argmax(-1) == d.y) & d.train_mask).sum()
                    for t, d in zip(train, datas, strict=True)
                ]
                stats = [torch.stack(losses).detach(), torch.stack(correct).to(losses[0])]
                if pending is not None:
                    stats += _val_stats(models, datas, evaluated)
                stats = torch.stack(stats).tolist()  # one device sync per epoch
            if pending is not None:
                for i, run in enumerate(runs):
                    run.judge(models[i], *pending[i], stats[2][i], stats[3][i])
            pending = [(epoch, stats[1][i] / n_train[i] * 100) for i in range(len(runs))]
            for run, loss in zip(runs, stats[0], strict=True):
                run.history.append({"epoch": epoch, "train_loss": loss})
            torch.stack(losses).sum().backward()
            opt.step()
            bar.set_postfix(loss=f"{sum(stats[0]):.3f}")
        with torch.no_grad():
            for m in models:
                m.eval()
            final = [
                m(d.x, d.edge_index, getattr(d, "x_offset", None))
                for m, d in zip(models, datas, strict=True)
            ]
            val_loss, val_correct = torch.stack(_val_stats(models, datas, final)).tolist()
        for i, run in enumerate(runs):
            run.judge(models[i], *pending[i], val_loss[i], val_correct[i])
        for run, m in zip(runs, models, strict=True):
            m.load_state_dict(run.best_state)
        return [(r.best["epoch"], r.history, r.validation) for r in runs]

    @torch.no_grad()
    def evaluate(self, model: LPGNN, data: Data, mask: str = "test_mask") -> float:
        """Accuracy of ``argmax p(y|x)`` against ``data.y`` on ``mask`` (clean test labels)."""
        model = model.to(self.device).eval()
        data = data.to(self.device)
        m = getattr(data, mask)
        pred = model(data.x, data.edge_index, getattr(data, "x_offset", None)).argmax(dim=-1)
        return (pred[m] == data.y[m]).float().mean().item()


def _forward_train_eval(models, datas, ops):
    if not models[0].project_first:
        d = datas[0]
        train, evaluated = models[0].forward_train_eval(
            d.x, d.edge_index, getattr(d, "x_offset", None)
        )
        return [train], [evaluated]
    xs = [d.x for d in datas]
    offsets = [getattr(d, "x_offset", None) for d in datas]
    for m, d, off in zip(models, datas, offsets, strict=True):
        m._check_inputs(d.x, d.edge_index, off)
    h = _stack.hidden(models, xs, offsets, ops)
    train = _stack.logits(models, h, ops, train=True)
    with torch.no_grad():
        evaluated = _stack.logits(models, h.detach(), ops, train=False)
    return train, evaluated


def select_epoch(trace: list[dict[str, float]]) -> int:
    """The epoch the LPGNN authors' rule keeps from a recorded trace.

    ``trace[i]`` holds ``epoch``, ``val_loss``, ``val_acc``, ``train_acc`` and ``max_acc``
    (accuracies in percent). The first epoch is kept; a later one replaces it when its
    validation loss is lower, its validation accuracy higher but at most ``max_acc`` and its
    training accuracy higher but at most ``1.05 * max_acc`` than the kept epoch's.
    """
    best = None
    for rec in trace:
        if best is None or _better(rec, best):
            best = rec
    if best is None:
        raise InvalidParameterError("trace is empty")
    return int(best["epoch"])


def _better(rec: dict[str, float], best: dict[str, float]) -> bool:
    cap = rec["max_acc"]
    return (
        rec["val_loss"] < best["val_loss"]
        and best["val_acc"] < rec["val_acc"] <= cap
        and best["train_acc"] < rec["train_acc"] <= 1.05 * cap
    )


def _val_stats(models, datas, logits) -> list[torch.Tensor]:
    """Noisy validation loss and number of correct validation predictions, ``(R,)`` each."""
    losses, correct = [], []
    for m, d, out in zip(models, datas, logits, strict=True):
        p = m.noisy_label_probabilities(out, d)
        val = d.val_mask
        losses.append(F.nll_loss(torch.log(p[val] + 1e-20), d.y[val]))
        correct.append(((out.argmax(-1) == d.y) & val).sum())
    return [torch.stack(losses), torch.stack(correct).to(losses[0])]


class _Selection:
    """One model's epoch selection state."""

    def __init__(self, data: Data) -> None:
        t = getattr(data, "transition_matrix", None)
        self.max_acc = float(t[0, 0]) * 100 if t is not None else 100.0
        self.n_val = int(data.val_mask.sum())
        self.best: dict[str, float] | None = None
        self.best_state: dict | None = None
        self.history: list[dict[str, float]] = []
        self.validation: list[dict[str, float]] = []

    def judge(
        self, model: LPGNN, epoch: int, train_acc: float, val_loss: float, val_correct: float
    ) -> None:
        """Record ``epoch`` (current weights: after its update) and keep it if better."""
        rec = {
            "epoch": epoch,
            "train_acc": train_acc,
            "val_loss": val_loss,
            "val_acc": int(val_correct) / self.n_val * 100,
            "max_acc": self.max_acc,
        }
        self.validation.append(rec)
        if self.best is None or _better(rec, self.best):
            self.best = rec
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
