"""A tiny dataset made in the tests: crops (48x48 to 96x64) of scikit-image's public-domain photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

MODELS = ("bicubic-x2", "lanczos-x2")
METRICS = "psnr_y,ssim_y,sharpness"
# name -> (photo, rows, columns): sizes 96x64, 48x48, 64x64, 80x64 (width x height), even for x2.
CROPS = {
    "astronaut.png": ("astronaut", slice(40, 104), slice(200, 296)),
    "chelsea.png": ("chelsea", slice(50, 114), slice(100, 164)),
    "coffee.png": ("coffee", slice(100, 148), slice(200, 248)),
    "rocket.png": ("rocket", slice(200, 264), slice(300, 380)),
}


def crop(name: str) -> np.ndarray:
    from skimage import data

    photo, rows, columns = CROPS[name]
    return np.ascontiguousarray(getattr(data, photo)()[rows, columns])


def make_dataset(folder: Path, names: tuple[str, ...] = tuple(CROPS)) -> list[Path]:
    """The crops as PNG files in `folder` (created); returns their paths in name order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        Image.fromarray(crop(name)).save(folder / name)
        paths.append(folder / name)
    return sorted(paths)


def make_pairs(inputs: Path, truths: Path, names: tuple[str, ...] = tuple(CROPS)) -> None:
    """Ground truths (the crops) in `truths`, and in `inputs` the same names at half size (what x2 models take)."""
    inputs.mkdir(parents=True, exist_ok=True)
    make_dataset(truths, names)
    for name in names:
        sharp = Image.fromarray(crop(name))
        sharp.resize((sharp.width // 2, sharp.height // 2), Image.Resampling.BICUBIC).save(inputs / name)


def not_an_image(path: Path) -> Path:
    """A text file named like an image: its cells must fail, the run must go on."""
    path.write_text("this is not a PNG\n", encoding="utf-8")
    return path
