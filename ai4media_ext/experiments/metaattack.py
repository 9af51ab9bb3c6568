"""MetaAttack vs UAP-retrieval vs source+virtual merged on digit retrieval (seed Table 3 analogue).

Person re-ID data (Market-1501, DukeMTMC, MSMT17, PersonX) is not available offline, so the
method's structure is reproduced on digit retrieval: real source = MNIST (handwritten), virtual
meta-test domain = digits rendered from matplotlib's fonts (the PersonX analogue), unseen target
domains = MNIST-M style blends over CIFAR-10 crops and scikit-learn's digits upscaled to 28x28.
Identities are the digit classes. For each backbone (IDE-like global, PCB-like part-based) a
source model is trained on MNIST and a target model on each target domain; the perturbation is
learned on the source model only and added to the target set's queries (gallery clean); the
target model's mAP / rank-1 are reported (lower = stronger attack). The source model on held-out
MNIST (``<backbone>_mnist_to_mnist_*``) is the white-box reference.

Without the offline data root (``ctx.data_root is None``) the experiment runs on real data shipped
inside the pinned dependencies only: the real (handwritten) source is scikit-learn's 1797 digits
upscaled to 28x28, split at random into disjoint halves: the source model's training set (whose
first ``n_attack`` images are also the attack set) and the held-out white-box reference (query
and gallery, ``<backbone>_digits_to_digits_*``); the virtual domain is unchanged (font-rendered
digits); the single unseen target domain ``digitsm`` is the same MNIST-M blend of the digits'
strokes over random crops of tiles of the colour photographs in scikit-image's wheel
(:func:`~ai4media_ext.data.digit_domains.photo_backgrounds`: astronaut, chelsea, coffee, rocket)
instead of CIFAR-10. Its target model trains on the blends of the source half's strokes (other
backgrounds), and its query / gallery are the blends of the held-out half's strokes, so no
attacked query shares a stroke with the attack set. This is a smaller, easier substitute than
MNIST / MNIST-M (about 900 source images, 206 background tiles), not the MNIST numbers.

Keys: ``<backbone>_<source>_to_<target>_<method>_map`` / ``_rank1`` at eps = 8/255 (the paper's
setting; methods ``clean``, ``uap``, ``merged``, ``metaattack``) and
``<backbone>_<source>_to_<target>_<method>_eps16_map`` / ``_rank1`` at 16/255, plus
``<backbone>_<domain>_identity_acc`` and ``<backbone>_<method>_eps<e>_learn_seconds``. With the
data root: source ``mnist``, targets ``mnistm``, ``digits`` (and ``mnist``, white-box); without:
source ``digits``, target ``digitsm`` (and ``digits``, white-box), so the key names say which.
"""

from __future__ import annotations

import io
import time
from typing import Any

import numpy as np

from ._core import Experiment, RunContext, save_figure

BACKBONES = ("ide", "pcb")
TARGETS = ("mnistm", "digits")
#: where the perturbations are evaluated: the unseen targets, and the source itself (white-box)
EVAL_SETS = TARGETS + ("mnist",)
#: the same roles without the data root (in-wheel data only, see the module docstring)
EMBEDDED_SOURCE = "digits"
EMBEDDED_TARGETS = ("digitsm",)
EMBEDDED_EVAL_SETS = EMBEDDED_TARGETS + (EMBEDDED_SOURCE,)
METHODS = ("uap", "merged", "metaattack")
EPS = (8, 16)  # in 1/255
CACHE_VERSION = "v1"


def _settings(quick: bool) -> dict[str, int]:
    if quick:
        return dict(n_train=2000, n_train_digits=1000, epochs=5, n_attack=1000, n_virtual=1000, n_clusters=50,
                    max_iter=3, n_query=200, n_gallery=800)  # fmt: skip
    return dict(n_train=4000, n_train_digits=1000, epochs=8, n_attack=2000, n_virtual=2000, n_clusters=100,
                max_iter=10, n_query=200, n_gallery=800)  # fmt: skip


def _layout(ctx: RunContext) -> tuple[str, tuple[str, ...]]:
    """The source domain and the evaluation sets (unseen targets, then the source itself)."""
    if ctx.data_root is None:
        return EMBEDDED_SOURCE, EMBEDDED_EVAL_SETS
    return "mnist", EVAL_SETS


def _embedded_domains(ctx: RunContext, s: dict[str, int]) -> dict[str, dict[str, Any]]:
    """The in-wheel splits (no data root): digits source, font virtual, digits-M target."""
    from ..data.digit_domains import font_digits, mnist_m, photo_backgrounds, upscaled_digits

    rng = np.random.default_rng(ctx.seed)
    x_dg, y_dg = upscaled_digits()
    order = rng.permutation(len(y_dg))
    half = (len(order) + 1) // 2
    src, held = order[:half], order[half:]  # disjoint: source model / attack vs. reference
    n_tr, n_q, n_g = min(s["n_train"], len(src)), s["n_query"], s["n_gallery"]
    strokes = np.rint(x_dg[:, 0] * 255).astype(np.uint8)  # the grey digits, 0-255
    x_dm = mnist_m(strokes, photo_backgrounds(), random_state=rng)
    x_virtual, _, _ = font_digits(s["n_virtual"], random_state=rng)
    n_tr_dm = min(s["n_train_digits"], len(src))
    q, g = held[:n_q], held[n_q : n_q + n_g]
    return {
        "digits": {"train": (x_dg[src[:n_tr]], y_dg[src[:n_tr]]),
                   "query": (x_dg[q], y_dg[q]), "gallery": (x_dg[g], y_dg[g])},
        "virtual": {"train": (x_virtual, None)},
        "digitsm": {"train": (x_dm[src[-n_tr_dm:]], y_dg[src[-n_tr_dm:]]),
                    "query": (x_dm[q], y_dg[q]), "gallery": (x_dm[g], y_dg[g])},
    }  # fmt: skip


def _domains(ctx: RunContext, s: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Train / query / gallery splits of each domain (float32 NCHW in [0, 1])."""
    if ctx.data_root is None:
        return _embedded_domains(ctx, s)
    from ..data import load_cifar10, load_mnist_test
    from ..data.digit_domains import font_digits, gray_to_rgb, mnist_m, upscaled_digits

    rng = np.random.default_rng(ctx.seed)
    xm, ym = load_mnist_test(ctx.data_root)
    order = rng.permutation(len(ym))
    src, strokes = order[:5000], order[5000:]  # disjoint MNIST digits: source vs MNIST-M strokes
    backgrounds, _ = load_cifar10("train", ctx.data_root)
    x_mm = mnist_m(xm[strokes], backgrounds, random_state=rng)
    x_dg, y_dg = upscaled_digits()
    dg = rng.permutation(len(y_dg))
    x_virtual, _, _ = font_digits(s["n_virtual"], random_state=rng)
    n_tr, n_q, n_g = s["n_train"], s["n_query"], s["n_gallery"]
    n_tr_dg = s["n_train_digits"]  # of scikit-learn's 1797: train, then 200 query, the rest gallery
    return {
        "mnist": {"train": (gray_to_rgb(xm[src[:n_tr]]), ym[src[:n_tr]]),
                  "query": (gray_to_rgb(xm[src[n_tr : n_tr + 200]]), ym[src[n_tr : n_tr + 200]]),
                  "gallery": (gray_to_rgb(xm[src[n_tr + 200 : n_tr + 1000]]),
                              ym[src[n_tr + 200 : n_tr + 1000]])},
        "virtual": {"train": (x_virtual, None)},
        "mnistm": {"train": (x_mm[:n_tr], ym[strokes][:n_tr]),
                   "query": (x_mm[n_tr : n_tr + n_q], ym[strokes][n_tr : n_tr + n_q]),
                   "gallery": (x_mm[n_tr + n_q : n_tr + n_q + n_g],
                               ym[strokes][n_tr + n_q : n_tr + n_q + n_g])},
        "digits": {"train": (x_dg[dg[:n_tr_dg]], y_dg[dg[:n_tr_dg]]),
                   "query": (x_dg[dg[n_tr_dg : n_tr_dg + 200]], y_dg[dg[n_tr_dg : n_tr_dg + 200]]),
                   "gallery": (x_dg[dg[n_tr_dg + 200 :]], y_dg[dg[n_tr_dg + 200 :]])},
    }  # fmt: skip


def _model(backbone: str, domain: str, data: tuple, ctx: RunContext, s: dict[str, int]) -> Any:
    """A backbone trained with identity cross-entropy on ``domain``, cached on disk."""
    import torch

    from .._io import write_bytes_atomic
    from ..data._paths import cache_dir
    from ..zoo.reid import IDENet, PCBNet, train_reid

    x, y = data
    torch.manual_seed(ctx.seed + 7 * BACKBONES.index(backbone) + len(domain))
    model = IDENet() if backbone == "ide" else PCBNet()
    key = f"{CACHE_VERSION}_{backbone}_{domain}_n{len(x)}_e{s['epochs']}_s{ctx.seed}.pt"
    # the in-wheel models (no data root) in their own folder: "digits" names another set there
    path = cache_dir("metaattack" if ctx.data_root is not None else "metaattack/embedded") / key
    if path.is_file():
        model.load_state_dict(torch.load(path, weights_only=True))
        return model.eval()
    train_reid(model, x, y, epochs=s["epochs"], learning_rate=3e-3, random_state=ctx.seed,
               device=ctx.device)  # fmt: skip
    buf = io.BytesIO()
    torch.save(model.cpu().state_dict(), buf)
    write_bytes_atomic(path, buf.getvalue())
    return model.eval()


def _evaluate(est: Any, split: dict[str, tuple], feats_g: np.ndarray,
              noise: np.ndarray | None) -> tuple[float, float]:  # fmt: skip
    """mAP and rank-1 of ``est`` with the queries (perturbed by ``noise``) against the clean
    gallery (features ``feats_g``)."""
    from ..robustness.metaattack import euclidean_distances, mean_ap_cmc

    (xq, yq), (_, yg) = split["query"], split["gallery"]
    if noise is not None:
        xq = np.clip(xq + noise, 0.0, 1.0)
    m_ap, cmc = mean_ap_cmc(euclidean_distances(est.predict(xq), feats_g), yq, yg, max_rank=5)
    return m_ap, float(cmc[0])


class MetaAttackExperiment(Experiment):
    """Table 3 analogue: target-model mAP / rank-1 before and after each universal perturbation."""

    name = "metaattack"
    title = "MetaAttack: universal perturbations against retrieval that transfer to unseen domains"
    reference = (
        "AI4Media D4.1 §3.4, Figs. 6-7, Table 3; Yang et al., AAAI 2021. NOT on person re-ID: "
        "Market-1501, DukeMTMC, MSMT17 and PersonX are not available offline, so this is a "
        "digit-retrieval analogue (identities = digit classes): MNIST source, digits rendered "
        "from matplotlib's fonts as the virtual (PersonX-like) meta-test domain, MNIST-M style "
        "blends over CIFAR-10 crops and upscaled scikit-learn digits as unseen target domains "
        "with their own target models; the perturbation is added to the target queries only. "
        "Without the data root: upscaled scikit-learn digits as the source and a digits-M "
        "target (the same blend over crops of scikit-image's in-wheel photographs)"
    )

    def run(self, ctx: RunContext) -> dict[str, float]:
        from ..robustness.metaattack import PyTorchRetrievalEstimator
        from ..zoo.reid import identity_accuracy

        s = _settings(ctx.quick)
        doms = _domains(ctx, s)
        source, eval_sets = _layout(ctx)
        results: dict[str, Any] = {f"setting_{k}": v for k, v in s.items()}
        device_type = "gpu" if ctx.device == "cuda" else "cpu"
        noises: dict[tuple[str, str, int], np.ndarray] = {}
        ests: dict[tuple[str, str], Any] = {}
        for bb in BACKBONES:
            for dom in (source,) + eval_sets[:-1]:
                model = _model(bb, dom, doms[dom]["train"], ctx, s).cpu()
                xq, yq = doms[dom]["query"]  # identity accuracy on the domain's query split
                results[f"{bb}_{dom}_identity_acc"] = identity_accuracy(model, xq, yq)
                ests[(bb, dom)] = PyTorchRetrievalEstimator(
                    model, (3, 28, 28), clip_values=(0.0, 1.0), device_type=device_type
                )
            results.update(self._attacks(ctx, s, bb, ests, doms, noises, source, eval_sets))
        self._figures(ctx, ests, doms, noises, results, source, eval_sets)
        return results

    def _attacks(self, ctx: RunContext, s: dict[str, int], bb: str, ests: dict, doms: dict,
                 noises: dict, source: str, eval_sets: tuple[str, ...]) -> dict[str, float]:  # fmt: skip
        from ..robustness.metaattack import MergedUAPRetrieval, MetaAttack, UAPRetrieval

        out: dict[str, float] = {}
        classes = {"uap": UAPRetrieval, "merged": MergedUAPRetrieval, "metaattack": MetaAttack}
        x_src = doms[source]["train"][0][: s["n_attack"]]
        x_virtual = doms["virtual"]["train"][0]
        gallery = {t: ests[(bb, t)].predict(doms[t]["gallery"][0]) for t in eval_sets}
        for tgt in eval_sets:
            m_ap, r1 = _evaluate(ests[(bb, tgt)], doms[tgt], gallery[tgt], None)
            out[f"{bb}_{source}_to_{tgt}_clean_map"] = m_ap
            out[f"{bb}_{source}_to_{tgt}_clean_rank1"] = r1
        for eps in EPS:
            for method in METHODS:
                attack = classes[method](
                    ests[(bb, source)], eps=eps / 255, n_clusters=s["n_clusters"],
                    max_iter=s["max_iter"], batch_size=50, random_state=ctx.seed, verbose=False,
                )  # fmt: skip
                start = time.perf_counter()
                attack.fit(x_src, None if method == "uap" else x_virtual)
                out[f"{bb}_{method}_eps{eps}_learn_seconds"] = time.perf_counter() - start
                noises[(bb, method, eps)] = attack.noise
                suffix = "" if eps == 8 else f"_eps{eps}"
                for tgt in eval_sets:
                    m_ap, r1 = _evaluate(ests[(bb, tgt)], doms[tgt], gallery[tgt], attack.noise)
                    out[f"{bb}_{source}_to_{tgt}_{method}{suffix}_map"] = m_ap
                    out[f"{bb}_{source}_to_{tgt}_{method}{suffix}_rank1"] = r1
        return out

    @staticmethod
    def _figures(ctx: RunContext, ests: dict, doms: dict, noises: dict, results: dict,
                 source: str, eval_sets: tuple[str, ...]) -> None:  # fmt: skip
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(len(BACKBONES) * len(EPS), len(METHODS), squeeze=False,
                                 figsize=(2.2 * len(METHODS), 2.3 * len(BACKBONES) * len(EPS)))  # fmt: skip
        for i, (bb, eps) in enumerate((b, e) for b in BACKBONES for e in EPS):
            for j, method in enumerate(METHODS):
                delta = noises[(bb, method, eps)][0].transpose(1, 2, 0)
                axes[i][j].imshow(np.clip(delta / (eps / 255) / 2 + 0.5, 0, 1))
                axes[i][j].set_title(f"{bb} {method} eps {eps}/255", fontsize=8)
                axes[i][j].axis("off")
        fig.suptitle("learned universal perturbations (scaled: -eps black, +eps white)")
        save_figure(fig, ctx.out_dir / "perturbations.png")
        # the ranking figure on the last unseen target: upscaled digits, or digits-M without data
        target = eval_sets[-2]
        MetaAttackExperiment._ranking_figure(ctx, ests, doms, noises, target)
        MetaAttackExperiment._bar_figure(ctx, results, source, eval_sets)

    @staticmethod
    def _ranking_figure(ctx: RunContext, ests: dict, doms: dict, noises: dict, target: str) -> None:
        import matplotlib.pyplot as plt

        from ..robustness.metaattack import euclidean_distances

        est, split = ests[("ide", target)], doms[target]
        (xq, yq), (xg, yg) = split["query"], split["gallery"]
        feats_g = est.predict(xg)
        noise = noises[("ide", "metaattack", 16)]
        top1 = euclidean_distances(est.predict(xq), feats_g).argmin(1)
        top1_adv = euclidean_distances(est.predict(np.clip(xq + noise, 0, 1)), feats_g).argmin(1)
        changed = np.flatnonzero((yg[top1] == yq) & (yg[top1_adv] != yq))
        i = int(changed[0]) if len(changed) else 0  # the first query the attack flips, if any
        fig, axes = plt.subplots(2, 6, figsize=(9, 3.4))
        pairs = (
            ("clean", xq[i : i + 1]),
            ("MetaAttack 16/255", np.clip(xq[i : i + 1] + noise, 0, 1)),
        )
        for row, (label, q) in enumerate(pairs):
            top = np.argsort(euclidean_distances(est.predict(q), feats_g)[0])[:5]
            axes[row][0].imshow(q[0].transpose(1, 2, 0))
            axes[row][0].set_title(f"query ({label})\nid {yq[i]}", fontsize=8)
            for k, g in enumerate(top, start=1):
                axes[row][k].imshow(xg[g].transpose(1, 2, 0))
                ok = "match" if yg[g] == yq[i] else "wrong"
                axes[row][k].set_title(f"top-{k}: id {yg[g]} ({ok})", fontsize=8,
                                       color="green" if ok == "match" else "red")  # fmt: skip
            for ax in axes[row]:
                ax.axis("off")
        fig.suptitle(f"IDE target model on {target}: query {i} (the first whose top-1 the "
                     "attack flips) and its top-5 gallery, before / after")  # fmt: skip
        save_figure(fig, ctx.out_dir / "query_top5.png")

    @staticmethod
    def _bar_figure(
        ctx: RunContext, results: dict, source: str, eval_sets: tuple[str, ...]
    ) -> None:
        import matplotlib.pyplot as plt

        pairs = [(bb, tgt) for bb in BACKBONES for tgt in eval_sets]
        fig, axes = plt.subplots(1, len(pairs), figsize=(3.2 * len(pairs), 3), sharey=True)
        for ax, (bb, tgt) in zip(axes, pairs, strict=True):
            pre = f"{bb}_{source}_to_{tgt}"
            labels = ["clean"] + [f"{m}\n{e}" for e in EPS for m in METHODS]
            vals = [results[f"{pre}_clean_map"]] + [
                results[f"{pre}_{m}{'' if e == 8 else f'_eps{e}'}_map"]
                for e in EPS
                for m in METHODS
            ]
            ax.bar(
                range(len(vals)), vals, color=["gray"] + ["tab:blue", "tab:orange", "tab:red"] * 2
            )
            ax.set_xticks(range(len(vals)), labels, fontsize=6, rotation=90)
            ax.set_title(f"{bb}: {source} -> {tgt}", fontsize=9)
        axes[0].set_ylabel("target mAP (lower = stronger)")
        save_figure(fig, ctx.out_dir / "map_bars.png")
