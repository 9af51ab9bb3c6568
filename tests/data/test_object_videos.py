"""The stand-in event-video generator (real object images at known boxes, known key objects)."""

import numpy as np
import pytest

from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.data.object_videos import (
    CIFAR10_DISTRACTOR_POOL,
    CIFAR10_KEY_POOL,
    cycle_events,
    make_object_videos,
)

LABELS = np.repeat(np.arange(10), 30)


def _videos(**kw):
    return make_object_videos(LABELS, **{"n_videos": 40, "random_state": 0, **kw})


def test_events_are_cycle_pairs():
    assert cycle_events((2, 3, 4)).tolist() == [[2, 3], [3, 4], [4, 2]]


def test_key_objects_define_the_event_and_distractors_come_from_their_pool():
    ov = _videos()
    v, q, k = ov.shape
    assert (v, q, k) == (40, 8, 8)
    keys = ov.event_keys[ov.event]  # (V, 2)
    in_keys = (ov.object_class[..., None] == keys[:, None, None, :]).any(-1)
    np.testing.assert_array_equal(in_keys, ov.is_key)
    assert np.isin(ov.object_class[~ov.is_key], CIFAR10_DISTRACTOR_POOL).all()
    assert np.isin(ov.object_class[ov.is_key], CIFAR10_KEY_POOL).all()
    np.testing.assert_array_equal(LABELS[ov.object_index], ov.object_class)
    frames_with_keys = ov.is_key.any(axis=2).sum(axis=1)
    assert (frames_with_keys == 4).all()  # key objects are not in every frame
    for i in range(v):  # both key classes appear in every video
        assert set(ov.object_class[i][ov.is_key[i]].tolist()) == set(keys[i].tolist())
    assert ov.is_key.sum(axis=(1, 2)).min() >= 4
    # key objects sit at no fixed slot
    assert ov.is_key.mean(axis=(0, 1)).min() > 0.05


def test_boxes_tile_the_canvas_without_overlap():
    ov = _videos(n_objects=7, tile=8)
    rows, cols = ov.grid
    assert (rows, cols) == (3, 3)
    cell = (ov.boxes[..., 1] // 8) * cols + ov.boxes[..., 0] // 8
    assert all(len(set(c)) == 7 for c in cell.reshape(-1, 7).tolist())
    assert (ov.boxes[..., 2] - ov.boxes[..., 0] == 8).all() and ov.boxes.max() <= 24


def test_seeded_and_degradation_rates():
    a, b = _videos(n_videos=300), _videos(n_videos=300)
    np.testing.assert_array_equal(a.object_index, b.object_index)
    assert not np.array_equal(a.object_index, _videos(n_videos=300, random_state=1).object_index)
    degraded = a.degrade[..., 0] < 1
    assert abs(degraded[a.is_key].mean() - 0.6) < 0.05
    assert abs(degraded[~a.is_key].mean() - 0.15) < 0.03


def test_render_places_degraded_objects_at_their_boxes_without_mutating_images():
    rng = np.random.default_rng(0)
    images = rng.random((300, 3, 32, 32)).astype(np.float32)
    before = images.copy()
    ov = _videos(n_videos=3)
    obj = ov.object_images(images)
    canvas = ov.render(images)
    np.testing.assert_array_equal(images, before)
    assert canvas.shape == (3, 8, 3, 96, 96)
    for v, q, k in [(0, 0, 0), (2, 7, 5), (1, 3, 7)]:
        x0, y0, x1, y1 = ov.boxes[v, q, k]
        np.testing.assert_array_equal(canvas[v, q, :, y0:y1, x0:x1], obj[v, q, k])
        if ov.degrade[v, q, k, 0] == 1:
            np.testing.assert_array_equal(obj[v, q, k], images[ov.object_index[v, q, k]])
    d = np.argwhere(ov.degrade[..., 0] < 1)[0]
    o = obj[tuple(d)]
    oy, ox = ov.degrade[tuple(d)][1:].astype(int)
    assert (o[:, oy : oy + ov.occluder, ox : ox + ov.occluder] == 0.5).all()


@pytest.mark.parametrize(
    "param, value",
    [("n_videos", 0), ("n_objects", 2), ("key_frame_fraction", 0.0), ("degrade_key", 1.5),
     ("occlusion", 1.0), ("random_state", -1), ("tile", 2)],
)  # fmt: skip
def test_invalid_parameters_name_the_parameter(param, value):
    with pytest.raises(InvalidParameterError, match=param):
        _videos(**{param: value})


def test_overlapping_pools_and_missing_classes_raise():
    with pytest.raises(ValueError, match="disjoint"):
        _videos(key_pool=(1, 2), distractor_pool=(2, 3))
    with pytest.raises(ValueError, match=r"class\(es\) \[9\]"):
        make_object_videos(LABELS[LABELS < 9], n_videos=2, random_state=0)
