"""fl-inversion end to end on real digits (tiny setting) and its protection views."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ai4media_ext.experiments import fl_inversion
from ai4media_ext.experiments._core import run_experiments
from ai4media_ext.experiments._fl_views import _distributed_noise_std, clip_l2, protect

TINY = {
    **fl_inversion.QUICK,
    "n_clients": 2, "rounds": 1, "local_epochs": 1, "epsilons": (10.0,),
    "max_iter": 40, "restarts": 1,
}  # fmt: skip


def test_distributed_noise_shares_sum_to_the_central_noise():
    from diffprivlib.mechanisms import GaussianAnalytic

    sigma = GaussianAnalytic(epsilon=1.0, delta=1e-5, sensitivity=2.0)._scale
    std = _distributed_noise_std(1.0, 1e-5, 1.0, 16)
    assert std == pytest.approx(sigma / 4.0)
    rng = np.random.default_rng(0)
    ups = [np.zeros(20_000) for _ in range(16)]
    total = np.sum(protect("ddp", 1.0, ups, None, None, {"delta": 1e-5, "clip": 1.0}, rng), 0)
    assert total.std() == pytest.approx(sigma, rel=0.02)
    u = np.full(4, 3.0)
    assert np.linalg.norm(clip_l2(u, 1.0)) == pytest.approx(1.0)
    assert clip_l2(u, 10.0) is u


def test_fl_inversion_on_digits(tmp_path, monkeypatch):
    monkeypatch.setattr(fl_inversion, "QUICK", TINY)
    (path,) = run_experiments([fl_inversion.FLInversionExperiment()], tmp_path, quick=True)
    res = json.loads(path.read_text())
    keys = [k for k, _, _ in fl_inversion.protections(TINY["epsilons"])]
    assert keys == ["none", "local_dp_eps10", "ddp_eps10", "secaggplus", "he_colluding_client"]
    for key in keys:
        for suffix in ("psnr", "ssim", "acc", "label_acc"):
            assert np.isfinite(res[f"{key}_{suffix}"]), (key, suffix)
    # the individual update is invertible, the DP-noised one is not (floor: random images)
    assert res["none_psnr"] > res["random_psnr"] + 3.0
    assert res["local_dp_eps10_psnr"] < res["none_psnr"] - 3.0
    assert res["he_colluding_client_psnr"] == pytest.approx(res["none_psnr"], abs=1.0)
    assert res["secaggplus_acc"] == res["none_acc"]
    assert (path.parent / "reconstructions.png").stat().st_size > 0
    assert (path.parent / "psnr_vs_epsilon.png").stat().st_size > 0


@pytest.mark.slow
def test_fl_inversion_quick_on_mnist(tmp_path, data_root):
    (path,) = run_experiments(
        [fl_inversion.FLInversionExperiment()], tmp_path, quick=True, data_root=data_root
    )
    res = json.loads(path.read_text())
    assert res["none_psnr"] > res["random_psnr"] + 5.0
    assert res["none_acc"] > 0.5


def test_local_dp_goes_through_dpmod_and_he_round_trip_is_exact():
    import torch
    from diffprivlib.mechanisms import GaussianAnalytic

    from ai4media_ext.experiments._fl_views import dp_mod_update, he_roundtrip, make_dp_mod
    from ai4media_ext.privacy.federated import make_context

    model = torch.nn.Linear(100, 100)
    start = np.zeros(100 * 100 + 100)
    update = np.zeros_like(start)
    update[0] = 5.0  # clipped to the L2 norm C = 1 before the noise
    cfg = {"clip": 1.0, "delta": 1e-5}
    sent = dp_mod_update(make_dp_mod(10.0, cfg, 0), model, start, update)
    sigma = GaussianAnalytic(epsilon=10.0, delta=1e-5, sensitivity=2.0)._scale
    assert sent[1:].std() == pytest.approx(sigma, rel=0.03)
    assert update[0] == 5.0 and not update[1:].any()  # the caller's update is not modified
    rng = np.random.default_rng(0)
    u = rng.normal(size=3000)
    assert np.abs(he_roundtrip(u, make_context()) - u).max() < 1e-5
