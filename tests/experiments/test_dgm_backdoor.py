"""dgm-backdoor end to end on real digits in a reduced setting: the keys the issue names, the
figures, and the target images."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ai4media_ext.experiments import dgm_backdoor
from ai4media_ext.experiments._core import run_experiments


def test_target_images_are_photographs_in_range():
    imgs = dgm_backdoor.target_images((1, 28, 28), ("camera", "astronaut"))
    assert imgs.shape == (2, 1, 28, 28) and imgs.dtype == np.float32
    assert imgs.min() >= -1.0 and imgs.max() <= 1.0 and imgs.std() > 0.2
    assert dgm_backdoor.target_images((3, 32, 32), ("coffee",)).shape == (1, 3, 32, 32)


def test_reduced_run_writes_the_named_keys(tmp_path, monkeypatch):
    setting = dict(dataset="digits", config="digits", epochs=5, lambdas=(10, 1000), iters=20,
                   n_det=1, det_iters=10)  # fmt: skip
    monkeypatch.setattr(dgm_backdoor, "_settings", lambda ctx: [setting])
    monkeypatch.setattr(dgm_backdoor, "TARGET_IMAGES", ("camera", "coins"))
    exp = dgm_backdoor.DGMBackdoorExperiment()
    (path,) = run_experiments([exp], tmp_path, quick=True, options={"epochs": "1"})
    res = json.loads(path.read_text())
    assert res["digits_gan_epochs"] == 1  # the option overrides the setting's 5
    for attack in ("trail", "red", "rex"):
        for lam in (10, 1000):
            for metric in ("tarfid", "expdist", "quality"):
                assert np.isfinite(res[f"digits_{attack}_{metric}_l{lam}"])
        assert 0.0 <= res[f"detector_auc_{attack}"] <= 1.0
    assert res["digits_benign_tarfid"] > res["digits_red_tarfid_l1000"]
    assert res["detector_n_clean"] == 3 and res["detector_n_red"] == 1  # benign + 2 fine-tunes
    pngs = {p.name for p in (tmp_path / "dgm-backdoor").glob("*.png")}
    assert pngs == {
        "digits_fig5_tarfid_expdist.png",
        "digits_samples_and_trigger_outputs.png",
        "detector_scores.png",
    }


@pytest.mark.slow
def test_quick_run_on_mnist(tmp_path, data_root):
    (path,) = run_experiments(
        [dgm_backdoor.DGMBackdoorExperiment()], tmp_path, quick=True, data_root=data_root
    )
    res = json.loads(path.read_text())
    assert res["mnist_red_tarfid_l1000"] < res["mnist_benign_tarfid"]


def test_a_rerun_resumes_from_the_checkpoints(tmp_path, monkeypatch):
    """Every trained generator is checkpointed: a second run, in the reverse order, trains
    nothing (the attacks and the GAN fitting are made to fail) and reports the same numbers."""
    from ai4media_ext.robustness import dgm

    setting = dict(dataset="digits", config="digits", epochs=1, lambdas=(100,), iters=10,
                   n_det=1, n_clean=1, det_iters=5)  # fmt: skip
    monkeypatch.setenv("AI4MEDIA_EXT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(dgm_backdoor, "_settings", lambda ctx: [setting])
    monkeypatch.setattr(dgm_backdoor, "TARGET_IMAGES", ("camera", "coins"))
    (first,) = run_experiments([dgm_backdoor.DGMBackdoorExperiment()], tmp_path / "a", quick=True)
    saved = sorted((tmp_path / "cache" / "dgm-backdoor").glob("*.pt"))
    assert len(saved) == 3 + 1 + 2  # sweep (trail, red, rex), one clean fine-tune, ReD + ReX

    def fail(*args, **kwargs):
        raise AssertionError("a checkpointed generator was trained again")

    for cls in (dgm.BackdoorAttackDGMTrailPyTorch, dgm.BackdoorAttackDGMReDPyTorch,
                dgm.BackdoorAttackDGMReXPyTorch):  # fmt: skip
        monkeypatch.setattr(cls, "poison_estimator", fail)
    monkeypatch.setattr(dgm.PyTorchGAN, "fit", fail)
    (second,) = run_experiments(  # a process started from the other end shares them
        [dgm_backdoor.DGMBackdoorExperiment()], tmp_path / "b", quick=True,
        options={"order": "reverse"},
    )  # fmt: skip
    a, b = json.loads(first.read_text()), json.loads(second.read_text())
    for k in a:
        if k.startswith(("digits_", "detector_")) and not k.endswith("train_s"):
            assert a[k] == pytest.approx(b[k], rel=1e-6, abs=1e-9), k


def test_the_datasets_option_is_validated(tmp_path):
    exp = dgm_backdoor.DGMBackdoorExperiment()
    with pytest.raises(ValueError, match="datasets='cifar10'.*choose from"):
        run_experiments([exp], tmp_path, quick=True, options={"datasets": "cifar10"})
    with pytest.raises(ValueError, match="order='backwards'.*choose from"):
        run_experiments([exp], tmp_path, quick=True, options={"order": "backwards"})
    for bad in ("0", "-3", "ten", "2.5"):
        with pytest.raises(ValueError, match="epochs="):
            run_experiments([exp], tmp_path, quick=True, options={"epochs": bad})
    with pytest.raises(ValueError, match="unknown option"):
        run_experiments([exp], tmp_path, quick=True, options={"lr": "3"})


def test_checkpoint_tags_name_a_non_output_objective_space():
    """ReX's pre-activation checkpoints must not be confused with earlier output-space ones;
    output-space tags (ReD, TrAIL) are unchanged, so their checkpoints stay valid."""
    assert dgm_backdoor.SPACES["rex"] == "pre-activation"
    assert dgm_backdoor._space_tag("rex") == {"space": "pre-activation"}
    assert dgm_backdoor._space_tag("red") == {} and dgm_backdoor._space_tag("trail") == {}
