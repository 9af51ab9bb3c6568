"""DCGAN reference generators and discriminators, one training loop and an on-disk cache.

Architectures follow Radford et al. (DCGAN, ICLR 2016) scaled to small images, as measured in
``shared/docs/wave2_feasibility.md`` §3: a linear layer to a ``C x s x s`` map (``s = H / 2**k``),
``k`` stride-2 transposed convolutions with BatchNorm + ReLU, a 3x3 convolution to the image
channels and ``tanh``, so images are in ``[-1, 1]``, shape ``(N, C, H, W)``. The generator is an
``nn.Sequential`` with named stages (``fc``, ``up1``, ..., ``to_image``, ``tanh``) so that internal
positions can be addressed by name (e.g. by ReX expansion layers, or latent-direction methods).

Configurations (``DCGAN_CONFIGS``, generator parameters): ``mnist`` (28x28x1, 1.03 M),
``mnist-lite`` (28x28x1, 0.36 M, narrower stages: about 12x cheaper per step on one CPU thread),
``cifar10`` (32x32x3, 1.11 M) and ``digits`` (8x8x1, 0.05 M, scikit-learn's digits, for tests). :func:`load_or_train_dcgan` trains once and caches the weights under
``$AI4MEDIA_EXT_CACHE/dcgan`` (default ``~/.cache/ai4media-ext/dcgan``), keyed by configuration,
data set name, number of training images, epochs and seed, written atomically.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._io import write_bytes_atomic

__all__ = [
    "DCGAN_CONFIGS",
    "DCGANConfig",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "bce_discriminator_loss",
    "bce_generator_loss",
    "dcgan_cache_path",
    "gan_training_loop",
    "load_or_train_dcgan",
    "to_tanh_range",
    "train_dcgan",
]


@dataclass(frozen=True)
class DCGANConfig:
    """Shape of a DCGAN: latent size, image shape ``(C, H, W)``, widths of the generator stages
    (first = after the linear layer; one stride-2 upsampling per further entry) and of the
    discriminator's stride-2 convolutions."""

    latent_dim: int
    image_shape: tuple[int, int, int]
    g_channels: tuple[int, ...]
    d_channels: tuple[int, ...]


DCGAN_CONFIGS: dict[str, DCGANConfig] = {
    "mnist": DCGANConfig(100, (1, 28, 28), (128, 128, 64), (64, 128)),
    "mnist-lite": DCGANConfig(100, (1, 28, 28), (64, 32, 16), (32, 64)),
    "cifar10": DCGANConfig(100, (3, 32, 32), (256, 128, 64, 32), (64, 128, 256)),
    "digits": DCGANConfig(32, (1, 8, 8), (64, 32, 16), (32, 64)),
}


class DCGANGenerator(nn.Sequential):
    """DCGAN generator ``z (N, latent_dim) float32 -> x (N, C, H, W)`` in ``[-1, 1]``.

    Stages: ``fc`` (Linear + BatchNorm + ReLU, reshaped to ``(g_channels[0], s, s)``), ``up1``..
    ``upk`` (ConvTranspose2d 4x4 stride 2 + BatchNorm + ReLU), ``to_image`` (Conv2d 3x3 to ``C``
    channels, the pre-activation output) and ``tanh``.
    """

    def __init__(self, config: DCGANConfig | str = "mnist") -> None:
        cfg = DCGAN_CONFIGS[config] if isinstance(config, str) else config
        c, h, w = cfg.image_shape
        k = len(cfg.g_channels) - 1
        s = h // 2**k
        if s * 2**k != h or h != w:
            raise ValueError(f"image shape {cfg.image_shape} is not square with side s * 2**{k}")
        ch = cfg.g_channels
        stages: dict[str, nn.Module] = {
            "fc": nn.Sequential(
                nn.Linear(cfg.latent_dim, ch[0] * s * s, bias=False),
                nn.BatchNorm1d(ch[0] * s * s),
                nn.ReLU(inplace=True),
                nn.Unflatten(1, (ch[0], s, s)),
            )
        }
        for i in range(k):
            stages[f"up{i + 1}"] = nn.Sequential(
                nn.ConvTranspose2d(ch[i], ch[i + 1], 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(ch[i + 1]),
                nn.ReLU(inplace=True),
            )
        stages["to_image"] = nn.Conv2d(ch[-1], c, 3, padding=1)
        stages["tanh"] = nn.Tanh()
        super().__init__(*[])
        for name, module in stages.items():
            self.add_module(name, module)
        self.latent_dim = cfg.latent_dim
        self.image_shape = tuple(cfg.image_shape)


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator ``x (N, C, H, W) -> logit (N,)``: stride-2 4x4 convolutions with
    LeakyReLU(0.2) (BatchNorm after the first), then a linear layer. :meth:`features` returns the
    penultimate (flattened) activations."""

    def __init__(self, config: DCGANConfig | str = "mnist") -> None:
        super().__init__()
        cfg = DCGAN_CONFIGS[config] if isinstance(config, str) else config
        c, h, _ = cfg.image_shape
        layers: list[nn.Module] = []
        prev = c
        for i, out in enumerate(cfg.d_channels):
            layers.append(nn.Conv2d(prev, out, 4, stride=2, padding=1, bias=i == 0))
            if i > 0:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            prev, h = out, (h + 2 - 4) // 2 + 1
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.num_features = prev * h * h
        self.head = nn.Linear(self.num_features, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x)).squeeze(1)


def bce_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating GAN generator loss ``-E log D(G(z))`` (Goodfellow et al. 2014)."""
    return nn.functional.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def bce_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """GAN discriminator loss ``-E log D(x) - E log(1 - D(G(z)))``."""
    bce = nn.functional.binary_cross_entropy_with_logits
    return bce(real_logits, torch.ones_like(real_logits)) + bce(
        fake_logits, torch.zeros_like(fake_logits)
    )


def to_tanh_range(x: np.ndarray, scale: float) -> np.ndarray:
    """Images ``x`` in ``[0, scale]`` (e.g. uint8 with 255) as float32 in ``[-1, 1]``, channels
    first: ``(N, H, W)`` gains a channel axis, ``(N, H, W, C)`` is transposed."""
    arr = np.asarray(x, dtype=np.float32) / np.float32(scale) * 2.0 - 1.0
    if arr.ndim == 3:
        arr = arr[:, None]
    elif arr.ndim == 4 and arr.shape[-1] in (1, 3) and arr.shape[1] not in (1, 3):
        arr = arr.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(arr)


def gan_training_loop(
    generator: nn.Module,
    discriminator: nn.Module,
    images: np.ndarray,
    *,
    generator_optimizer: torch.optim.Optimizer,
    discriminator_optimizer: torch.optim.Optimizer,
    generator_loss: Callable[[torch.Tensor], torch.Tensor] = bce_generator_loss,
    discriminator_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = (
        bce_discriminator_loss
    ),
    latent_dim: int,
    epochs: int,
    batch_size: int,
    seed: int | None = 0,
    generator_extra_loss: Callable[[nn.Module], torch.Tensor] | None = None,
    device: torch.device | str = "cpu",
    verbose: bool = False,
) -> list[tuple[float, float]]:
    """Alternating GAN training (one discriminator step, then one generator step per batch).

    ``images``: float32 ``(N, C, H, W)`` in the generator's output range. ``generator_extra_loss``
    (``f(generator) -> scalar``) is added to every generator step, as TrAIL's ``lambda * fidelity``.
    Returns the mean (generator, discriminator) loss per epoch; raises ``FloatingPointError`` when
    a loss becomes NaN/inf.
    """
    from tqdm.auto import trange  # noqa: PLC0415

    x_all = torch.as_tensor(np.asarray(images, dtype=np.float32))
    gen_rng = torch.Generator().manual_seed(int(seed) if seed is not None else 0)
    if seed is None:
        gen_rng.seed()
    history = []
    generator.to(device).train()
    discriminator.to(device).train()
    for _ in trange(epochs, desc="GAN epochs", disable=not verbose):
        order = torch.randperm(len(x_all), generator=gen_rng)
        g_sum = d_sum = 0.0
        n_batches = 0
        for start in range(0, len(x_all), batch_size):
            real = x_all[order[start : start + batch_size]].to(device)
            if len(real) < 2:  # BatchNorm needs two samples
                continue
            z = torch.randn(len(real), latent_dim, generator=gen_rng).to(device)
            fake = generator(z)
            d_loss = discriminator_loss(discriminator(real), discriminator(fake.detach()))
            discriminator_optimizer.zero_grad(set_to_none=True)
            d_loss.backward()
            discriminator_optimizer.step()
            g_loss = generator_loss(discriminator(fake))
            if generator_extra_loss is not None:
                g_loss = g_loss + generator_extra_loss(generator)
            generator_optimizer.zero_grad(set_to_none=True)
            g_loss.backward()
            generator_optimizer.step()
            g_val, d_val = g_loss.item(), d_loss.item()
            if not (np.isfinite(g_val) and np.isfinite(d_val)):
                raise FloatingPointError(
                    f"GAN loss diverged: generator {g_val}, discriminator {d_val}"
                )
            g_sum, d_sum, n_batches = g_sum + g_val, d_sum + d_val, n_batches + 1
        history.append((g_sum / max(n_batches, 1), d_sum / max(n_batches, 1)))
    generator.eval()
    discriminator.eval()
    return history


def train_dcgan(
    images: np.ndarray,
    config: DCGANConfig | str = "mnist",
    *,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 2e-4,
    seed: int = 0,
    generator_extra_loss: Callable[[nn.Module], torch.Tensor] | None = None,
    device: str = "cpu",
    verbose: bool = False,
) -> tuple[DCGANGenerator, DCGANDiscriminator]:
    """Train a DCGAN from scratch (Adam ``lr``, betas (0.5, 0.999), BCE losses; weights
    initialised from ``seed``, so one thread and a fixed seed give the same weights every run).

    Parameters
    ----------
    images : numpy.ndarray, float32, shape (N, C, H, W), values in [-1, 1]
    config : str or DCGANConfig
    epochs, batch_size, lr, seed : the training schedule.
    generator_extra_loss : callable, optional
        ``f(generator) -> scalar`` added to every generator step (TrAIL's ``lambda * fidelity``).
    device : str
    verbose : bool
        tqdm bar over epochs.

    Returns
    -------
    (DCGANGenerator, DCGANDiscriminator), both in ``eval()`` mode.
    """
    cfg = DCGAN_CONFIGS[config] if isinstance(config, str) else config
    torch.manual_seed(seed)
    gen, disc = DCGANGenerator(cfg), DCGANDiscriminator(cfg)
    gan_training_loop(
        gen,
        disc,
        images,
        generator_optimizer=torch.optim.Adam(gen.parameters(), lr=lr, betas=(0.5, 0.999)),
        discriminator_optimizer=torch.optim.Adam(disc.parameters(), lr=lr, betas=(0.5, 0.999)),
        latent_dim=cfg.latent_dim,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        generator_extra_loss=generator_extra_loss,
        device=device,
        verbose=verbose,
    )
    return gen.to("cpu"), disc.to("cpu")


def dcgan_cache_path(config: str, dataset: str, n_images: int, epochs: int, seed: int) -> Path:
    """Where :func:`load_or_train_dcgan` keeps a trained pair (``$AI4MEDIA_EXT_CACHE/dcgan/...``)."""
    base = os.environ.get("AI4MEDIA_EXT_CACHE") or Path.home() / ".cache" / "ai4media-ext"
    return Path(base) / "dcgan" / f"{config}_{dataset}_n{n_images}_e{epochs}_s{seed}.pt"


def load_or_train_dcgan(
    images: np.ndarray,
    config: str,
    dataset: str,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    seed: int = 0,
    device: str = "cpu",
    verbose: bool = False,
) -> tuple[DCGANGenerator, DCGANDiscriminator, float]:
    """A DCGAN trained on ``images`` (see :func:`train_dcgan`), from the cache when present.

    The cache key is (config, dataset, number of images, epochs, seed); the file also stores a
    SHA-256 of the training images and is retrained when that does not match. Returns the pair and
    the training seconds (0.0 when loaded).
    """
    arr = np.ascontiguousarray(np.asarray(images, dtype=np.float32))
    digest = hashlib.sha256(arr.tobytes()).hexdigest()
    path = dcgan_cache_path(config, dataset, len(arr), epochs, seed)
    gen, disc = DCGANGenerator(config), DCGANDiscriminator(config)
    if path.is_file():
        state = torch.load(path, map_location="cpu", weights_only=True)
        if state.get("sha256") == digest:
            gen.load_state_dict(state["generator"])
            disc.load_state_dict(state["discriminator"])
            return gen.eval(), disc.eval(), 0.0
    start = time.perf_counter()
    gen, disc = train_dcgan(
        arr,
        config,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        device=device,
        verbose=verbose,
    )
    seconds = time.perf_counter() - start
    buf = io.BytesIO()
    torch.save(
        {"generator": gen.state_dict(), "discriminator": disc.state_dict(), "sha256": digest}, buf
    )
    write_bytes_atomic(path, buf.getvalue())
    return gen, disc, seconds
