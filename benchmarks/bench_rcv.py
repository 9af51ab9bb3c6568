"""RCV costs vs scikit-image and captum's TCAV, in one process.

1. Concept measures for N real images (CIFAR-10 test set): our vectorised GLCM texture
   statistics vs scikit-image ``graycomatrix`` + ``graycoprops`` per image, and our region
   measures vs ``regionprops`` + ``perimeter`` per image.
2. RCV fit + scores vs captum ``TCAV`` (CAV fit + scores) on the same model, layers and inputs.
3. TCAV's call shape (issue 26): nested experimental sets with ``save_path``, a first call and
   a second interpreter served from the store, for RCV and TCAV; and RCV's one backward pass for
   all layers vs one attribution call per layer (TCAV's way).

Run: python benchmarks/bench_rcv.py --data-root ../shared/data [--n 10000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import torch
from captum.concept import TCAV, Concept
from skimage.feature import graycomatrix, graycoprops
from skimage.measure import perimeter, regionprops
from torch.utils.data import DataLoader

from ai4media_ext.data import load_cifar10
from ai4media_ext.data.splits import scale_pixels
from ai4media_ext.explainability.rcv import RCV, RegressionConcept, measures
from ai4media_ext.zoo import SmallCNN

PROPS = ("contrast", "dissimilarity", "homogeneity", "ASM", "energy", "correlation")


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--n-skimage", type=int, default=1000, help="images timed for skimage")
    args = parser.parse_args()
    x, _ = load_cifar10("test", args.data_root)
    x = x[: args.n]
    grey = measures.to_gray_uint8(x)

    _, t_tex = timed(lambda: measures.texture(x, PROPS))
    sub = grey[: args.n_skimage]

    def skimage_texture():
        for g in sub:
            m = graycomatrix(g, [1], [0], 256, symmetric=True, normed=True)
            for p in PROPS:
                graycoprops(m, p)

    _, t_sk = timed(skimage_texture)
    t_sk_full = t_sk * len(x) / len(sub)
    masks = measures.otsu_masks(x)
    _, t_reg = timed(lambda: measures.region(masks))

    def skimage_region():
        return [
            (regionprops(m.astype(int))[0].eccentricity, perimeter(m, 4))
            for m in masks[: args.n_skimage]
        ]

    _, t_sk_reg = timed(skimage_region)
    t_sk_reg_full = t_sk_reg * len(x) / args.n_skimage

    torch.manual_seed(0)
    model = SmallCNN(3, 32).eval()
    images = torch.from_numpy(scale_pixels(x[:1000]))
    inputs = images[:200]
    contrast = measures.texture(x[:1000], ("contrast",))["contrast"]
    layers = ["conv2", "conv3", "fc1"]
    loader = DataLoader(images[:500], batch_size=100)
    loader_b = DataLoader(images[500:1000], batch_size=100)

    def run_rcv():
        rcv = RCV(model, layers, ridge=0.01)
        c = RegressionConcept(0, "contrast", loader, contrast[:500])
        return rcv.interpret(inputs, [c], target=0)

    def run_tcav():
        with tempfile.TemporaryDirectory() as tmp:
            tcav = TCAV(model, layers, save_path=tmp)
            c0 = Concept(0, "a", loader)
            c1 = Concept(1, "b", loader_b)
            return tcav.interpret(inputs, [[c0, c1]], target=0)

    _, t_rcv = timed(run_rcv)
    _, t_tcav = timed(run_tcav)
    store = _store_costs(model, layers, inputs, loader, loader_b, contrast)
    rcv = RCV(model, layers)
    _, t_one_pass = timed(lambda: rcv._attributions(inputs, layers, 0, None, {}))
    _, t_per_layer = timed(lambda: [rcv.layer_gradients(inputs, layer, 0) for layer in layers])
    print(
        json.dumps(
            {
                "n_images": len(x),
                "texture_ours_s": t_tex,
                "texture_skimage_s_extrapolated": t_sk_full,
                "texture_speedup": t_sk_full / t_tex,
                "region_ours_s": t_reg,
                "region_skimage_s_extrapolated": t_sk_reg_full,
                "region_speedup": t_sk_reg_full / t_reg,
                "rcv_fit_and_scores_s": t_rcv,
                "tcav_fit_and_scores_s": t_tcav,
                "rcv_time_ratio_vs_tcav": t_rcv / t_tcav,
                "setting": "3 layers, 500 concept images, 200 inputs, 1 concept (TCAV: 1 pair)",
                **store,
                "attributions_one_pass_s": t_one_pass,
                "attributions_per_layer_s": t_per_layer,
                "attributions_speedup": t_per_layer / t_one_pass,
            },
            indent=2,
        )
    )


def _store_costs(model, layers, inputs, loader, loader_b, contrast) -> dict[str, float]:
    """Seconds of a first nested-set interpret with ``save_path`` and of a second interpreter
    on the same store, for RCV (2 regression concepts) and TCAV (the same 2 concepts)."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        sets = [[RegressionConcept(0, "a", loader, contrast[:500]),
                 RegressionConcept(1, "b", loader_b, contrast[500:1000])]]  # fmt: skip
        for run in ("first", "stored"):
            rcv = RCV(model, layers, ridge=0.01, save_path=tmp)
            out[f"rcv_nested_{run}_s"] = timed(lambda r=rcv: r.interpret(inputs, sets, target=0))[1]
    with tempfile.TemporaryDirectory() as tmp:
        sets = [[Concept(0, "a", loader), Concept(1, "b", loader_b)]]
        for run in ("first", "stored"):
            tcav = TCAV(model, layers, save_path=tmp)
            out[f"tcav_nested_{run}_s"] = timed(lambda t=tcav: t.interpret(inputs, sets, target=0))[
                1
            ]
    out["rcv_store_speedup"] = out["rcv_nested_first_s"] / out["rcv_nested_stored_s"]
    out["rcv_stored_time_ratio_vs_tcav_stored"] = (
        out["rcv_nested_stored_s"] / out["tcav_nested_stored_s"]
    )
    return out


if __name__ == "__main__":
    main()
