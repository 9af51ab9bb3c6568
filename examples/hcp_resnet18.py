"""Full-size HCP check (issue #6, for a GPU): CIFAR ResNet-18 trained with softmax cross-entropy
(SM) and with HCPTrainer (``layer3``, ``layer4`` and the logits), same optimiser, epochs and data;
clean accuracy on the 10k test images, robust accuracy under ART's FGSM, BIM, MIM, AutoPGD (CE,
DLR) and a BIM transfer attack from SM (eps = 0.03) on the first ``--n-attack`` test images.

    python examples/hcp_resnet18.py --data-root ../shared/data --out runs/hcp_resnet18 \\
        [--device cuda] [--epochs 30]

Writes ``results.json`` (keys ``cifar10_<method>_<attack>`` as in the ``hcp`` experiment, plus
seconds per epoch and the device) atomically into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from ai4media_ext.data.splits import cifar10_split
from ai4media_ext.experiments import write_json_atomic
from ai4media_ext.experiments._core import numpy_global_seed
from ai4media_ext.experiments.hcp import EPS, attacks, train
from ai4media_ext.zoo import ResNet18CIFAR, art_classifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--device", default="cuda", choices=("cpu", "cuda"))
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--n-test", type=int, default=10_000)
    parser.add_argument("--n-attack", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    eps = EPS["cifar10"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.backends.cudnn.benchmark = True
    _, x_tr, y_tr, x_te, y_te = cifar10_split(args.data_root, args.seed)
    x_tr, y_tr = x_tr[: args.n_train], y_tr[: args.n_train]
    x_te, y_te = x_te[: args.n_test], y_te[: args.n_test]
    xs, ys = x_te[: args.n_attack], y_te[: args.n_attack]
    results: dict[str, object] = {
        "model": "resnet18_cifar",
        "device": torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu",
        "cifar10_epochs": args.epochs,
        "cifar10_eps": eps,
        "n_train": len(y_tr),
        "n_test": len(y_te),
        "n_attack": len(ys),
    }
    classifiers = {}
    for method in ("sm", "hcp"):
        torch.manual_seed(args.seed)
        clf = art_classifier(ResNet18CIFAR(), x_tr.shape[1:], args.device)
        with numpy_global_seed(args.seed):
            results[f"cifar10_{method}_seconds_per_epoch"] = train(
                method, clf, x_tr, y_tr, args.epochs, eps, layers=("layer3", "layer4")
            )
            classifiers[method] = clf
            acc = lambda xa, ya: float((clf.predict(xa, batch_size=500).argmax(1) == ya).mean())  # noqa: E731, B023
            results[f"cifar10_{method}_clean"] = acc(x_te, y_te)
            for name, attack in attacks(clf, eps, quick=False, batch_size=250).items():
                start = time.perf_counter()
                results[f"cifar10_{method}_{name}"] = acc(attack.generate(xs, y=ys), ys)
                results[f"cifar10_{method}_{name}_seconds"] = time.perf_counter() - start
        print(method, {k: v for k, v in results.items() if f"_{method}_" in k}, flush=True)
        write_json_atomic(out / "results.json", results)  # keep what is done if cut short
    transfer = attacks(classifiers["sm"], eps, quick=False, batch_size=250)["bim"].generate(
        xs, y=ys
    )
    for method, clf in classifiers.items():
        results[f"cifar10_{method}_transfer"] = float(
            (clf.predict(transfer).argmax(1) == ys).mean()
        )
    results["cifar10_hcp_minus_sm_fgsm_points"] = 100 * (
        results["cifar10_hcp_fgsm"] - results["cifar10_sm_fgsm"]  # type: ignore[operator]
    )
    results["cifar10_hcp_minus_sm_clean_points"] = 100 * (
        results["cifar10_hcp_clean"] - results["cifar10_sm_clean"]  # type: ignore[operator]
    )
    write_json_atomic(out / "results.json", results)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
