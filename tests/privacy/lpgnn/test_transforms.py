import math

import numpy as np
import pytest
import torch
import torch_geometric.transforms as T
from torch_geometric.data import Data

from ai4media_ext.data import load_karate_club
from ai4media_ext.privacy.lpgnn import FeaturePerturbation, LabelPerturbation


@pytest.fixture
def karate():
    data = load_karate_club()
    # KarateClub ships identity features; give it real-valued ones with a constant column.
    g = torch.Generator().manual_seed(0)
    x = torch.cat([torch.rand(34, 6, generator=g) * 4 - 1, torch.full((34, 1), 2.0)], dim=1)
    data.x = x
    return T.RandomNodeSplit(split="train_rest", num_val=0.25, num_test=0.25)(data)


def test_feature_range_from_data_and_constant_columns_dropped(karate):
    out = FeaturePerturbation(math.inf)(karate)
    assert out.x.shape == (34, 6)
    assert torch.allclose(out.x.min(dim=0).values, torch.zeros(6))
    assert torch.allclose(out.x.max(dim=0).values, torch.ones(6))
    assert karate.x.shape == (34, 7)  # the caller's data is untouched


def test_rectified_features_are_unbiased(karate):
    target = FeaturePerturbation(math.inf)(karate).x.double()
    reps = 3000
    est = torch.stack(
        [FeaturePerturbation(2.0, random_state=r)(karate).x.double() for r in range(reps)]
    )
    # MultiBit with m=1 of d=6 features: per-entry variance d * ((e+1)/(e-1))^2 / 4 - (x-1/2)^2
    e = math.exp(2.0)
    var = 6 * ((e + 1) / (e - 1)) ** 2 / 4 - (target - 0.5) ** 2
    z = (est.mean(dim=0) - target) / torch.sqrt(var / reps)
    assert z.abs().max() < 4.5
    assert abs(z.mean().item()) < 3 / math.sqrt(z.numel())


def test_label_perturbation_never_touches_test_labels(karate):
    out = LabelPerturbation(0.5, random_state=0)(karate)
    test = karate.test_mask
    assert torch.equal(out.y[test], karate.y[test])
    released = karate.train_mask | karate.val_mask
    assert (out.y[released] != karate.y[released]).any()
    assert ((out.y >= 0) & (out.y < 4)).all()
    t = out.transition_matrix
    assert t.shape == (4, 4) and torch.allclose(t.sum(dim=1), torch.ones(4))
    assert t[0, 0].item() == pytest.approx(math.exp(0.5) / (math.exp(0.5) + 3))
    assert not torch.equal(karate.y, out.y)  # a new tensor; the caller's labels are intact


def test_label_flip_rate_matches_randomized_response():
    n, k, eps = 20_000, 5, 1.0
    y = torch.from_numpy(np.random.RandomState(0).randint(0, k, n))
    mask = torch.zeros(n, dtype=torch.bool)
    mask[: n // 2] = True
    data = Data(y=y, train_mask=mask, val_mask=torch.zeros_like(mask), num_nodes=n)
    out = LabelPerturbation(eps, num_classes=k, random_state=1)(data)
    kept = (out.y[mask] == y[mask]).double().mean().item()
    p = math.exp(eps) / (math.exp(eps) + k - 1)
    assert abs(kept - p) < 3 * math.sqrt(p * (1 - p) / (n // 2))
    assert torch.equal(out.y[~mask], y[~mask])


def test_infinite_label_budget_keeps_labels(karate):
    out = LabelPerturbation(math.inf)(karate)
    assert torch.equal(out.y, karate.y)
    assert torch.equal(out.transition_matrix, torch.eye(4))


def test_bad_inputs(karate):
    with pytest.raises(ValueError, match="epsilon"):
        FeaturePerturbation(0.0)
    with pytest.raises(ValueError, match="epsilon"):
        LabelPerturbation(-1.0)
    with pytest.raises(ValueError, match="train_mask"):
        LabelPerturbation(1.0)(Data(y=karate.y, num_nodes=34))
    with pytest.raises(ValueError, match="data.x"):
        FeaturePerturbation(1.0)(Data(num_nodes=3))


def test_reprs():
    assert str(FeaturePerturbation(1.0)) == "FeaturePerturbation(epsilon=1.0, m='best')"
    assert str(LabelPerturbation(2.0)) == "LabelPerturbation(epsilon=2.0)"
