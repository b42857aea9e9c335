"""What the models see: the preview limit, a synthetic degradation or a ground truth checked and scaled with it.

Rules (the README's size rules): the long side is limited before anything runs (and said); in reference mode the
sharp image is trimmed to a multiple of the scale and degraded with a seeded recipe; a ground truth must have
the input's aspect ratio (within ASPECT_TOLERANCE) and is scaled as the input was.
"""

from __future__ import annotations

import numpy as np

from studio.core.degrade import Recipe, crop_to_multiple, degrade
from studio.core.errors import UsageError
from studio.core.media import DecodedImage
from studio.core.resize import limit_long_side, resize_to

ASPECT_TOLERANCE = 0.01  # a ground truth whose aspect ratio differs more is another picture


def check_aspect(image: DecodedImage, reference: DecodedImage) -> None:
    """Refuse a ground truth that cannot be the same picture as the input (aspect ratios >1% apart)."""
    (width, height), (ref_width, ref_height) = image.size, reference.size
    ratio = (ref_width / ref_height) / (width / height)
    if abs(ratio - 1) > ASPECT_TOLERANCE:
        raise UsageError(
            f"the ground truth ({ref_width}x{ref_height}) does not match the input ({width}x{height}): "
            f"their aspect ratios differ by {abs(ratio - 1):.0%}; give the sharp original of this image"
        )


def prepare(
    image: DecodedImage, reference: DecodedImage | None, recipe: Recipe | None, preview: int | None
) -> tuple[DecodedImage, np.ndarray | None, str | None]:
    """The enhancers' input, the reference (or None), and a note when a preview size applied."""
    original = image.rgb
    limited = limit_long_side(original, preview)
    note = None
    if limited.shape != original.shape:
        note = f"preview: {original.shape[1]}x{original.shape[0]} reduced to {limited.shape[1]}x{limited.shape[0]}"
    if recipe is not None:
        sharp = crop_to_multiple(limited, recipe.scale)
        return DecodedImage(rgb=degrade(sharp, recipe)), sharp, note
    ref = None
    if reference is not None:
        factor = limited.shape[1] / original.shape[1]
        ref_rgb = reference.rgb
        if factor != 1.0:
            ref_rgb = resize_to(
                ref_rgb, max(1, round(ref_rgb.shape[1] * factor)), max(1, round(ref_rgb.shape[0] * factor))
            )
        ref = ref_rgb
    return image.with_rgb(limited), ref, note
