"""Agreement: ai4media_ext's RCV vs the patched captum.concept.RCV.

Run in the scratch environment of ``check.py captum`` (patched captum installed, ai4media-ext
installed with ``--no-deps``). A seeded small CNN, seeded texture images whose concept measures
are real image statistics (mean intensity and the GLCM contrast (texture) of ai4media_ext's measures
module), two layers (a conv layer and a linear one), OLS and ridge, three fold seeds. The fitted
RCVs (direction, coefficients, intercept, per-fold R^2) and the interpretation (sensitivities,
share of positive sensitivities, Br score, R^2) must agree to 1e-9 (float64 on both sides).
Exits 1 on the first mismatch.

Mapping: the product takes a flat concept list and keys results by ``concept.identifier``
(``"name-id"``), with the positive share under ``"tcav"``; the patch takes TCAV's
``experimental_sets`` and keys by the set's id string, with TCAV's ``"sign_count"``. Since the
product took TCAV's nested ``experimental_sets`` too (#26 items 8-10), it is also called with the
patch's own nested set and every score tensor the patch returns is compared key by key (the
product lays sensitivities out ``(N, k)``, the patch ``(k, N)``).
"""

import sys

import numpy as np
import torch
from captum.concept import RCV as UpstreamRCV
from captum.concept import RegressionConcept as UpstreamConcept
from torch import nn
from torch.utils.data import DataLoader

from ai4media_ext.explainability.rcv import RCV, RegressionConcept, measures


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(6, 8, 3)
        self.relu2 = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc1 = nn.Linear(32, 16)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        x = self.pool(self.relu2(self.conv2(self.relu1(self.conv1(x)))))
        return self.fc2(self.relu3(self.fc1(x.flatten(1))))


def images(seed, n=48, side=16):
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.2, 2.0, n)[:, None, None]
    grid = np.arange(side)[None, :, None] + np.arange(side)[None, None, :]
    img = 0.5 + 0.4 * np.sin(freq * grid) * rng.uniform(0.2, 1.0, n)[:, None, None]
    img = np.clip(img + rng.normal(0, 0.03, img.shape), 0, 1)
    return img


def close(a, b, tol=1e-9):
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=tol, atol=tol))


def main():
    torch.manual_seed(0)
    model = Net().eval()
    img = images(0)
    x = torch.from_numpy(img[:, None]).float()
    values = {
        "intensity": img.mean(axis=(1, 2)),
        "contrast": measures.texture(img, properties=("contrast",))["contrast"],
    }
    inputs = torch.from_numpy(images(1, n=20)[:, None]).float()
    compared = compared_sets = 0
    for ridge in (0.0, 0.1):
        for seed in (0, 1, 2):
            ours = RCV(model, ["conv2", "fc1"], n_splits=3, ridge=ridge, random_state=seed)
            theirs = UpstreamRCV(
                model, ["conv2", "fc1"], n_splits=3, ridge=ridge, random_state=seed
            )
            ours_c = [
                RegressionConcept(i, name, DataLoader(x, batch_size=16), v)
                for i, (name, v) in enumerate(values.items())
            ]
            theirs_c = [
                UpstreamConcept(i, name, DataLoader(x, batch_size=16), v)
                for i, (name, v) in enumerate(values.items())
            ]
            a = ours.interpret(inputs, ours_c, target=2)
            b = theirs.interpret(inputs, [theirs_c], target=2)["0-1"]
            # the product's TCAV form: the same nested experimental_sets, keyed by the set
            nested = ours.interpret(inputs, [ours_c], target=2)
            if sorted(nested) != ["0-1"]:
                print(f"MISMATCH nested set keys: {sorted(nested)}")
                return 1
            for layer in ("conv2", "fc1"):
                for key, q in b[layer].items():
                    p = nested["0-1"][layer][key]
                    # sensitivities: (N, k) in the product, (k, N) in the patch
                    p = p.T if key == "sensitivity" else p
                    if not close(p, q):
                        print(f"MISMATCH nested ridge={ridge} seed={seed} {layer} {key}:"
                              f"\n  {p}\n  {q}")  # fmt: skip
                        return 1
                    compared_sets += 1
            for i, concept in enumerate(ours_c):
                for layer in ("conv2", "fc1"):
                    fa = ours.rcvs[(concept.identifier, layer)]
                    fb = theirs.rcvs[str(concept.id)][layer]
                    sa, sb = a[concept.identifier][layer], b[layer]
                    pairs = [
                        (fa[k], fb[k])
                        for k in ("direction", "coefficients", "intercept", "r2_folds", "r2")
                    ]
                    pairs += [(sa["sensitivity"], sb["sensitivity"][i]),
                              (sa["tcav"], sb["sign_count"][i]),
                              (sa["br_score"], sb["br_score"][i]), (sa["r2"], sb["r2"][i])]  # fmt: skip
                    for p, q in pairs:
                        if not close(p, q):
                            print(f"MISMATCH ridge={ridge} seed={seed} {concept.name} {layer}:"
                                  f"\n  {p}\n  {q}")  # fmt: skip
                            return 1
                        compared += 1
    print(f"agree: {compared} quantities equal to 1e-9 (2 ridges x 3 seeds x 2 concepts "
          f"x 2 layers x 9 quantities); {compared_sets} score tensors of the nested "
          f"experimental set equal to 1e-9")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
