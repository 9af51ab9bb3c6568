"""The latent-directions experiment end to end on real digits (a DCGAN of scikit-learn's digits)."""

import json

from ai4media_ext import registry
from ai4media_ext.experiments import latent_directions as ld
from ai4media_ext.experiments import run_experiments


def test_latent_directions_end_to_end(tmp_path, monkeypatch):
    small = {"config": "digits", "epochs": 4, "n_codes": 3000, "n_eval": 40,
             "threshold": 0.55, "clf_epochs": 5}  # fmt: skip
    monkeypatch.setattr(ld, "_setting", lambda ctx: small)
    exp = registry.load("ai4media_ext.experiments", "latent-directions")()
    (path,) = run_experiments([exp], tmp_path, quick=True, data_root=None)
    res = json.loads(path.read_text())
    for attr in ld.ATTRIBUTES:
        for method in ld.METHODS:
            key = f"{attr}_{method}"
            for suffix in ("target_change", "entanglement", "seconds"):
                assert isinstance(res[f"{key}_{suffix}"], float), f"{key}_{suffix}"
            assert res[f"{key}_entanglement"] >= 0.0 and res[f"{key}_seconds"] >= 0.0
            # every direction moves its own attribute the way it was fitted
            assert res[f"{key}_target_change"] > 0.0, key
    assert res["classifier_acc"] > 0.5
    assert -1.0 <= res["corr_thickness_area"] <= 1.0
    # the balanced sample holds every combination equally often
    assert res["n_codes_fit_balanced_centroid"] == 16 * res["balanced_per_combination"]
    for png in ("edit_paths_thickness.png", "entanglement.png"):
        assert (tmp_path / "latent-directions" / png).stat().st_size > 0
