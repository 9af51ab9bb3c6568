"""Every ``_parameter_constraints`` entry of this branch's plugin classes is enforced at
construction: a generated invalid value raises ``InvalidParameterError`` naming the parameter
(the registry-wide rule of the architecture issue, applied here to the classes of issue 15)."""

from __future__ import annotations

import math
import numbers

import pytest
import torch

from ai4media_ext._validation import Interval, InvalidParameterError, Options


def invalid_values(constraints: list) -> list:
    """Values that satisfy none of ``constraints``."""
    candidates = ["not-a-valid-value", -1, 1.5, -math.inf, math.nan, object(), True]
    for c in constraints:
        if isinstance(c, Interval):
            if c.left is not None and c.left > -math.inf:
                candidates.append(c.left - 1)
            if c.right is not None and c.right < math.inf:
                candidates.append(c.right + 1)
            if c.kind is numbers.Integral:
                candidates.append(2.5)
    from ai4media_ext._validation import _satisfied

    return [v for v in candidates if not any(_satisfied(v, c) for c in constraints)]


def _classifier():
    from art.estimators.classification import PyTorchClassifier

    model = torch.nn.Linear(4, 3)
    return PyTorchClassifier(model, torch.nn.CrossEntropyLoss(), input_shape=(4,), nb_classes=3)


def _cases():
    from ai4media_ext.explainability.rcv import RCV
    from ai4media_ext.privacy.lpgnn import (
        LPGNN,
        FeaturePerturbation,
        KProp,
        LabelPerturbation,
        LPGNNTrainer,
    )
    from ai4media_ext.privacy.mechanisms import (
        GeneralizedRandomizedResponse,
        MultiBit,
        SecureLaplace,
    )
    from ai4media_ext.robustness.kanonymity import KAnonymityAttack

    model = torch.nn.Sequential(torch.nn.Linear(1, 2))
    return [
        (SecureLaplace, lambda **kw: SecureLaplace(**{"epsilon": 1.0, "sensitivity": 1.0, **kw})),
        (MultiBit, lambda **kw: MultiBit(**{"epsilon": 1.0, **kw})),
        (
            GeneralizedRandomizedResponse,
            lambda **kw: GeneralizedRandomizedResponse(**{"epsilon": 1.0, "k": 3, **kw}),
        ),
        (KProp, lambda **kw: KProp(**{"steps": 1, **kw})),
        (FeaturePerturbation, lambda **kw: FeaturePerturbation(**{"epsilon": 1.0, **kw})),
        (LabelPerturbation, lambda **kw: LabelPerturbation(**{"epsilon": 1.0, **kw})),
        (LPGNN, lambda **kw: LPGNN(**{"in_channels": 3, "num_classes": 2, **kw})),
        (LPGNNTrainer, lambda **kw: LPGNNTrainer(**kw)),
        (RCV, lambda **kw: RCV(**{"model": model, "layers": "0", **kw})),
        (
            KAnonymityAttack,
            lambda **kw: KAnonymityAttack(**{"classifier": _classifier(), "k": 1, **kw}),
        ),
    ]


CASES = [
    pytest.param(cls, make, name, id=f"{cls.__name__}.{name}")
    for cls, make in _cases()
    for name in cls._parameter_constraints
]


@pytest.mark.parametrize("cls, make, name", CASES)
def test_invalid_value_is_refused_naming_the_parameter(cls, make, name):
    make()  # the defaults are valid
    values = invalid_values(cls._parameter_constraints[name])
    assert values, f"no invalid value generated for {cls.__name__}.{name}"
    for value in values:
        with pytest.raises(InvalidParameterError, match=repr(name)[1:-1]):
            make(**{name: value})


def test_options_and_intervals_are_used():
    from ai4media_ext.privacy.mechanisms import MultiBit

    kinds = {type(c) for cs in MultiBit._parameter_constraints.values() for c in cs}
    assert Interval in kinds and Options in kinds
