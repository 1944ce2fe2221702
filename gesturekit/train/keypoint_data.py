"""Training samples for the keypoint regressor: cached hand regions → augmented crops."""

from __future__ import annotations

import warnings

import numpy as np

from ..augment import AugmentOptions, pixel_pipeline
from ..errors import LayoutMismatchError
from ..geometry import (
    MIDDLE_MCP,
    WRIST,
    Crop,
    apply_affine,
    compose,
    crop_from_keypoints,
    flip_matrix,
    hand_angle,
)
from ..landmarks import CROP_SCALE  # one constant shared with the tracker
from ..layouts import HAND_21, KeypointLayout


def source_layout(samples: list, layout: KeypointLayout, where: str) -> KeypointLayout:
    """The layout ``samples`` are labelled in: :data:`HAND_21` for 21-point hands (``layout`` derives
    its points from them, or is one of 21 points), else ``layout`` itself. Points that fit neither
    are one LayoutMismatchError naming ``where``."""
    ks = sorted({s.keypoints.shape[1] for s in samples})
    if len(ks) != 1:
        raise LayoutMismatchError(f"{where}: hands with different numbers of points {ks}")
    k = ks[0]
    if k == 21 and (layout.num_points == 21 or layout.from_hand21 is not None):
        return HAND_21
    if k != layout.num_points:
        derive = " (and it has no from_hand21 to derive them)" if k == 21 else ""
        raise LayoutMismatchError(f"{where}: {k} points per hand, but layout {layout.name!r} has "
                                  f"{layout.num_points}{derive}")
    return layout


class KeypointCrops:
    """Indexable dataset of ``(image CHW float32 RGB 0..1, xy (K, 2) crop px, weight (K,))``.

    ``cache`` comes from :func:`gesturekit.train.cache.build_cache`. Points of
    21-point hands are cropped upright like the tracker does; other layouts
    are cropped axis-aligned and learn the rotation from augmentation.
    ``augment=None`` gives the seeded evaluation crops (a detector-like jitter
    that is the same on every call).
    """

    def __init__(self, cache: dict, layout: KeypointLayout, input_size: int = 128,
                 augment: AugmentOptions | None = None, seed: int = 0, indices: np.ndarray | None = None,
                 source_layout: KeypointLayout = HAND_21):
        self.images, self.kps, self.vis = cache["images"], cache["keypoints"], cache["visible"]
        self.layout, self.size, self.opts, self.seed = layout, input_size, augment, seed
        self.indices = np.arange(len(self.images)) if indices is None else np.asarray(indices)
        self.derive = layout is not source_layout and layout.from_hand21 is not None
        self.upright = source_layout is HAND_21
        self.pipeline = pixel_pipeline(augment) if augment is not None else None
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.indices)

    def crop_for(self, j: int, rng: np.random.Generator) -> tuple[Crop, bool]:
        kp, vis = self.kps[j], self.vis[j]
        # Unlabelled points carry no position: crop from the labelled ones, and only trust the
        # hand angle when both of its points are labelled.
        angle = hand_angle(kp) if self.upright and vis[WRIST] and vis[MIDDLE_MCP] else 0.0
        base = crop_from_keypoints(kp[vis] if vis.sum() >= 2 else kp, CROP_SCALE, angle)
        o = self.opts or AugmentOptions.light()  # evaluation: only the geometric jitter
        crop = base.jittered(rng, o.shift, o.scale, o.rotate_deg)
        flip = False
        if self.opts is not None:
            if rng.random() < o.full_rotation_p:
                crop = Crop(crop.cx, crop.cy, crop.size, rng.uniform(-np.pi, np.pi))
            flip = rng.random() < o.flip_p
        return crop, flip

    def __getitem__(self, i: int):
        return self.sample(i)[:3]

    def sample(self, i: int):
        """``(image, xy, weight, matrix)``; ``matrix`` maps cached-image pixels to crop pixels."""
        j = int(self.indices[i])
        # Seeded by position, so repeats of one image (``repeat`` > 1) draw different crops.
        seed = (self.seed, i) if self.opts is None else (self.seed, self.epoch, i)
        rng = np.random.default_rng(seed)
        crop, flip = self.crop_for(j, rng)
        m = crop.matrix(self.size)
        if flip:
            m = compose(flip_matrix(self.size), m)
        import cv2

        img = cv2.warpAffine(np.asarray(self.images[j]), m, (self.size, self.size), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT)
        kp = apply_affine(m, self.kps[j])
        vis = self.vis[j].copy()
        if self.derive:
            # a derived point is labelled only when every hand point it is made from is
            uses = self.layout.from_hand21 != 0
            kp, vis = self.layout.derive(kp), ~(uses & ~vis[None, :]).any(1)
        if flip:
            perm = list(self.layout.flip)
            kp, vis = kp[perm], vis[perm]
        if self.pipeline is not None:
            self.pipeline.set_random_seed(int(rng.integers(2**31)))  # reproducible, distinct per worker
            out = self.pipeline(image=img, keypoints=kp)
            img, kp = out["image"], np.asarray(out["keypoints"], np.float32).reshape(-1, 2)
        img = img[:, :, ::-1].transpose(2, 0, 1).astype(np.float32) / 255.0  # BGR → RGB, CHW
        inside = (kp >= 0).all(1) & (kp < self.size).all(1)
        return np.ascontiguousarray(img), kp.astype(np.float32), (vis & inside).astype(np.float32), m


def check_point_names(samples: list, layout: KeypointLayout, where: str) -> None:
    """Data that names its points (COCO) against the layout trained: the same names in another order
    is a LayoutMismatchError (every point would be learnt under another's name); other names are a
    warning (the file's order is trained)."""
    named = {s.point_names for s in samples if getattr(s, "point_names", None)}
    if len(named) != 1:
        return
    names = named.pop()
    if len(names) != layout.num_points or names == layout.names:
        return
    if sorted(names) == sorted(layout.names):
        i = next(i for i, (a, b) in enumerate(zip(names, layout.names)) if a != b)
        raise LayoutMismatchError(f"{where}: the points are in another order than layout {layout.name!r}: "
                                  f"point {i} is {names[i]!r} in the data, {layout.names[i]!r} in the layout; "
                                  f"write the layout's names in the data's order {list(names)}")
    warnings.warn(f"{where}: point names {list(names)} are not layout {layout.name!r}'s {list(layout.names)}; "
                  "point i of the data is trained as point i of the layout", stacklevel=3)
