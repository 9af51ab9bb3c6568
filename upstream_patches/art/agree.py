"""Agreement check: the patched ART classes and ai4media-ext's give the same outputs at fixed seeds.

- ``KAnonymityAttackPyTorch`` (patch 0001) vs ``ai4media_ext.robustness.KAnonymityAttack``: the same
  target ranks and bit-identical adversarial examples (same classifier, inputs, seed);
  ``cw_ssim`` identical.
- ``PyTorchGenerator`` and the DGM attacks (patch 0002), when that patch is applied: the same
  generator outputs and the same poisoned-generator outputs and fidelities at fixed seeds.

Run by ``upstream_patches/check.py art`` in the scratch environment holding both the patched ART
and ai4media-ext; exits non-zero on any mismatch.
"""

import importlib.util
import sys

import numpy as np
import torch
from art.estimators.classification import PyTorchClassifier

FAILURES = []


def report(name: str, ok: bool, detail: str = "") -> None:
    print(f"{name}: {'agree' if ok else 'DIFFER'} {detail}")
    if not ok:
        FAILURES.append(name)


def small_classifier(seed: int) -> PyTorchClassifier:
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 5),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 12 * 12, 10),
    )
    return PyTorchClassifier(
        model, loss=torch.nn.CrossEntropyLoss(), input_shape=(1, 28, 28), nb_classes=10, clip_values=(0.0, 1.0)
    )


def check_kanonymity() -> None:
    from art.attacks.evasion import KAnonymityAttackPyTorch
    from art.attacks.evasion.k_anonymity import cw_ssim as art_cw_ssim

    from ai4media_ext.robustness.cwssim import cw_ssim
    from ai4media_ext.robustness.kanonymity import KAnonymityAttack

    x = np.random.RandomState(0).rand(24, 1, 28, 28).astype(np.float32)
    xt = torch.tensor(x)
    report("cw_ssim", torch.equal(art_cw_ssim(xt[:6], xt[6:12]), cw_ssim(xt[:6], xt[6:12])))
    for k, seed in [(1, 0), (3, 1), (5, 2)]:
        classifier = small_classifier(seed)
        y = classifier.predict(x).argmax(1)
        kwargs = dict(k=k, max_iter=60, batch_size=16, random_state=seed, verbose=False)
        ours = KAnonymityAttack(classifier, **kwargs)
        theirs = KAnonymityAttackPyTorch(classifier, **kwargs)
        same_ranks = np.array_equal(ours.target_ranks(len(x)), theirs.target_ranks(len(x)))
        a, b = ours.generate(x, y), theirs.generate(x, y)
        report(f"KAnonymityAttack k={k}", same_ranks and np.array_equal(a, b),
               f"(target ranks equal: {same_ranks}; max |difference| {np.abs(a - b).max():.3g})")


def main() -> int:
    check_kanonymity()
    if importlib.util.find_spec("art.estimators.generation.pytorch") is not None:
        from agree_dgm import check_dgm

        check_dgm(report)
    else:
        print("DGM patch not applied: PyTorchGenerator comparison skipped")
    print(f"agree: {'pass' if not FAILURES else 'FAIL ' + ', '.join(FAILURES)}")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
