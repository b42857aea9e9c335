"""The sharp images a network trains on, and the fixed held-out split it is judged on.

Two sources: a folder of the user's own images, or the built-in set (photos
that scikit-image ships, plus a few images we draw). The split is fixed by
name, never by chance, so a resumed or repeated run holds out the same images
and the held-out images are never trained on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from studio.core.errors import MediaError, UsageError
from studio.core.media import decode
from studio.core.resize import limit_long_side
from studio.core.vocabulary import IMAGE_SUFFIXES

BUILTIN = "builtin"
# scikit-image's bundled photos (skimage/data/README.txt gives each one's source and licence; all may be
# redistributed). Of the motorcycle stereo pair only the left view is used: the right one would leak across
# the split. clock_motion is left out: it is blurred.
BUILTIN_PHOTOS = (
    "astronaut", "brick", "camera", "chelsea", "coffee", "coins", "grass", "gravel",
    "hubble_deep_field", "immunohistochemistry", "moon", "stereo_motorcycle", "page", "retina", "rocket", "text",
)  # fmt: skip
BUILTIN_HELD_OUT = ("chelsea", "coffee", "rocket", "page")  # a cat, a cup, a landscape with a rocket, printed text
DRAWN = ("drawn-text", "drawn-shapes")  # ours, training only
HELD_OUT_EVERY = 5  # a user folder holds out about one image in five (by a hash of the name)
MAX_TRAINING_SIDE = 1024  # larger images are shrunk (area) on load: patches still come from everywhere in them


@dataclass
class ImageSet:
    """Sharp RGB uint8 images by name, split into training and held-out."""

    source: str  # the folder, or "builtin"
    train: dict[str, np.ndarray] = field(default_factory=dict)
    held_out: dict[str, np.ndarray] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # name -> why it was not used

    def describe(self) -> dict[str, object]:
        return {
            "source": self.source,
            "train": sorted(self.train),
            "held_out": sorted(self.held_out),
            "skipped": dict(sorted(self.skipped.items())),
        }


def is_held_out(name: str) -> bool:
    """The fixed split for a user folder: a stable hash of the file name."""
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % HELD_OUT_EVERY == 0


def drawn_images(seed: int = 0) -> dict[str, np.ndarray]:
    """Two images we draw: dark text on paper, and flat shapes with hard edges (what deblurring must restore)."""
    rng = np.random.default_rng(seed)
    text = np.full((512, 512, 3), 235, np.uint8)
    words = ("motion", "blur", "studio", "sharp", "focus", "kernel", "edge", "noise", "pixel", "detail")
    for row in range(14):
        line = " ".join(rng.choice(words, 4))
        scale = float(rng.uniform(0.5, 1.1))
        cv2.putText(text, line, (8, 30 + row * 35), cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 30), 2, cv2.LINE_AA)
    shapes = np.zeros((512, 512, 3), np.uint8)
    shapes[:] = (90, 120, 160)
    for _ in range(40):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = (int(v) for v in rng.integers(0, 512, 2))
        if rng.random() < 0.5:
            cv2.rectangle(shapes, (x, y), (x + int(rng.integers(10, 120)), y + int(rng.integers(10, 120))), colour, -1)
        else:
            cv2.circle(shapes, (x, y), int(rng.integers(5, 60)), colour, -1, cv2.LINE_AA)
    return {"drawn-text": text, "drawn-shapes": shapes}


def builtin_images() -> ImageSet:
    """scikit-image's photos (RGB; grey ones repeated over three channels) and our drawn images."""
    from skimage import data

    images = ImageSet(BUILTIN)
    for name in BUILTIN_PHOTOS:
        picture = getattr(data, name)()
        picture = picture[0] if isinstance(picture, tuple) else picture  # stereo_motorcycle: (left, right, disparity)
        if picture.ndim == 2:
            picture = np.repeat(picture[..., None], 3, axis=2)
        picture = np.ascontiguousarray(picture[..., :3]).astype(np.uint8)
        side = images.held_out if name in BUILTIN_HELD_OUT else images.train
        side[name] = limit_long_side(picture, MAX_TRAINING_SIDE)
    images.train.update(drawn_images())
    return images


def folder_images(folder: Path, max_pixels: int) -> ImageSet:
    """Every image file directly in `folder`, decoded and split; unreadable files are listed as skipped."""
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "no such folder"
        raise UsageError(f"--data {folder}: {what} (give a folder of sharp images, or 'builtin')")
    images = ImageSet(str(folder))
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    for path in files:
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            images.skipped[path.name] = "not an image file name"
            continue
        try:
            rgb = decode(path, max_pixels).rgb
        except MediaError as exc:
            images.skipped[path.name] = str(exc)
            continue
        side = images.held_out if is_held_out(path.name) else images.train
        side[path.name] = limit_long_side(rgb, MAX_TRAINING_SIDE)
    if not images.train and not images.held_out:
        raise UsageError(
            f"--data {folder}: no readable images (looked for {', '.join(IMAGE_SUFFIXES)}; "
            f"{len(images.skipped)} other file(s) skipped)"
        )
    _balance(images)
    return images


def _balance(images: ImageSet) -> None:
    """At least one image on each side of the split: training needs one, judging needs one."""
    if len(images.train) + len(images.held_out) < 2:
        raise UsageError(
            f"--data {images.source}: training needs at least 2 images (one is held out for judging), found 1"
        )
    if not images.held_out:
        name = sorted(images.train, key=lambda n: hashlib.sha256(n.encode()).hexdigest())[0]
        images.held_out[name] = images.train.pop(name)
    if not images.train:
        name = sorted(images.held_out, key=lambda n: hashlib.sha256(n.encode()).hexdigest())[-1]
        images.train[name] = images.held_out.pop(name)


def load_images(data: str, max_pixels: int) -> ImageSet:
    """`--data`: 'builtin' or a folder."""
    return builtin_images() if data == BUILTIN else folder_images(Path(data).expanduser(), max_pixels)


def check_patch_size(images: ImageSet, side: int) -> None:
    """Drop training images smaller than one patch (`side` px of sharp image); none left is a one-line error."""
    small = [name for name, image in images.train.items() if min(image.shape[:2]) < side]
    for name in small:
        height, width = images.train.pop(name).shape[:2]
        images.skipped[name] = f"{width}x{height} is smaller than a {side} px training patch"
    if not images.train:
        raise UsageError(
            f"--data {images.source}: every training image is smaller than the {side} px patch "
            "(use larger images or a smaller --patch)"
        )
