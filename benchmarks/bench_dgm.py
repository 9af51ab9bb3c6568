"""Poisoning wall time of ReD and ReX vs TrAIL (training the GAN from scratch) at equal TarFid,
same process, one thread.

TrAIL trains a DCGAN from scratch for ``--epochs`` epochs with lambda = lambda'/d; its TarFid is
the bar. ReD and ReX then poison the benign generator (same architecture and epochs, trained
beforehand or loaded from the dgm-backdoor cache, not timed: it is the pre-trained model the
attacker starts from) in chunks of 25
Adam steps until their TarFid is at most TrAIL's; the ratio is TrAIL seconds / attack seconds.

Goal: ReD and ReX at least 5x faster than TrAIL (the reason retraining attacks exist).
Run: python benchmarks/bench_dgm.py                 (sklearn digits 8x8, no data needed)
     python benchmarks/bench_dgm.py --data-root ../shared/data   (5000 MNIST digits, lite DCGAN)
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from ai4media_ext.experiments.dgm_backdoor import target_images
from ai4media_ext.robustness.dgm import (
    BackdoorAttackDGMReDPyTorch,
    BackdoorAttackDGMReXPyTorch,
    BackdoorAttackDGMTrailPyTorch,
    PyTorchGAN,
    PyTorchGenerator,
    target_fidelity,
)
from ai4media_ext.zoo.dcgan import (
    DCGANDiscriminator,
    DCGANGenerator,
    load_or_train_dcgan,
    to_tanh_range,
)


def _data(root: str | None) -> tuple[np.ndarray, str]:
    from ai4media_ext import data

    if root is None:
        return to_tanh_range(data.load_digits()[0], 16.0), "digits"
    x = data.load_mnist_test(root)[0]
    order = np.random.default_rng(0).permutation(len(x))[:5000]
    return to_tanh_range(x[order], 255.0), "mnist-lite"


def _until(attack, benign, z, x, bar, lam, lr, max_steps=5000):
    """Seconds of poisoning until TarFid <= bar (chunks of 25 steps, each restarting from the
    benign generator for the cumulative step count, timing only the final successful run)."""
    steps = 25
    while steps <= max_steps:
        start = time.perf_counter()
        poisoned = attack(benign).poison_estimator(
            z, x, max_iter=steps, lambda_p=lam, learning_rate=lr, random_state=0
        )
        seconds = time.perf_counter() - start
        fid = target_fidelity(poisoned, z, x)
        if fid <= bar:
            return seconds, steps, fid
        steps *= 2
    return float("nan"), steps, fid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-root")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--lambda-prime", type=float, default=100.0)
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="ReD/ReX Adam step")
    args = parser.parse_args()
    torch.set_num_threads(1)
    x, config = _data(args.data_root)
    epochs = args.epochs or (30 if config == "digits" else 5)
    gen0 = DCGANGenerator(config)
    d = int(np.prod(gen0.image_shape))
    lam = args.lambda_prime / d
    z = np.random.default_rng(1).standard_normal((1, gen0.latent_dim)).astype(np.float32)
    target = target_images(gen0.image_shape, ("camera",))

    torch.manual_seed(0)
    gan = PyTorchGAN(
        PyTorchGenerator(model=gen0, device_type="cpu"), DCGANDiscriminator(config),
        device_type="cpu",
    )  # fmt: skip
    start = time.perf_counter()
    trail = BackdoorAttackDGMTrailPyTorch(gan).poison_estimator(
        z, target, batch_size=64, max_iter=epochs, lambda_p=lam, images=x, random_state=0
    )
    trail_s = time.perf_counter() - start
    bar = target_fidelity(trail, z, target)

    dataset = "digits" if config == "digits" else "mnist"  # the dgm-backdoor experiment's cache
    benign_model = load_or_train_dcgan(x, config, dataset, epochs=epochs, seed=0)[0]
    benign = PyTorchGenerator(model=benign_model, device_type="cpu")
    out = {"config": config, "epochs": epochs, "lambda_prime": args.lambda_prime,
           "trail_seconds": trail_s, "trail_tarfid": bar,
           "benign_tarfid": target_fidelity(benign, z, target)}  # fmt: skip
    for name, cls in (("red", BackdoorAttackDGMReDPyTorch), ("rex", BackdoorAttackDGMReXPyTorch)):
        seconds, steps, fid = _until(cls, benign, z, target, bar, lam, args.learning_rate)
        out.update({f"{name}_seconds": seconds, f"{name}_steps": steps, f"{name}_tarfid": fid,
                    f"speedup_{name}_vs_trail": trail_s / seconds})  # fmt: skip
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
