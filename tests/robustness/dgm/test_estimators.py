"""PyTorchGenerator / PyTorchGAN conform to ART's generator and estimator classes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from art.estimators.estimator import BaseEstimator
from art.estimators.generation.generator import GeneratorMixin
from art.estimators.pytorch import PyTorchEstimator

from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.robustness.dgm import PyTorchGAN, PyTorchGenerator
from ai4media_ext.zoo.dcgan import DCGANDiscriminator, DCGANGenerator


def test_is_an_art_generator(generator):
    assert isinstance(generator, GeneratorMixin)
    assert isinstance(generator, PyTorchEstimator)
    assert isinstance(generator, BaseEstimator)
    assert generator.encoding_length == 32
    assert generator.input_shape == (32,)
    assert generator.output_shape == (1, 8, 8)
    assert "encoding_length" in generator.get_params()


def test_predict_numpy_in_out_batches_and_no_mutation(generator):
    z = np.random.default_rng(0).standard_normal((10, 32)).astype(np.float32)
    z0 = z.copy()
    out = generator.predict(z, batch_size=3)
    assert out.shape == (10, 1, 8, 8) and out.dtype == np.float32
    np.testing.assert_array_equal(z, z0)
    np.testing.assert_allclose(out, generator.predict(z, batch_size=10), atol=1e-6)
    with torch.no_grad():
        direct = generator.model.eval()(torch.from_numpy(z)).numpy()
    np.testing.assert_allclose(out, direct, atol=1e-6)
    assert np.all(np.abs(out) <= 1.0)


def test_encoding_length_is_inferred_and_clip_values_apply(trained):
    gen = PyTorchGenerator(model=trained[0], clip_values=(-0.5, 0.5), device_type="cpu")
    assert gen.encoding_length == 32
    out = gen.predict(np.ones((4, 32), np.float32))
    assert out.min() >= -0.5 and out.max() <= 0.5


@pytest.mark.parametrize("z", [np.zeros((2, 31)), np.zeros((2, 33)), np.full((1, 32), np.nan)])
def test_bad_latent_codes(generator, z):
    with pytest.raises(InvalidParameterError, match="x must"):
        generator.predict(z)


def test_bad_constructor_arguments(trained):
    with pytest.raises(InvalidParameterError, match="encoding_length"):
        PyTorchGenerator(0, trained[0], device_type="cpu")
    with pytest.raises(InvalidParameterError, match="model"):
        PyTorchGenerator(32, "not a module", device_type="cpu")


def test_loss_gradient_matches_finite_differences(generator):
    rng = np.random.default_rng(1)
    z = rng.standard_normal((1, 32)).astype(np.float64)
    y = rng.uniform(-1, 1, (1, 1, 8, 8)).astype(np.float32)
    grad = generator.loss_gradient(z, y)
    assert grad.shape == (1, 32)

    def f(zz):
        return float(np.sum((generator.predict(zz.astype(np.float32)).astype(np.float64) - y) ** 2))

    e = np.zeros_like(z)
    e[0, 5] = 1e-2
    fd = (f(z + e) - f(z - e)) / 2e-2
    assert grad[0, 5] == pytest.approx(fd, rel=0.05, abs=1e-3)


def test_get_activations_and_fit(generator):
    acts = generator.get_activations(np.zeros((3, 32), np.float32), "to_image", batch_size=2)
    assert acts.shape == (3, 1, 8, 8)
    with pytest.raises(NotImplementedError):
        generator.fit(np.zeros((1, 32)), None)


def test_gan_trains_like_arts_tf_gan(digits):
    torch.manual_seed(0)
    gen = PyTorchGenerator(32, DCGANGenerator("digits"), device_type="cpu")
    gan = PyTorchGAN(gen, DCGANDiscriminator("digits"), device_type="cpu")
    assert isinstance(gan, PyTorchEstimator)
    before = [p.detach().clone() for p in gen.model.parameters()]
    history = gan.fit(images=digits[0][:256], batch_size=64, nb_epochs=1, random_state=0)
    assert len(history) == 1 and np.all(np.isfinite(history))
    assert any(not torch.equal(a, b) for a, b in zip(before, gen.model.parameters(), strict=True))
    assert gan.predict(np.zeros((2, 32), np.float32)).shape == (2, 1, 8, 8)
    with pytest.raises(InvalidParameterError, match="x must"):
        gan.fit(np.zeros((10, 1, 9, 9), np.float32))
    with pytest.raises(InvalidParameterError, match="nb_epochs"):
        gan.fit(digits[0][:10], nb_epochs=0)
    with pytest.raises(InvalidParameterError, match="discriminator"):
        PyTorchGAN(gen, "nope", device_type="cpu")
