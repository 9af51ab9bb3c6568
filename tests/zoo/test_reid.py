"""IDE-like and PCB-like retrieval backbones and their cross-entropy trainer."""

import numpy as np
import pytest
import torch

from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.zoo.reid import IDENet, PCBNet, identity_accuracy, train_reid


def test_shapes():
    x = torch.rand(5, 3, 28, 28)
    ide, pcb = IDENet(), PCBNet(parts=4, part_dim=8)
    assert ide(x).shape == (5, 64) and ide.logits(x).shape == (5, 10)
    assert pcb(x).shape == (5, 32) and pcb.logits(x).shape == (5, 4, 10)


def test_pcb_part_features_follow_their_stripe():
    """Changing the bottom rows moves the bottom part feature far more than the top one."""
    torch.manual_seed(0)
    pcb = PCBNet(parts=4, part_dim=8).eval()
    x = torch.rand(2, 3, 28, 28)
    x2 = x.clone()
    x2[:, :, 21:] = torch.rand(2, 3, 7, 28)
    with torch.no_grad():
        f, f2 = pcb(x).reshape(2, 4, 8), pcb(x2).reshape(2, 4, 8)
    change = (f - f2).norm(dim=2).mean(0)
    assert change[3] > 5 * change[0]


@pytest.mark.parametrize("cls", [IDENet, PCBNet])
def test_train_reid_learns_separable_identities(cls):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    y = np.arange(200) % 4
    x = rng.uniform(0, 0.2, (200, 3, 28, 28)).astype(np.float32)
    x[np.arange(200), y % 3] += 0.6 * (y[:, None, None] >= 3) + 0.6  # channel = identity
    x_copy = x.copy()
    model = train_reid(cls(num_classes=4), x, y, epochs=4, learning_rate=1e-2, batch_size=32)
    np.testing.assert_array_equal(x, x_copy)
    assert not model.training
    assert identity_accuracy(model, x, y) > 0.9


def test_train_reid_bad_parameters():
    x = np.zeros((4, 3, 28, 28), np.float32)
    with pytest.raises(InvalidParameterError, match="'epochs'"):
        train_reid(IDENet(), x, np.zeros(4, int), epochs=0)
    with pytest.raises(InvalidParameterError, match="labels"):
        train_reid(IDENet(), x, np.zeros(3, int))
