"""Registry-wide parameter validation (issue 14): every registered plugin class declares
``_parameter_constraints`` and, for every constrained constructor parameter, a generated invalid
value raises ``InvalidParameterError`` (a ``ValueError`` and ``TypeError``) naming it.

``VALID`` holds valid constructor keywords per plugin (``group:name``); a plugin registered
without an entry here fails ``test_every_plugin_has_valid_example_kwargs``.
"""

from __future__ import annotations

import inspect
import math
import numbers

import pytest

from ai4media_ext import registry
from ai4media_ext._validation import Interval, InvalidParameterError, Options, _satisfied


def _art_classifier():
    import torch

    from ai4media_ext.zoo import SmallCNN, art_classifier

    torch.manual_seed(0)
    return art_classifier(SmallCNN(1, 8), (1, 8, 8), "cpu")


def _public_context():
    from ai4media_ext.privacy.federated import make_context, public_bytes

    return public_bytes(make_context())


def _bfv_public_context():
    from ai4media_ext.privacy.federated import make_bfv_context, public_bytes

    return public_bytes(make_bfv_context())


def _fedavg():
    from flwr.serverapp.strategy import FedAvg

    return FedAvg()


def _aif360_metric():
    import pandas as pd
    from aif360.datasets import BinaryLabelDataset
    from aif360.metrics import BinaryLabelDatasetMetric

    df = pd.DataFrame({"sex": [0.0, 1.0, 0.0, 1.0], "label": [0.0, 1.0, 1.0, 1.0]})
    ds = BinaryLabelDataset(df=df, label_names=["label"], protected_attribute_names=["sex"])
    return BinaryLabelDatasetMetric(ds, [{"sex": 0.0}], [{"sex": 1.0}])


def _rcv_model():
    from ai4media_ext.zoo import SmallCNN

    return SmallCNN(1, 8)


def _decision_system():
    from ai4media_ext.explainability.decision_system.synthetic import make_synthetic_system

    synth = make_synthetic_system(200, random_state=0)
    return {"model": synth.system, "masker": synth.X[:20]}


def _retrieval_estimator():
    import torch

    from ai4media_ext.robustness.metaattack import PyTorchRetrievalEstimator
    from ai4media_ext.zoo.reid import IDENet

    torch.manual_seed(0)
    return PyTorchRetrievalEstimator(IDENet(), (3, 28, 28), clip_values=(0.0, 1.0))


def _objectgraphs():
    from ai4media_ext.explainability.objectgraphs import ObjectGraphs

    return ObjectGraphs(16, 3, hidden_channels=8)


def _dgm_generator():
    import torch

    from ai4media_ext.robustness.dgm import PyTorchGenerator
    from ai4media_ext.zoo.dcgan import DCGANGenerator

    torch.manual_seed(0)
    return PyTorchGenerator(32, DCGANGenerator("digits"), device_type="cpu")


def _dgm_gan():
    from ai4media_ext.robustness.dgm import PyTorchGAN
    from ai4media_ext.zoo.dcgan import DCGANDiscriminator

    return PyTorchGAN(_dgm_generator(), DCGANDiscriminator("digits"), device_type="cpu")


#: group:name -> (valid kwargs factory, marks)
VALID = {
    "ai4media_ext.art.attacks:k_anonymity": (lambda: {"classifier": _art_classifier()}, []),
    "ai4media_ext.art.attacks:gradient_inversion": (
        lambda: {"estimator": _art_classifier()},
        [],
    ),
    "ai4media_ext.art.defences:hcp": (
        lambda: {"classifier": _art_classifier(), "layers": ["fc1"]},
        [],
    ),
    "ai4media_ext.art.defences:center_loss": (
        lambda: {"classifier": _art_classifier(), "layers": ["fc1"]},
        [],
    ),
    "ai4media_ext.art.defences:pcl": (
        lambda: {"classifier": _art_classifier(), "layers": ["fc1"]},
        [],
    ),
    "ai4media_ext.art.defences:hcp_literal": (
        lambda: {"classifier": _art_classifier(), "layers": ["fc1"]},
        [],
    ),
    "ai4media_ext.art.metrics:robustness_evaluation": (
        lambda: {"classifier": _art_classifier()},
        [],
    ),
    "ai4media_ext.diffprivlib.mechanisms:secure_laplace": (
        lambda: {"epsilon": 1.0, "sensitivity": 1.0},
        [],
    ),
    "ai4media_ext.diffprivlib.mechanisms:multi_bit": (lambda: {"epsilon": 1.0}, []),
    "ai4media_ext.diffprivlib.mechanisms:generalized_randomized_response": (
        lambda: {"epsilon": 1.0, "k": 3},
        [],
    ),
    "ai4media_ext.aif360.explainers:audience_metric": (lambda: {"metric": _aif360_metric()}, []),
    "ai4media_ext.aif360.reports:fairness_report": (lambda: {}, []),
    "ai4media_ext.flwr.strategies:he_fedavg": (
        lambda: {"public_context": _public_context()},
        [],
    ),
    "ai4media_ext.flwr.strategies:secaggplus": (lambda: {"strategy": _fedavg()}, []),
    "ai4media_ext.flwr.strategies:he_secaggplus": (
        lambda: {"strategy": _fedavg(), "public_context": _bfv_public_context()},
        [],
    ),
    "ai4media_ext.pyg.layers:kprop": (lambda: {"steps": 2}, []),
    "ai4media_ext.pyg.transforms:feature_perturbation": (lambda: {"epsilon": 1.0}, []),
    "ai4media_ext.pyg.transforms:label_perturbation": (lambda: {"epsilon": 1.0}, []),
    "ai4media_ext.captum.interpreters:rcv": (
        lambda: {"model": _rcv_model(), "layers": ["fc1"]},
        [],
    ),
    "ai4media_ext.diffprivlib.mechanisms:secure_gaussian": (
        lambda: {"epsilon": 1.0, "delta": 1e-5, "sensitivity": 1.0},
        [],
    ),
    **{
        f"ai4media_ext.diffprivlib.mechanisms:secure_laplace_{kind}": (
            lambda: {"epsilon": 1.0, "sensitivity": 1.0, "lower": 0.0, "upper": 10.0},
            [],
        )
        for kind in ("truncated", "folded", "bounded_domain")
    },
    "ai4media_ext.shap.explainers:decision_system": (_decision_system, []),
    "ai4media_ext.art.estimators:pytorch_retrieval": (
        lambda: {"model": _retrieval_estimator().model, "input_shape": (3, 28, 28)},
        [],
    ),
    "ai4media_ext.pyg.models:objectgraphs": (
        lambda: {"in_channels": 16, "num_classes": 3, "hidden_channels": 8},
        [],
    ),
    "ai4media_ext.captum.attributions:weighted_in_degree": (
        lambda: {"forward_func": _objectgraphs()},
        [],
    ),
    "ai4media_ext.art.estimators:pytorch_generator": (
        lambda: {"encoding_length": 32, "model": _dgm_generator().model, "device_type": "cpu"},
        [],
    ),
    "ai4media_ext.art.estimators:pytorch_gan": (
        lambda: {
            "generator": _dgm_generator(),
            "discriminator": _dgm_gan().discriminator,
            "device_type": "cpu",
        },
        [],
    ),
    "ai4media_ext.art.attacks:trail": (lambda: {"gan": _dgm_gan()}, []),
    "ai4media_ext.art.attacks:red": (lambda: {"generator": _dgm_generator()}, []),
    "ai4media_ext.art.attacks:rex": (lambda: {"generator": _dgm_generator()}, []),
    "ai4media_ext.art.detectors:generator_backdoor_detector": (lambda: {}, []),
    **{
        f"ai4media_ext.art.attacks:{name}": (lambda: {"estimator": _retrieval_estimator()}, [])
        for name in ("meta_attack", "uap_retrieval", "merged_uap_retrieval")
    },
}


class _Unrelated:
    """An object no constraint accepts."""

    def __repr__(self) -> str:
        return "<unrelated object>"


def invalid_values(constraints: list) -> list:
    """Values that satisfy none of ``constraints``: a wrong type, and out-of-range numbers or an
    unknown option where the constraints are numeric ranges or option sets."""
    candidates: list = [_Unrelated(), "not-a-valid-value"]
    for c in constraints:
        if isinstance(c, Interval):
            step = 1 if c.kind is numbers.Integral else 0.5
            if c.left is not None:
                candidates.append(c.left if c.closed in ("right", "neither") else c.left - step)
            if c.right is not None and not math.isinf(c.right):
                candidates.append(c.right if c.closed in ("left", "neither") else c.right + step)
            if c.right is not None and math.isinf(c.right):
                candidates.append(math.inf)
            if c.kind is numbers.Integral:
                candidates.append(1.5)
            candidates.append(math.nan)
        elif isinstance(c, Options):
            candidates.append("no-such-option" if c.kind is str else object())
        elif c == "random_state":
            candidates.append(-1)
    out = []
    for v in candidates:
        if not any(_satisfied(v, c) for c in constraints):
            out.append(v)
    return out


def _cases():
    for info in registry.plugins():
        if info.group == "ai4media_ext.experiments":
            continue
        key = f"{info.group}:{info.name}"
        marks = VALID.get(key, (None, []))[1]
        yield pytest.param(info, id=key, marks=marks)


def test_every_plugin_has_valid_example_kwargs():
    registered = {
        f"{p.group}:{p.name}" for p in registry.plugins() if p.group != "ai4media_ext.experiments"
    }
    assert registered == set(VALID)


def test_generator_gives_values_outside_every_constraint():
    c = [Interval(numbers.Real, 0, 1, closed="neither")]
    vals = invalid_values(c)
    assert 0 in vals and 1 in vals and all(not _satisfied(v, c[0]) for v in vals)
    assert -1 in invalid_values(["random_state"])


@pytest.mark.parametrize("info", list(_cases()))
def test_each_constrained_parameter_rejects_invalid_values(info):
    cls = registry.load(info.group, info.name)
    constraints = getattr(cls, "_parameter_constraints", None)
    assert constraints, f"{cls.__name__} declares no _parameter_constraints"
    signature = inspect.signature(cls)
    checked = [p for p in constraints if p in signature.parameters]
    assert checked, f"no constrained parameter of {cls.__name__} is a constructor parameter"
    factory, _ = VALID[f"{info.group}:{info.name}"]
    cls(**factory())  # the valid example builds
    for param in checked:
        values = invalid_values(constraints[param])
        assert values, param
        for value in values:
            kwargs = {**factory(), param: value}
            with pytest.raises(InvalidParameterError, match=f"'{param}'"):
                cls(**kwargs)
            assert issubclass(InvalidParameterError, ValueError | TypeError)


def test_zoo_networks_validate_too():
    from ai4media_ext.zoo.cnn import LeNet5, SmallCNN
    from ai4media_ext.zoo.resnet import ResNet18CIFAR

    for cls, valid in (
        (SmallCNN, {"in_channels": 1, "side": 8}),
        (LeNet5, {}),
        (ResNet18CIFAR, {}),
    ):
        for param, constraints in cls._parameter_constraints.items():
            for value in invalid_values(constraints):
                with pytest.raises(InvalidParameterError, match=f"'{param}'"):
                    cls(**{**valid, param: value})
