import numpy as np
import pytest
import torch

from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.zoo import LeNet5, ResNet18CIFAR, SmallCNN, art_classifier, train_epochs


@pytest.mark.parametrize(
    "model, shape, n_params",
    [
        (lambda: SmallCNN(1, 8), (2, 1, 8, 8), 16 * 9 + 16 + 32 * 16 * 9 + 32 + 64 * 32 * 9 + 64
         + 64 * 128 + 128 + 128 * 10 + 10),
        (lambda: SmallCNN(3, 32), (2, 3, 32, 32), None),
        (lambda: LeNet5(1, 28), (2, 1, 28, 28), 61706),
        (lambda: ResNet18CIFAR(), (2, 3, 32, 32), 11173962),
    ],
)  # fmt: skip
def test_shapes_and_parameter_counts(model, shape, n_params):
    net = model()
    out = net(torch.zeros(shape))
    assert out.shape == (shape[0], 10) and out.dtype == torch.float32
    if n_params is not None:
        assert sum(p.numel() for p in net.parameters()) == n_params


def test_layer_names_the_experiments_use():
    names = dict(SmallCNN(1, 8).named_modules())
    assert {"conv1", "conv2", "conv3", "fc1", "fc2"} <= set(names)
    assert {"layer1", "layer4", "fc"} <= set(dict(ResNet18CIFAR().named_modules()))


def test_same_seed_same_weights_as_before_the_move():
    """The classes draw their initial weights in the same order as the experiment-local
    factories they replace (bit-identical published numbers)."""
    torch.manual_seed(0)
    a = SmallCNN(1, 8).state_dict()
    torch.manual_seed(0)
    b = SmallCNN(1, 8).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert list(a) == [f"{n}.{w}" for n in ("conv1", "conv2", "conv3", "fc1", "fc2")
                       for w in ("weight", "bias")]  # fmt: skip


def test_art_classifier_and_train_epochs_learn_digits():
    from ai4media_ext.data.splits import digits_split

    _, x, y, x_te, y_te = digits_split(0)
    torch.manual_seed(0)
    model = SmallCNN(1, 8)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    first = train_epochs(model, torch.from_numpy(x), torch.from_numpy(y), opt, epochs=1,
                         batch_size=64)  # fmt: skip
    later = train_epochs(model, torch.from_numpy(x), torch.from_numpy(y), opt, epochs=4,
                         batch_size=64)  # fmt: skip
    assert later < first
    clf = art_classifier(model.eval(), (1, 8, 8))
    assert (clf.predict(x_te).argmax(1) == y_te).mean() > 0.8  # 0.849 measured; chance 0.1
    assert np.allclose(clf.clip_values, (0.0, 1.0))


def test_bad_arguments_name_the_parameter():
    with pytest.raises(InvalidParameterError, match="'side'"):
        SmallCNN(1, 4)
    with pytest.raises(InvalidParameterError, match="'num_classes'"):
        LeNet5(num_classes=1)
    with pytest.raises(InvalidParameterError, match="'device'"):
        art_classifier(SmallCNN(1, 8), (1, 8, 8), "tpu")
    with pytest.raises(InvalidParameterError, match="'batch_size'"):
        train_epochs(SmallCNN(1, 8), torch.zeros(4, 1, 8, 8), torch.zeros(4, dtype=torch.long),
                     None, epochs=1, batch_size=0)  # fmt: skip
    with pytest.raises(InvalidParameterError, match="labels"):
        train_epochs(SmallCNN(1, 8), torch.zeros(4, 1, 8, 8), torch.zeros(3, dtype=torch.long),
                     None, epochs=1, batch_size=2)  # fmt: skip
