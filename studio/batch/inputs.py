"""One image's inputs for its cells: read as bytes where the dataset is, decoded where the cells run.

The local runner does both in this process; the Ray runner reads on the driver (the dataset may
exist only there) and ships the bytes, so a worker on another machine decodes exactly what a
local run decodes, with the same error texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from studio.core.errors import MediaError

if TYPE_CHECKING:
    from studio.batch.job import BatchJob
    from studio.core.media import DecodedImage


@dataclass(frozen=True)
class ImageInputs:
    """The image's bytes and, with --pairs, its ground truth's bytes and path (named in errors)."""

    data: bytes
    reference: bytes | None = None
    reference_path: str | None = None

    @property
    def reference_name(self) -> str | None:
        return None if self.reference_path is None else Path(self.reference_path).name


def read_inputs(job: BatchJob, image: str) -> ImageInputs:
    """The bytes of `image` and its ground truth; a missing or unreadable file is a MediaError."""
    from studio.core.media import read_file

    data = read_file(job.images[image])
    if job.references is None:
        return ImageInputs(data)
    truth = job.references[image]
    if not truth.is_file():
        raise MediaError(f"no ground truth for '{image}': {truth} does not exist")
    try:
        reference = read_file(truth)
    except MediaError as exc:
        raise MediaError(f"ground truth {truth}: {exc}") from None
    return ImageInputs(data, reference, str(truth))


def decode_inputs(inputs: ImageInputs, max_pixels: int) -> tuple[DecodedImage, DecodedImage | None]:
    """The image and its ground truth, decoded under the pixel limit."""
    from studio.core.media import decode

    decoded = decode(inputs.data, max_pixels)
    if inputs.reference is None:
        return decoded, None
    try:
        return decoded, decode(inputs.reference, max_pixels)
    except MediaError as exc:
        raise MediaError(f"ground truth {inputs.reference_path}: {exc}") from None
