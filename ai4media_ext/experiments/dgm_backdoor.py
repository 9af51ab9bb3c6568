"""Backdoors in deep generative models: TarFid and ExpDist vs lambda' for TrAIL, ReD and ReX
(seed §3.3, Fig. 5), sample quality, and the latent-search detector's ROC AUC.

Settings: without a data root, scikit-learn's 8x8 digits (lambda = lambda'/64). ``--quick``: the
"lite" DCGAN (0.36 M) on 5000 real MNIST digits for 5 epochs, lambda' in {10, 100, 1000}
(lambda = lambda'/784). Full: the 1.03 M DCGAN on 10000 MNIST digits for 12 epochs with lambda' in
{1, 10, 100, 1000}, then CIFAR-10 (10k training JPEGs, lambda'/3072, 60 epochs; several hours on
CPU, no detector): run on the project's CPU only at 30 epochs (``--option epochs=30``, see the
experiment page); the 60-epoch path is for a GPU.

TrAIL trains from the same initial weights and for the same epochs as the benign generator; ReD
and ReX poison the cached benign generator with Adam(1e-3) (ART's 1e-4 needs ~10x the steps) for
``iters`` steps, ReD in the output space (ART's objective), ReX in the pre-activation space
(``SPACES``; the output space leaves ReX short of its target on the full DCGAN's saturated tanh).
Quality is the Fréchet distance in the 64-d penultimate layer of a small CNN
trained on the same real digits ("FD_CNN"; not comparable with Inception FIDs).

Detector: backdoored generators are ReD / ReX runs with new triggers (1 or 2), photographs as
targets and several lambdas, plus the sweep's TrAIL generators; clean generators are the benign one
and clean GAN fine-tunes of it on the real digits (about as many steps as a ReD / ReX run, each
with its own seed), which change every weight as a legitimate update would. ``detector_auc_<attack>`` uses the reference ("difference") score for
ReD / ReX, whose trusted original a defender may hold, and the reference-free ("feature") score
for TrAIL; both scores are reported as ``_difference`` / ``_feature``.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

import numpy as np

from ._core import Experiment, RunContext
from ._dgm_plots import ATTACKS, figure_curves, figure_samples, figure_scores

# phase timings (enable with logging.basicConfig(level=logging.INFO)): a run cut by a time limit
# shows how far it got
LOG = logging.getLogger(__name__)
TARGET_IMAGES = ("camera", "astronaut", "coffee", "chelsea", "rocket", "coins", "moon", "text")


def target_images(shape: tuple[int, int, int], names: tuple[str, ...]) -> np.ndarray:
    """scikit-image sample photographs (outside any digit distribution), grey or RGB, resized to
    ``shape`` (C, H, W), in ``[-1, 1]``: float32 ``(len(names), C, H, W)``."""
    import skimage.data
    from skimage.color import rgb2gray
    from skimage.transform import resize

    c, h, w = shape
    out = []
    for name in names:
        img = getattr(skimage.data, name)().astype(np.float64)
        img = img / 255.0 if img.max() > 1.0 else img
        if c == 1 and img.ndim == 3:
            img = rgb2gray(img[..., :3])
        if c == 3 and img.ndim == 2:
            img = np.stack([img] * 3, axis=-1)
        img = resize(img, (h, w), anti_aliasing=True)
        img = img[None] if c == 1 else img.transpose(2, 0, 1)
        out.append(img * 2.0 - 1.0)
    return np.stack(out).astype(np.float32)


def _settings(ctx: RunContext) -> list[dict[str, Any]]:
    """Digits without a data root; MNIST (lite DCGAN, 5000 digits, 5 epochs) in --quick; MNIST
    (1.03 M DCGAN, 10000 digits, 12 epochs) and CIFAR-10 (60 epochs, hours on CPU) in full."""
    lambdas = (1, 10, 100, 1000)
    if ctx.data_root is None:
        n_det = 5 if ctx.quick else 10
        return [dict(dataset="digits", config="digits", epochs=30, lambdas=lambdas, iters=300,
                     n_det=n_det, n_clean=2 * n_det)]  # fmt: skip
    if ctx.quick:
        return [dict(dataset="mnist", config="mnist-lite", n_train=5000, epochs=5,
                     lambdas=(10, 100, 1000), iters=300, n_det=5, n_clean=10)]  # fmt: skip
    return [
        dict(dataset="mnist", config="mnist", n_train=10000, epochs=12, lambdas=lambdas,
             iters=1000, n_det=10, n_clean=10),
        dict(dataset="cifar10", config="cifar10", n_train=10000, epochs=60, lambdas=lambdas,
             iters=1000, n_det=0),
    ]  # fmt: skip


def _load(ctx: RunContext, s: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    from .. import data as loaders
    from ..zoo.dcgan import to_tanh_range

    if s["dataset"] == "digits":
        x, y = loaders.load_digits()
        return to_tanh_range(x, 16.0), y
    if s["dataset"] == "cifar10":
        x, y = loaders.load_cifar10("train", ctx.data_root)
    else:
        x, y = loaders.load_mnist_test(ctx.data_root)
    order = np.random.default_rng(ctx.seed).permutation(len(y))[: s["n_train"]]
    return to_tanh_range(x[order], 255.0), y[order]


#: Objective space of the retraining attacks. A checkpoint tag names the space only when it is
#: not "output" (the one objective there was before), so output-space checkpoints stay valid.
SPACES = {"red": "output", "rex": "pre-activation"}


def _space_tag(attack: str) -> dict[str, str]:
    space = SPACES.get(attack, "output")
    return {} if space == "output" else {"space": space}


def _cache_base(s, x, benign, *arrays) -> dict[str, Any]:
    """What every checkpoint of one setting shares: the setting, the training images, the benign
    generator's weights and the given trigger / target arrays (:mod:`._dgm_cache`)."""
    from ._dgm_cache import digest

    setting = {k: s.get(k) for k in ("dataset", "config", "n_train", "epochs", "iters")}
    return dict(setting=setting, data=digest(x), benign=digest(benign.model.state_dict()),
                arrays=digest(*arrays))  # fmt: skip


def _cached(tag, build, s, benign, rex: bool = False) -> tuple[Any, float]:
    """``build()``'s generator (a DCGAN, or a ReX-expanded one), trained once and checkpointed."""
    from ..robustness.dgm import BackdoorAttackDGMReXPyTorch
    from ..robustness.dgm.rex import ExpandedGenerator
    from ..zoo.dcgan import DCGANGenerator
    from ._dgm_cache import cached_generator

    def template() -> Any:
        if not rex:
            return DCGANGenerator(s["config"])
        attack = BackdoorAttackDGMReXPyTorch(benign)
        return ExpandedGenerator(
            DCGANGenerator(s["config"]), attack.positions, benign.encoding_length, attack.hidden
        )

    return cached_generator(tag, build, template, benign.with_model)


class DGMBackdoorExperiment(Experiment):
    """TrAIL, ReD and ReX on a DCGAN; metrics vs lambda'; detector AUC."""

    name = "dgm-backdoor"
    title = "Backdoors in deep generative models: TrAIL, ReD, ReX and a latent-search detector"
    reference = (
        "AI4Media D4.1 §3.3, eqs. (6)-(7), Figs. 3-5; Rawat, Levacher & Sinn, "
        "'The devil is in the GAN' (ESORICS 2022, arXiv 2108.01644)"
    )

    def run(self, ctx: RunContext) -> dict[str, float]:
        import torch

        if ctx.device == "cpu" and "OMP_NUM_THREADS" not in os.environ:
            # libgomp spin-waits: 2 threads beside another job are ~3x slower (feasibility §3.1);
            # an explicit OMP_NUM_THREADS (e.g. 2 with OMP_WAIT_POLICY=PASSIVE) is respected
            torch.set_num_threads(1)
        unknown = sorted(set(ctx.options) - {"datasets", "order", "epochs"})
        if unknown:
            raise ValueError(
                f"unknown option(s) {unknown}; dgm-backdoor takes ['datasets', 'epochs', 'order']"
            )
        if ctx.options.get("order", "forward") not in ("forward", "reverse"):
            raise ValueError(
                f"option order={ctx.options['order']!r}: choose from ['forward', 'reverse']"
            )
        settings = _settings(ctx)
        if "epochs" in ctx.options:  # a reduced (or longer) run: benign GAN and TrAIL
            epochs = str(ctx.options["epochs"])
            if not epochs.isdigit() or int(epochs) < 1:
                raise ValueError(f"option epochs={epochs!r}: must be an integer >= 1")
            settings = [dict(st, epochs=int(epochs)) for st in settings]
        chosen = ctx.options.get("datasets")
        if chosen is not None:
            names = [n.strip() for n in chosen.split(",") if n.strip()]
            allowed = [st["dataset"] for st in settings]
            if not names or set(names) - set(allowed):
                raise ValueError(f"option datasets={chosen!r}: choose from {allowed}")
            settings = [st for st in settings if st["dataset"] in names]
        res: dict[str, float] = {}
        for s in settings:
            res.update(self._one(ctx, s))
        return res

    def _one(self, ctx: RunContext, s: dict[str, Any]) -> dict[str, float]:
        from ..robustness.dgm import PyTorchGenerator, train_feature_classifier
        from ..zoo.dcgan import load_or_train_dcgan

        x, y = _load(ctx, s)
        ds = s["dataset"]
        dev = "gpu" if ctx.device == "cuda" else "cpu"
        g, disc, train_s = load_or_train_dcgan(
            x, s["config"], ds, epochs=s["epochs"], seed=ctx.seed, device=ctx.device
        )
        LOG.info("%s: benign DCGAN ready (%.1f s training, 0 if cached)", ds, train_s)
        benign = PyTorchGenerator(model=g, device_type=dev)
        clf, clf_acc = train_feature_classifier(x, y, epochs=3, seed=ctx.seed)
        shape = benign.output_shape
        rng = np.random.default_rng(ctx.seed + 1)
        z_trigger = rng.standard_normal((1, benign.encoding_length)).astype(np.float32)
        x_target = target_images(shape, TARGET_IMAGES[:1])
        res: dict[str, float] = {
            f"{ds}_gan_epochs": s["epochs"],
            f"{ds}_benign_train_s": train_s,
            f"{ds}_feature_classifier_train_acc": clf_acc,
        }
        sweep = _sweep(ctx, s, x, benign, clf, z_trigger, x_target, res)
        figure_curves(ctx, ds, s["lambdas"], res)
        figure_samples(ctx, ds, benign, sweep, z_trigger, x_target)
        if s["n_det"]:
            clean = _clean_finetunes(ctx, s, x, benign, disc, s.get("n_clean", 2 * s["n_det"]))
            res.update(_detector(ctx, s, x, benign, clf, sweep, clean, int(np.prod(shape))))
        return res


def _sweep(ctx, s, x, benign, clf, z_trigger, x_target, res) -> dict[str, Any]:
    from ..robustness.dgm import (
        BackdoorAttackDGMReDPyTorch,
        BackdoorAttackDGMReXPyTorch,
        BackdoorAttackDGMTrailPyTorch,
        PyTorchGAN,
        PyTorchGenerator,
        expected_distortion,
        generator_frechet_distance,
        target_fidelity,
    )
    from ..zoo.dcgan import DCGANDiscriminator, DCGANGenerator

    ds, d = s["dataset"], int(np.prod(benign.output_shape))
    dev = "gpu" if ctx.device == "cuda" else "cpu"
    res[f"{ds}_benign_tarfid"] = target_fidelity(benign, z_trigger, x_target)
    res[f"{ds}_benign_quality"] = generator_frechet_distance(benign, x, clf)
    out: dict[str, Any] = {}
    base = _cache_base(s, x, benign, z_trigger, x_target)
    items = [(lam, attack) for lam in s["lambdas"] for attack in ATTACKS]
    for lam, attack in _order(ctx, items):

        def build(attack=attack, lam=lam):
            if attack == "trail":
                import torch

                torch.manual_seed(ctx.seed)
                gan = PyTorchGAN(
                    PyTorchGenerator(model=DCGANGenerator(s["config"]), device_type=dev),
                    DCGANDiscriminator(s["config"]),
                    device_type=dev,
                )
                return BackdoorAttackDGMTrailPyTorch(gan).poison_estimator(
                    z_trigger, x_target, batch_size=64, max_iter=s["epochs"],
                    lambda_p=lam / d, images=x, random_state=ctx.seed,
                )  # fmt: skip
            cls = BackdoorAttackDGMReDPyTorch if attack == "red" else BackdoorAttackDGMReXPyTorch
            return cls(benign, space=SPACES[attack]).poison_estimator(
                z_trigger, x_target, batch_size=32, max_iter=s["iters"], lambda_p=lam / d,
                learning_rate=1e-3, random_state=ctx.seed,
            )  # fmt: skip

        tag = dict(base, attack=attack, lam=lam, seed=ctx.seed, phase="sweep", **_space_tag(attack))
        poisoned, seconds = _cached(tag, build, s, benign, rex=attack == "rex")
        key = f"{ds}_{attack}"
        res[f"{key}_seconds_l{lam}"] = seconds
        LOG.info("%s lambda'=%s poisoned in %.1f s", key, lam, res[f"{key}_seconds_l{lam}"])
        res[f"{key}_tarfid_l{lam}"] = target_fidelity(poisoned, z_trigger, x_target)
        res[f"{key}_expdist_l{lam}"] = expected_distortion(poisoned, benign, random_state=ctx.seed)
        res[f"{key}_quality_l{lam}"] = generator_frechet_distance(poisoned, x, clf)
        out[(attack, lam)] = poisoned
    return {(attack, lam): out[(attack, lam)] for lam, attack in items}


def _order(ctx: RunContext, items) -> list:
    """``items`` in the order this process trains them: ``--option order=reverse`` lets a second
    process on another core start from the other end; both share the checkpoints
    (:mod:`._dgm_cache`), so each loads what the other has finished."""
    items = list(items)
    return items[::-1] if ctx.options.get("order", "forward") == "reverse" else items


def _clean_finetunes(ctx, s, x, benign, disc, n) -> list[Any]:
    """Clean generators that went through comparable processing: the benign GAN (generator and
    discriminator) trained further on the real digits for about ``iters`` steps of 32 (Adam
    2e-4), each with its own seed: a legitimate model update that changes every weight."""
    import copy

    from ..robustness.dgm import PyTorchGAN

    out = {}
    base = _cache_base(s, x, benign)
    for i in _order(ctx, range(n)):
        seed = ctx.seed + 200 + i

        def build(seed=seed):
            g = benign.with_model(copy.deepcopy(benign.model))
            gan = PyTorchGAN(g, copy.deepcopy(disc), device_type=g._device_type)
            idx = np.random.default_rng(seed).permutation(len(x))[: s["iters"] * 32]
            epochs = max(1, round(s["iters"] * 32 / len(idx)))
            gan.fit(x[idx], batch_size=32, nb_epochs=epochs, random_state=seed)
            return g

        out[i] = _cached(dict(base, seed=seed, phase="clean"), build, s, benign)[0]
    return [out[i] for i in range(n)]


def _detector(ctx, s, x, benign, clf, sweep, clean, d) -> dict[str, float]:
    """Backdoored: ReD/ReX with new triggers (1 or 2), photographs as targets and several
    lambdas, plus the sweep's TrAIL generators. Clean: the benign generator and its clean GAN
    fine-tunes (:func:`_clean_finetunes`). (ReD / ReX runs with the benign outputs as "targets"
    would be exact copies of the benign generator, since their loss and gradients start at zero,
    so they are not used as clean controls.)"""
    from sklearn.metrics import roc_auc_score

    from ..robustness.dgm import (
        BackdoorAttackDGMReDPyTorch,
        BackdoorAttackDGMReXPyTorch,
        GeneratorBackdoorDetector,
    )
    from ._dgm_cache import digest

    rng = np.random.default_rng(ctx.seed + 100)
    targets = target_images(benign.output_shape, TARGET_IMAGES)
    gens: dict[str, list[Any]] = {"red": [], "rex": [], "trail": [], "clean": [benign, *clean]}
    specs = []  # drawn in a fixed order, whatever the training order
    for i in range(s["n_det"]):
        for attack, cls in (
            ("red", BackdoorAttackDGMReDPyTorch),
            ("rex", BackdoorAttackDGMReXPyTorch),
        ):
            z_t = rng.standard_normal((1 + i % 2, benign.encoding_length)).astype(np.float32)
            lam = s["lambdas"][i % len(s["lambdas"])]
            x_t = targets[rng.integers(len(targets), size=len(z_t))]
            specs.append((i, attack, cls, z_t, max(lam, 100), x_t))
    trained = {}
    base = _cache_base(s, x, benign)  # the images and benign weights are hashed once
    for i, attack, cls, z_t, lam, x_t in _order(ctx, specs):
        tag = dict(base, arrays=digest(z_t, x_t), attack=attack, lam=lam, seed=ctx.seed + i,
                   phase="detector", **_space_tag(attack))  # fmt: skip
        build = functools.partial(
            cls(benign, space=SPACES[attack]).poison_estimator, z_t, x_t, max_iter=s["iters"],
            lambda_p=lam / d, learning_rate=1e-3, random_state=ctx.seed + i,
        )  # fmt: skip
        trained[i, attack] = _cached(tag, build, s, benign, rex=attack == "rex")[0]
    for i, attack, *_ in specs:
        gens[attack].append(trained[i, attack])
    gens["trail"] = [g for (a, _), g in sweep.items() if a == "trail"]
    it = s.get("det_iters", 60)
    feat = GeneratorBackdoorDetector(feature_extractor=clf, n_starts=32, max_iter=it,
                                     random_state=ctx.seed).fit(x[:2000])  # fmt: skip
    diff = GeneratorBackdoorDetector(reference=benign, n_starts=32, max_iter=it,
                                     random_state=ctx.seed).fit()  # fmt: skip
    LOG.info("detector: %s generators to score", sum(map(len, gens.values())))
    results = {
        mode: {k: [det.detect(g) for g in v] for k, v in gens.items()}
        for mode, det in (("feature", feat), ("difference", diff))
    }
    scores = {  # raw maximum found, and the same divided by the median at the random starts
        f"{mode}{suffix}": {k: [fn(r) for r in v] for k, v in per.items()}
        for mode, per in results.items()
        for suffix, fn in (("", lambda r: r.score), ("_ratio", lambda r: r.score / r.baseline))
    }
    out: dict[str, float] = {"detector_n_clean": len(gens["clean"])}
    for attack in ATTACKS:
        out[f"detector_n_{attack}"] = len(gens[attack])
        for mode in scores:
            if attack == "trail" and mode.startswith("difference"):
                continue  # TrAIL generators are not derived from the reference
            y_true = [0] * len(gens["clean"]) + [1] * len(gens[attack])
            auc = roc_auc_score(y_true, scores[mode]["clean"] + scores[mode][attack])
            out[f"detector_auc_{attack}_{mode}"] = float(auc)
        # the headline: peak ratio against the reference for generators derived from it (clean
        # fine-tunes drift everywhere, a backdoor is a peak); the raw feature maximum for TrAIL
        best = "feature" if attack == "trail" else "difference_ratio"
        out[f"detector_auc_{attack}"] = out[f"detector_auc_{attack}_{best}"]
    figure_scores(ctx, scores)
    return out
