"""How strongly to weight HCP: a validation sweep on CIFAR-10 (the test set is never touched).

Trains the experiment's CNN with softmax cross-entropy (SM) and with HCPTrainer at several
weights / soft-margin constants / layer choices on 8000 of the 10000 training images, and reports
clean, FGSM and AutoPGD-DLR accuracy (eps = 0.03) on 1000 held-out training images.

    python examples/hcp_weight_sweep.py --data-root ../shared/data [--epochs 10]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from art.attacks.evasion import AutoProjectedGradientDescent, FastGradientMethod

from ai4media_ext import data as loaders
from ai4media_ext.data.splits import scale_pixels
from ai4media_ext.experiments._core import numpy_global_seed
from ai4media_ext.robustness import HCPTrainer
from ai4media_ext.zoo import SmallCNN, art_classifier

#: name -> HCPTrainer keywords (None: plain softmax cross-entropy); "layers" beyond the logits
VARIANTS: dict[str, dict | None] = {
    "sm": None,
    "hcp_w0.01_c10": {"weight": 0.01, "c": 10.0},
    "hcp_w0.03_c10": {"weight": 0.03, "c": 10.0},
    "hcp_w0.1_c10": {"weight": 0.1, "c": 10.0},
    "hcp_w1_c10": {"weight": 1.0, "c": 10.0},
    "hcp_w1_c1": {"weight": 1.0, "c": 1.0},
    "hcp_w0.1_fc1": {"weight": 0.1, "c": 10.0, "layers": ["fc1"]},
    "hcp_w0.1_output_only": {"weight": 0.1, "c": 10.0, "layers": []},
    "hcp_w0.3_output_only": {"weight": 0.3, "c": 10.0, "layers": []},
    "hcp_w0.1_output_only_c1": {"weight": 0.1, "c": 1.0, "layers": []},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--eps", type=float, default=0.03)
    args = parser.parse_args()
    x, y = loaders.load_cifar10("train", args.data_root)
    order = np.random.default_rng(1).permutation(len(y))
    x = scale_pixels(x[order])
    y = y[order]
    x_fit, y_fit, x_val, y_val = x[:8000], y[:8000], x[8000:9000], y[8000:9000]
    results = {}
    for name, kw in VARIANTS.items():
        torch.manual_seed(0)
        clf = art_classifier(SmallCNN(3, 32), x_fit.shape[1:], "cpu")
        with numpy_global_seed(0):
            start = time.perf_counter()
            if kw is None:
                clf.fit(x_fit, y_fit, nb_epochs=args.epochs, batch_size=128, verbose=False)
            else:
                kw = dict(kw)
                layers = kw.pop("layers", ["conv3", "fc1"])
                HCPTrainer(clf, layers, verbose=False, **kw).fit(
                    x_fit, y_fit, nb_epochs=args.epochs, batch_size=128
                )
            seconds = time.perf_counter() - start
            apgd = AutoProjectedGradientDescent(
                clf, eps=args.eps, eps_step=args.eps / 4, max_iter=20, nb_random_init=1,
                loss_type="difference_logits_ratio", verbose=False,
            )  # fmt: skip
            results[name] = {
                "train_seconds": seconds,
                **{
                    key: float((clf.predict(xa).argmax(1) == y_val).mean())
                    for key, xa in (
                        ("clean", x_val),
                        ("fgsm", FastGradientMethod(clf, eps=args.eps).generate(x_val, y=y_val)),
                        ("apgd_dlr", apgd.generate(x_val, y=y_val)),
                    )
                },
            }
        print(name, json.dumps(results[name]), flush=True)


if __name__ == "__main__":
    main()
