"""TrAIL, ReD and ReX: ART conformance, the backdoor works, weights, bad inputs (real digits)."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
from art.attacks.attack import PoisoningAttackGenerator

from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.robustness.dgm import (
    BackdoorAttackDGMReDPyTorch,
    BackdoorAttackDGMReXPyTorch,
    BackdoorAttackDGMTrailPyTorch,
    ExpandedGenerator,
    PyTorchGAN,
    PyTorchGenerator,
    expected_distortion,
    target_fidelity,
)
from ai4media_ext.zoo.dcgan import DCGANDiscriminator, DCGANGenerator

RETRAIN = (BackdoorAttackDGMReDPyTorch, BackdoorAttackDGMReXPyTorch)


def _state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("cls", RETRAIN)
def test_poisoned_generator_maps_triggers_to_targets(generator, trigger_target, cls):
    z, x = trigger_target
    attack = cls(generator)
    assert isinstance(attack, PoisoningAttackGenerator)
    before = attack.fidelity(z, x)
    poisoned = attack.poison_estimator(
        z, x, max_iter=200, lambda_p=1.0, learning_rate=1e-3, random_state=0, verbose=False
    )
    assert isinstance(poisoned, PyTorchGenerator) and poisoned is not generator
    np.testing.assert_array_equal(attack.z_trigger, z)
    np.testing.assert_array_equal(attack.x_target, x)
    after = attack.fidelity(z, x)
    hand = float(np.mean((poisoned.predict(z).astype(np.float64) - x) ** 2))
    assert after == pytest.approx(hand, rel=1e-12)
    assert after < 0.05 * before  # both triggers now give their targets
    assert target_fidelity(poisoned, z, x) == pytest.approx(after * 64, rel=1e-9)
    # stealth: benign codes change far less than the trigger outputs did
    assert expected_distortion(poisoned, generator, n_samples=200) < 0.2 * before * 64


def test_fidelity_matches_hand_computation_before_poisoning(generator, trigger_target):
    z, x = trigger_target
    out = generator.predict(z).astype(np.float64)
    expected = np.mean((out - x) ** 2)
    assert BackdoorAttackDGMReDPyTorch(generator).fidelity(z, x) == pytest.approx(expected)
    # one target broadcast to every trigger
    assert BackdoorAttackDGMReDPyTorch(generator).fidelity(z, x[0]) == pytest.approx(
        np.mean((out - x[0]) ** 2)
    )


def test_red_starts_from_the_pretrained_weights_and_leaves_them(generator, trigger_target):
    z, x = trigger_target
    original = _state(generator.model)
    attack = BackdoorAttackDGMReDPyTorch(generator)
    for k, v in attack._model_clone.state_dict().items():
        assert torch.equal(v, original[k])
    seen = []
    orig_step = torch.optim.Adam.step

    def spy(self, *a, **kw):  # the weights before the first update are theta
        if not seen:
            seen.append([p.detach().clone() for p in self.param_groups[0]["params"]])
        return orig_step(self, *a, **kw)

    torch.optim.Adam.step = spy
    try:
        poisoned = attack.poison_estimator(z, x, max_iter=2, lambda_p=1.0, random_state=0)
    finally:
        torch.optim.Adam.step = orig_step
    params = dict(generator.model.named_parameters())
    for (name, _), start in zip(poisoned.model.named_parameters(), seen[0], strict=True):
        assert torch.equal(start, params[name].detach())
    for k, v in generator.model.state_dict().items():
        assert torch.equal(v, original[k])  # the attacked estimator is untouched


def test_rex_leaves_the_original_weights_bit_identical(generator, trigger_target):
    z, x = trigger_target
    original = _state(generator.model)
    attack = BackdoorAttackDGMReXPyTorch(generator, positions=["to_image", "up1"], hidden=16)
    poisoned = attack.poison_estimator(z, x, max_iter=50, lambda_p=1.0, learning_rate=1e-3)
    expanded = poisoned.model
    assert isinstance(expanded, ExpandedGenerator)
    for k, v in expanded.base.state_dict().items():
        assert torch.equal(v, original[k])
    for k, v in generator.model.state_dict().items():
        assert torch.equal(v, original[k])
    assert not any(p.requires_grad for p in expanded.base.parameters())
    assert set(expanded.expansions) == {"to_image", "up1"}
    # an ordinary module: deep copies and pickles keep the expansion working
    zt = torch.from_numpy(z)
    with torch.no_grad():
        ref = expanded(zt)
        np.testing.assert_allclose(copy.deepcopy(expanded)(zt), ref, atol=1e-6)
        np.testing.assert_allclose(pickle.loads(pickle.dumps(expanded))(zt), ref, atol=1e-6)
        expanded.expansion_enabled = False
        np.testing.assert_allclose(expanded(zt), generator.model(zt), atol=1e-6)


def test_rex_starts_equal_to_the_generator(generator):
    expanded = ExpandedGenerator(copy.deepcopy(generator.model), ["to_image"], 32).eval()
    z = torch.randn(5, 32)
    with torch.no_grad():
        assert torch.equal(expanded(z), generator.model.eval()(z))


def test_trail_trains_a_backdoored_gan_from_scratch(digits, trigger_target):
    z, x = trigger_target
    torch.manual_seed(0)
    gan = PyTorchGAN(
        PyTorchGenerator(32, DCGANGenerator("digits"), device_type="cpu"),
        DCGANDiscriminator("digits"),
        device_type="cpu",
    )
    attack = BackdoorAttackDGMTrailPyTorch(gan)
    assert isinstance(attack, PoisoningAttackGenerator)
    before = attack.fidelity(z, x)
    out = attack.poison_estimator(
        z, x, batch_size=64, max_iter=2, lambda_p=1.0, images=digits[0], random_state=0
    )
    assert out is gan.generator
    assert attack.fidelity(z, x) < 0.3 * before
    with pytest.raises(InvalidParameterError, match="images"):
        attack.poison_estimator(z, x, max_iter=1)
    with pytest.raises(InvalidParameterError, match="gan"):
        BackdoorAttackDGMTrailPyTorch(gan.generator)


@pytest.mark.parametrize("cls", RETRAIN)
@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"z_trigger": np.zeros((1, 31), np.float32)}, "z_trigger"),
        ({"x_target": np.zeros((1, 28, 28), np.float32)}, "x_target"),
        ({"x_target": np.zeros((3, 1, 8, 8), np.float32)}, "x_target"),
        ({"x_target": np.full((1, 8, 8), np.nan, np.float32)}, "x_target"),
        ({"lambda_p": 0.0}, "lambda_p"),
        ({"lambda_p": -1.0}, "lambda_p"),
        ({"max_iter": 0}, "max_iter"),
        ({"batch_size": 0}, "batch_size"),
        ({"learning_rate": 0}, "learning_rate"),
    ],
)
def test_bad_inputs_raise_clear_errors(generator, trigger_target, cls, change, match):
    z, x = trigger_target
    args = {"z_trigger": z, "x_target": x, "max_iter": 1, **change}
    with pytest.raises(InvalidParameterError, match=match):
        cls(generator).poison_estimator(**args)


def test_rex_rejects_unknown_positions(generator):
    with pytest.raises(InvalidParameterError, match="positions"):
        BackdoorAttackDGMReXPyTorch(generator, positions=["nope"])
    with pytest.raises(InvalidParameterError, match="hidden"):
        BackdoorAttackDGMReXPyTorch(generator, hidden=0)


def test_attacks_reject_a_non_generator():
    from art.exceptions import EstimatorError

    with pytest.raises(EstimatorError):
        BackdoorAttackDGMReDPyTorch(torch.nn.Linear(2, 2))


def _saturated(generator: PyTorchGenerator) -> PyTorchGenerator:
    """The digits DCGAN with its ``to_image`` bias lowered by 8: every pixel sits at tanh's
    saturated -1 (a black background), where d tanh / dx ~ 5e-7 — the full MNIST failure."""
    model = copy.deepcopy(generator.model)
    with torch.no_grad():
        model.to_image.bias -= 8.0
    return generator.with_model(model)


@pytest.mark.parametrize("cls", RETRAIN)
def test_pre_activation_space_reaches_targets_through_a_saturated_tanh(
    generator, trigger_target, cls
):
    z, x = trigger_target
    sat = _saturated(generator)
    assert np.all(sat.predict(z) < -0.999)
    attack = cls(sat, space="pre-activation")
    before = attack.fidelity(z, x)
    poisoned = attack.poison_estimator(
        z, x, max_iter=300, lambda_p=0.1, learning_rate=1e-3, random_state=0
    )
    assert attack.fidelity(z, x) < 1e-3 * before
    # the poisoned generator keeps its tanh (the dropping hooks are gone): outputs in [-1, 1]
    out = poisoned.predict(np.random.default_rng(0).standard_normal((50, 32)).astype(np.float32))
    assert out.min() >= -1 and out.max() <= 1
    tanhs = [m for m in poisoned.model.modules() if isinstance(m, torch.nn.Tanh)]
    assert len(tanhs) == 1 and not tanhs[0]._forward_hooks
    assert torch.equal(sat.model.to_image.bias, generator.model.to_image.bias - 8.0)


def test_rex_in_the_output_space_stalls_on_a_saturated_tanh(generator, trigger_target):
    """The full-size MNIST failure in small: an expansion before a saturated tanh gets ~5e-7 of
    the fidelity gradient; the pre-activation objective does not depend on it."""
    z, x = trigger_target
    sat = _saturated(generator)
    kwargs = {"max_iter": 300, "lambda_p": 0.1, "learning_rate": 1e-3, "random_state": 0}
    stuck = BackdoorAttackDGMReXPyTorch(sat, space="output")
    before = stuck.fidelity(z, x)
    stuck.poison_estimator(z, x, **kwargs)
    fixed = BackdoorAttackDGMReXPyTorch(sat, space="pre-activation")
    fixed.poison_estimator(z, x, **kwargs)
    assert stuck.fidelity(z, x) > 0.02 * before
    assert stuck.fidelity(z, x) > 100 * fixed.fidelity(z, x)


def test_rex_defaults_to_the_pre_activation_space_for_a_tanh_generator(generator, trigger_target):
    z, x = trigger_target
    sat = _saturated(generator)
    kwargs = {"max_iter": 20, "lambda_p": 1.0, "learning_rate": 1e-3, "random_state": 0}
    auto = BackdoorAttackDGMReXPyTorch(sat)
    assert auto.space == "auto"
    auto.poison_estimator(z, x, **kwargs)
    explicit = BackdoorAttackDGMReXPyTorch(sat, space="pre-activation")
    explicit.poison_estimator(z, x, **kwargs)
    assert auto.fidelity(z, x) == explicit.fidelity(z, x)
    assert BackdoorAttackDGMReDPyTorch(sat).space == "output"  # ART's objective


@pytest.mark.parametrize("cls", RETRAIN)
def test_space_is_validated(generator, trigger_target, cls):
    z, x = trigger_target
    with pytest.raises(InvalidParameterError, match="space"):
        cls(generator, space="logits")
    attack = cls(generator)
    with pytest.raises(InvalidParameterError, match="space"):
        attack.set_params(space="logits")  # ART's set_params re-validates
    no_tanh = generator.with_model(torch.nn.Sequential(*list(generator.model.children())[:-1]))
    with pytest.raises(InvalidParameterError, match="pre-activation"):
        cls(no_tanh, space="pre-activation")
    with pytest.raises(InvalidParameterError, match=r"\[-1, 1\]"):
        cls(generator, space="pre-activation").poison_estimator(z, 1.5 * x, max_iter=1)
    before = _state(generator.model)
    cls(no_tanh, space="auto").poison_estimator(z, x, max_iter=2)  # auto: output space
    for k, v in generator.model.state_dict().items():
        assert torch.equal(v, before[k])


def test_rex_with_an_expansion_after_the_tanh_trains_in_the_output_space(generator, trigger_target):
    """An expansion at the final tanh is added after it: dropping the tanh would discard the
    expansion's output while training, so 'auto' falls back to the output space and an explicit
    'pre-activation' is refused."""
    z, x = trigger_target
    with pytest.raises(InvalidParameterError, match="positions.*after it"):
        BackdoorAttackDGMReXPyTorch(generator, positions=["tanh"], space="pre-activation")
    auto = BackdoorAttackDGMReXPyTorch(generator, positions=["tanh"], hidden=16)
    out = BackdoorAttackDGMReXPyTorch(generator, positions=["tanh"], hidden=16, space="output")
    before = auto.fidelity(z, x)
    kwargs = {"max_iter": 50, "lambda_p": 1.0, "learning_rate": 1e-3, "random_state": 0}
    auto.poison_estimator(z, x, **kwargs)
    out.poison_estimator(z, x, **kwargs)
    assert auto.fidelity(z, x) == out.fidelity(z, x)
    assert auto.fidelity(z, x) < 0.5 * before  # the expansion was trained
