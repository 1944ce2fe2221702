"""Keypoint-aware augmentation for training on crops.

Geometry that mimics the runtime (crop shift, zoom, rotation, mirror) is one
exact affine built in :mod:`gesturekit.geometry`; perspective, small affine
and photometric changes come from albumentations, which moves keypoints with
the pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import missing_extra


@dataclass
class AugmentOptions:
    """How hard to augment. ``strength`` 0 disables the random parts."""

    shift: float = 0.12             # crop centre jitter, share of crop size
    scale: tuple[float, float] = (0.8, 1.3)
    rotate_deg: float = 30.0        # around the upright hand
    full_rotation_p: float = 0.15   # chance of any angle (detector gave no orientation)
    flip_p: float = 0.5
    perspective_p: float = 0.3
    color_p: float = 0.8
    blur_noise_p: float = 0.3

    def __post_init__(self) -> None:
        for name in ("full_rotation_p", "flip_p", "perspective_p", "color_p", "blur_noise_p"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"AugmentOptions.{name}: must be in [0, 1]")
        if not 0 < self.scale[0] <= self.scale[1]:
            raise ValueError("AugmentOptions.scale: need 0 < low <= high")

    @classmethod
    def heavy(cls) -> AugmentOptions:
        """For tiny data sets (tens of images)."""
        return cls(shift=0.15, scale=(0.7, 1.4), rotate_deg=45.0, full_rotation_p=0.25,
                   perspective_p=0.5, color_p=0.9, blur_noise_p=0.4)

    @classmethod
    def light(cls) -> AugmentOptions:
        """Crops jittered only as much as a detector or tracker box is (the evaluation's jitter).

        For a last, low-rate fine-tune: the default's wider draws help a model learn, these
        match what it meets at run time.
        """
        return cls(shift=0.08, scale=(0.9, 1.15), rotate_deg=15.0, full_rotation_p=0.05,
                   perspective_p=0.15, color_p=0.6, blur_noise_p=0.2)

    @classmethod
    def named(cls, name: str) -> AugmentOptions:
        """``"default"``, ``"heavy"`` or ``"light"``."""
        presets = {"default": cls, "heavy": cls.heavy, "light": cls.light}
        if name not in presets:
            raise ValueError(f"unknown augmentation {name!r}; choose from {sorted(presets)}")
        return presets[name]()


def pixel_pipeline(opts: AugmentOptions):
    """The albumentations pipeline applied to a crop and its (x, y) keypoints."""
    try:
        import albumentations as A
    except ImportError as e:
        raise missing_extra("train", "albumentations") from e
    return A.Compose(
        [
            A.Perspective(scale=(0.02, 0.06), p=opts.perspective_p),
            A.Affine(shear=(-6, 6), p=opts.perspective_p),
            A.OneOf([
                A.RandomBrightnessContrast(0.3, 0.3),
                A.HueSaturationValue(12, 25, 20),
                A.RGBShift(15, 15, 15),
            ], p=opts.color_p),
            A.OneOf([
                A.GaussianBlur(blur_limit=(3, 5)),
                A.MotionBlur(blur_limit=5),
                A.GaussNoise(std_range=(0.02, 0.08)),
                A.ImageCompression(quality_range=(40, 90)),
            ], p=opts.blur_noise_p),
            A.ToGray(p=0.05),
        ],
        keypoint_params=A.KeypointParams(format="xy", remove_invisible=False),
    )
