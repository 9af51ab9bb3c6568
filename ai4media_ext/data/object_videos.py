"""Stand-in event videos built from real object images, with known salient objects.

No public event-video set with object detections is available offline, so ObjectGraphs is
evaluated on "videos" whose frames are canvases of real object images (CIFAR-10 test images with
a data root, scikit-learn's digits without one) placed at known boxes:

- every video shows one *event*; an event is defined by a small set of *key* object classes
  (by default 5 events, each a pair of classes from a key pool, the pairs forming a cycle so that
  each key class belongs to two events and only the pair identifies the event);
- each frame holds ``n_objects`` (K) objects on a grid of tiles, in random cells; only
  ``round(key_frame_fraction * Q)`` of the Q frames hold key objects (1 or 2 each, both key
  classes appearing in the video), the other slots hold *distractors* drawn from a disjoint
  distractor pool;
- key objects are *degraded* (contrast lowered and a grey occluder pasted) with probability
  ``degrade_key`` and distractors with probability ``degrade_distractor``, so that the
  detector's confidence in a distractor is often higher than in a key object (as the seed's
  Fig. 11 observes for real detections).

Everything is drawn from one seeded generator and stored as indices (no pixels), so a video set
of any size costs a few arrays; :meth:`ObjectVideos.object_images` and
:meth:`ObjectVideos.render` produce the pixels batch by batch.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import Interval, check_params

__all__ = ["ObjectVideos", "cycle_events", "make_object_videos"]

#: key and distractor pools of CIFAR-10 class ids (animals are keys, vehicles and frogs distract)
CIFAR10_KEY_POOL = (2, 3, 4, 5, 7)  # bird, cat, deer, dog, horse
CIFAR10_DISTRACTOR_POOL = (0, 1, 6, 8, 9)  # airplane, automobile, frog, ship, truck
DIGITS_KEY_POOL = (0, 1, 2, 3, 4)
DIGITS_DISTRACTOR_POOL = (5, 6, 7, 8, 9)


def cycle_events(key_pool: tuple[int, ...]) -> np.ndarray:
    """Events as consecutive pairs of a cycle over ``key_pool``: ``(E, 2)`` int64, E = len(pool)."""
    pool = np.asarray(key_pool, dtype=np.int64)
    return np.stack([pool, np.roll(pool, -1)], axis=1)


@dataclass(frozen=True)
class ObjectVideos:
    """A generated set of object videos (indices only; pixels come from the source images).

    Attributes
    ----------
    event : ndarray of shape (V,), int64
        Event class of each video.
    event_keys : ndarray of shape (E, n_key), int64
        Key object classes defining each event.
    object_index : ndarray of shape (V, Q, K), int64
        Index of each object's image in the source image array.
    object_class : ndarray of shape (V, Q, K), int64
        True class of each object.
    is_key : ndarray of shape (V, Q, K), bool
        Whether the object is a key (ground-truth salient) object of its video's event.
    boxes : ndarray of shape (V, Q, K, 4), int64
        Box of each object on the frame canvas, ``(x0, y0, x1, y1)`` in pixels (x1, y1 exclusive).
    degrade : ndarray of shape (V, Q, K, 3), float64
        Per object: contrast factor (1 = untouched), occluder top-left ``(y, x)`` in tile pixels
        (-1 = no occluder).
    tile, grid : int, (int, int)
        Tile side in pixels and the ``(rows, cols)`` grid of the canvas.
    params : dict
        The generator's parameters (to store with results).
    """

    event: np.ndarray
    event_keys: np.ndarray
    object_index: np.ndarray
    object_class: np.ndarray
    is_key: np.ndarray
    boxes: np.ndarray
    degrade: np.ndarray
    tile: int
    grid: tuple[int, int]
    occluder: int
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(V, Q, K)``: videos, frames per video, objects per frame."""
        return tuple(self.object_index.shape)  # type: ignore[return-value]

    def object_images(self, images: np.ndarray, select: Any = slice(None)) -> np.ndarray:
        """Pixels of the (degraded) objects of the selected videos.

        ``images`` ``(N, C, T, T)`` float in [0, 1] are the source images; returns
        ``(n, Q, K, C, T, T)`` float32 (a new array; ``images`` is not modified).
        """
        idx, deg = self.object_index[select], self.degrade[select]
        out = np.asarray(images, dtype=np.float32)[idx]  # fancy indexing copies
        contrast = deg[..., 0].astype(np.float32)[..., None, None, None]
        mean = out.mean(axis=(-3, -2, -1), keepdims=True)
        out = np.where(contrast < 1, mean + contrast * (out - mean), out)  # exact when untouched
        oy, ox = deg[..., 1].astype(np.int64), deg[..., 2].astype(np.int64)
        t, s = self.tile, self.occluder
        rr = np.arange(t)
        inside_y = (rr >= oy[..., None]) & (rr < oy[..., None] + s) & (oy[..., None] >= 0)
        inside_x = (rr >= ox[..., None]) & (rr < ox[..., None] + s) & (ox[..., None] >= 0)
        occ = inside_y[..., :, None] & inside_x[..., None, :]
        return np.where(occ[..., None, :, :], np.float32(0.5), out)

    def render(self, images: np.ndarray, select: Any = slice(None)) -> np.ndarray:
        """Frame canvases of the selected videos: ``(n, Q, C, rows*T, cols*T)`` float32, grey
        (0.5) where no object is placed."""
        obj = self.object_images(images, select)
        boxes = self.boxes[select]
        n, q, k, c, t, _ = obj.shape
        rows, cols = self.grid
        canvas = np.full((n * q, rows * cols, c, t, t), 0.5, dtype=np.float32)
        cell = (boxes[..., 1] // t) * cols + boxes[..., 0] // t
        frame = np.broadcast_to(np.arange(n * q).reshape(n, q, 1), cell.shape)
        canvas[frame.ravel(), cell.ravel()] = obj.reshape(-1, c, t, t)
        canvas = canvas.reshape(n * q, rows, cols, c, t, t).transpose(0, 3, 1, 4, 2, 5)
        return canvas.reshape(n, q, c, rows * t, cols * t)


_CONSTRAINTS = {
    "n_videos": [Interval(numbers.Integral, 1, None, closed="left")],
    "n_frames": [Interval(numbers.Integral, 1, None, closed="left")],
    "n_objects": [Interval(numbers.Integral, 3, None, closed="left")],
    "tile": [Interval(numbers.Integral, 4, None, closed="left")],
    "key_frame_fraction": [Interval(numbers.Real, 0, 1, closed="right")],
    "degrade_key": [Interval(numbers.Real, 0, 1, closed="both")],
    "degrade_distractor": [Interval(numbers.Real, 0, 1, closed="both")],
    "contrast": [Interval(numbers.Real, 0, 1, closed="both")],
    "occlusion": [Interval(numbers.Real, 0, 1, closed="left")],
    "random_state": ["random_state"],
}


def make_object_videos(
    labels: np.ndarray,
    *,
    n_videos: int,
    key_pool: tuple[int, ...] = CIFAR10_KEY_POOL,
    distractor_pool: tuple[int, ...] = CIFAR10_DISTRACTOR_POOL,
    n_frames: int = 8,
    n_objects: int = 8,
    tile: int = 32,
    key_frame_fraction: float = 0.5,
    degrade_key: float = 0.6,
    degrade_distractor: float = 0.15,
    contrast: float = 0.6,
    occlusion: float = 0.4,
    random_state: Any = None,
) -> ObjectVideos:
    """Draw ``n_videos`` event videos from source images with class ``labels``.

    Parameters
    ----------
    labels : array-like of shape (N,)
        Class id of each source image (the images themselves are passed to
        :meth:`ObjectVideos.render`).
    n_videos, n_frames, n_objects : int
        V videos of Q frames of K objects (K >= 3 so that every frame has a distractor).
    key_pool, distractor_pool : tuple of int
        Disjoint class ids; events are consecutive pairs of ``key_pool`` (:func:`cycle_events`).
    tile : int
        Side of one object tile in pixels (32 for CIFAR-10, 8 for digits).
    key_frame_fraction : float in (0, 1]
        Fraction of the frames that hold key objects (at least one frame).
    degrade_key, degrade_distractor : float in [0, 1]
        Probability that a key object / a distractor is degraded.
    contrast : float in [0, 1]
        Contrast factor of a degraded object.
    occlusion : float in [0, 1)
        Side of a degraded object's grey occluder, as a fraction of the tile.
    random_state : None, int, RandomState or Generator

    Returns
    -------
    ObjectVideos

    Raises
    ------
    InvalidParameterError
        A parameter out of range.
    ValueError
        Overlapping pools, or a pool class without any source image.
    """
    check_params(
        "make_object_videos",
        dict(
            n_videos=n_videos,
            n_frames=n_frames,
            n_objects=n_objects,
            tile=tile,
            key_frame_fraction=key_frame_fraction,
            degrade_key=degrade_key,
            degrade_distractor=degrade_distractor,
            contrast=contrast,
            occlusion=occlusion,
            random_state=random_state,
        ),
        _CONSTRAINTS,
    )
    labels = np.asarray(labels, dtype=np.int64).ravel()
    keys, distractors = np.asarray(key_pool, np.int64), np.asarray(distractor_pool, np.int64)
    if np.intersect1d(keys, distractors).size or len(keys) < 2 or len(distractors) < 1:
        raise ValueError("key_pool (>= 2 classes) and distractor_pool (>= 1) must be disjoint")
    rng = np.random.default_rng(
        random_state.randint(2**31)
        if isinstance(random_state, np.random.RandomState)
        else random_state
    )
    v, q, k = n_videos, n_frames, n_objects
    event_keys = cycle_events(tuple(keys))
    event = rng.integers(len(event_keys), size=v)

    is_key, object_class = _draw_classes(
        rng, event_keys[event], distractors, q, k, key_frame_fraction
    )
    object_index = _pick_images(rng, labels, object_class, np.concatenate([keys, distractors]))

    # Random cells on the smallest near-square grid holding K tiles.
    cols = int(np.ceil(np.sqrt(k)))
    rows = int(np.ceil(k / cols))
    cell = np.argsort(rng.random((v, q, rows * cols)), axis=2)[..., :k]
    y0, x0 = (cell // cols) * tile, (cell % cols) * tile
    boxes = np.stack([x0, y0, x0 + tile, y0 + tile], axis=-1).astype(np.int64)

    degraded = rng.random((v, q, k)) < np.where(is_key, degrade_key, degrade_distractor)
    side = int(round(occlusion * tile))
    corner = rng.integers(0, tile - side + 1, size=(v, q, k, 2))
    degrade = np.concatenate(
        [
            np.where(degraded, contrast, 1.0)[..., None],
            np.where(degraded[..., None], corner, -1),
        ],
        axis=-1,
    ).astype(np.float64)

    params = dict(
        n_videos=v,
        n_frames=q,
        n_objects=k,
        tile=tile,
        key_pool=list(map(int, keys)),
        distractor_pool=list(map(int, distractors)),
        key_frame_fraction=float(key_frame_fraction),
        degrade_key=float(degrade_key),
        degrade_distractor=float(degrade_distractor),
        contrast=float(contrast),
        occlusion=float(occlusion),
        random_state=random_state if isinstance(random_state, int) else None,
    )
    return ObjectVideos(
        event=event,
        event_keys=event_keys,
        object_index=object_index,
        object_class=object_class,
        is_key=is_key,
        boxes=boxes,
        degrade=degrade,
        tile=tile,
        grid=(rows, cols),
        occluder=side,
        params=params,
    )


def _draw_classes(
    rng: np.random.Generator, keys: np.ndarray, distractors: np.ndarray, q: int, k: int,
    key_frame_fraction: float,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """``is_key`` and ``object_class`` (V, Q, K) for videos whose events have key classes
    ``keys`` (V, n_key)."""
    v = len(keys)
    # Frames that hold key objects, and how many (1 or 2) each holds.
    n_key_frames = max(1, round(key_frame_fraction * q))
    frame_rank = np.argsort(rng.random((v, q)), axis=1).argsort(axis=1)
    key_frame = frame_rank < n_key_frames
    n_key = np.where(key_frame, rng.integers(1, 3, size=(v, q)), 0)
    # Slot j < n_key holds a key object; key classes cycle over the frames (both appear when
    # two or more frames hold keys) and a second slot takes the other class.
    slot = np.arange(k)
    is_key = slot[None, None, :] < n_key[..., None]
    which = (frame_rank[..., None] + slot[None, None, :]) % keys.shape[1]
    key_cls = np.take_along_axis(keys[:, None, :].repeat(q, axis=1), which, axis=2)
    distractor_cls = distractors[rng.integers(len(distractors), size=(v, q, k))]
    object_class = np.where(is_key, key_cls, distractor_cls)
    # Shuffle the slots so that key objects sit at no fixed index of a frame.
    shuffle = np.argsort(rng.random((v, q, k)), axis=2)
    return np.take_along_axis(is_key, shuffle, axis=2), np.take_along_axis(
        object_class, shuffle, axis=2
    )


def _pick_images(
    rng: np.random.Generator, labels: np.ndarray, object_class: np.ndarray, needed: np.ndarray
) -> np.ndarray:
    """One source image per object, uniformly within its class; ValueError naming a needed
    class without images."""
    order = np.argsort(labels, kind="stable")
    counts = np.bincount(labels, minlength=int(needed.max()) + 1)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    if (counts[needed] == 0).any():
        missing = needed[counts[needed] == 0].tolist()
        raise ValueError(f"no source image of class(es) {missing}")
    u = rng.random(object_class.shape)
    return order[starts[object_class] + (u * counts[object_class]).astype(np.int64)]
