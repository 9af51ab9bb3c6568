"""Agreement of the patched ART's PyTorch generator, GAN and DGM backdoor attacks (patch 0002) with
ai4media-ext's, on the same models and inputs at fixed seeds (imported by ``agree.py``)."""

import copy

import numpy as np
import torch
from art.attacks.poisoning import (
    BackdoorAttackDGMReDPyTorch,
    BackdoorAttackDGMReXPyTorch,
    BackdoorAttackDGMTrailPyTorch,
)
from art.estimators.gan import PyTorchGAN
from art.estimators.generation import PyTorchGenerator

from ai4media_ext.robustness import dgm

LATENT = 8


def tiny_generator(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(LATENT, 32),
        torch.nn.BatchNorm1d(32),
        torch.nn.ReLU(),
        torch.nn.Linear(32, 64),
        torch.nn.Unflatten(1, (1, 8, 8)),
        torch.nn.Tanh(),
    )


def tiny_discriminator(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 16), torch.nn.LeakyReLU(0.2), torch.nn.Linear(16, 1))


def pair(seed: int):
    model = tiny_generator(seed).eval()
    ours = dgm.PyTorchGenerator(encoding_length=LATENT, model=copy.deepcopy(model), device_type="cpu")
    theirs = PyTorchGenerator(encoding_length=LATENT, model=copy.deepcopy(model), device_type="cpu")
    return ours, theirs


def check_dgm(report) -> None:
    rng = np.random.default_rng(0)
    z = rng.standard_normal((16, LATENT)).astype(np.float32)
    z_trigger = rng.standard_normal((2, LATENT)).astype(np.float32)
    x_target = np.tile(np.linspace(-1, 1, 64, dtype=np.float32).reshape(1, 8, 8), (2, 1, 1, 1))

    ours, theirs = pair(1)
    report("PyTorchGenerator.predict", np.array_equal(ours.predict(z), theirs.predict(z)))
    y = np.zeros((16, 1, 8, 8), dtype=np.float32)
    report("PyTorchGenerator.loss_gradient", np.array_equal(ours.loss_gradient(z, y), theirs.loss_gradient(z, y)))

    for name, ours_cls, theirs_cls in [
        ("ReD", dgm.BackdoorAttackDGMReDPyTorch, BackdoorAttackDGMReDPyTorch),
        ("ReX", dgm.BackdoorAttackDGMReXPyTorch, BackdoorAttackDGMReXPyTorch),
    ]:
        ours, theirs = pair(2)
        kwargs = dict(batch_size=16, max_iter=30, lambda_p=1.0, learning_rate=1e-2, random_state=3)
        attack_ours, attack_theirs = ours_cls(ours), theirs_cls(theirs)
        poisoned_ours = attack_ours.poison_estimator(z_trigger, x_target, **kwargs)
        poisoned_theirs = attack_theirs.poison_estimator(z_trigger, x_target, **kwargs)
        same = np.array_equal(poisoned_ours.predict(z), poisoned_theirs.predict(z)) and np.array_equal(
            poisoned_ours.predict(z_trigger), poisoned_theirs.predict(z_trigger)
        )
        fid = (attack_ours.fidelity(z_trigger, x_target), attack_theirs.fidelity(z_trigger, x_target))
        unchanged = np.array_equal(ours.predict(z), theirs.predict(z))
        report(f"BackdoorAttackDGM{name}PyTorch", same and fid[0] == fid[1] and unchanged,
               f"(fidelity {fid[0]:.6g} vs {fid[1]:.6g}; attacked generators unchanged: {unchanged})")

    images = np.tanh(rng.standard_normal((40, 1, 8, 8))).astype(np.float32)
    gens = pair(4)
    disc = tiny_discriminator(5)
    gan_ours = dgm.PyTorchGAN(gens[0], copy.deepcopy(disc), device_type="cpu")
    gan_theirs = PyTorchGAN(gens[1], copy.deepcopy(disc), device_type="cpu")
    attack_ours = dgm.BackdoorAttackDGMTrailPyTorch(gan_ours)
    attack_theirs = BackdoorAttackDGMTrailPyTorch(gan_theirs)
    kwargs = dict(batch_size=8, max_iter=3, lambda_p=1.0, images=images, random_state=6)
    out_ours = attack_ours.poison_estimator(z_trigger, x_target, **kwargs).predict(z)
    out_theirs = attack_theirs.poison_estimator(z_trigger, x_target, **kwargs).predict(z)
    report("BackdoorAttackDGMTrailPyTorch", np.array_equal(out_ours, out_theirs),
           f"(max |difference| {np.abs(out_ours - out_theirs).max():.3g})")
