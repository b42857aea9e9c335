"""Decode, validate and encode images: the one conversion point between files and arrays.

Everything past this module sees HxWx3 uint8 RGB numpy arrays; an alpha channel,
when the file had one, travels beside the colour (enhancers never see it) and is
resized and re-attached on the way out.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from studio.core.errors import ImageTooLargeError, MediaError

ALLOWED_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "MPO": "JPEG", "WEBP": "WebP", "BMP": "BMP", "TIFF": "TIFF"}
ENCODE_FORMATS = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP"}
HIGH_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}


@dataclass(frozen=True)
class DecodedImage:
    """Colour as HxWx3 uint8 RGB, plus the alpha plane (HxW uint8) if the file had one."""

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    source_format: str = ""

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), the way people say image sizes."""
        return self.rgb.shape[1], self.rgb.shape[0]

    def with_rgb(self, rgb: np.ndarray) -> DecodedImage:
        """A copy with new colour; alpha is resized to match (for x2/x4 enhancers)."""
        alpha = self.alpha
        if alpha is not None and alpha.shape[:2] != rgb.shape[:2]:
            alpha = cv2.resize(alpha, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_CUBIC)
        return replace(self, rgb=rgb, alpha=alpha)


def read_file(path: Path | str) -> bytes:
    """A file's bytes, or the MediaError `decode(path)` would give: a runner on another machine decodes them."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise MediaError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise MediaError(f"expected an image file, got a folder: {path}") from None
    except OSError as exc:
        raise MediaError(f"cannot read {path}: {exc.strerror or exc}") from None


def _open(data: bytes | Path | str) -> Image.Image:
    if isinstance(data, (str, Path)):
        data = read_file(data)
    if not data:
        raise MediaError("the file is empty")
    try:
        return Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise MediaError("not a supported image: expected PNG, JPEG, WebP, BMP or TIFF") from None
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"image too large: {exc}") from None


def check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"image too large: {width}x{height} is over the {max_pixels / 1e6:g} MP limit (STUDIO_MAX_PIXELS)"
        )


def _reduce_high_bit(image: Image.Image) -> np.ndarray:
    """16-bit and float greyscale to 8 bits by scaling, never by clipping."""
    values = np.asarray(image).astype(np.float64)
    if image.mode == "F":
        top = 1.0 if values.max(initial=0) <= 1.0 else values.max()
    elif image.mode == "I" and values.max(initial=0) > 65535:
        top = values.max()
    else:
        top = 65535.0
    grey = np.clip(np.rint(values / top * 255.0), 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def decode(data: bytes | Path | str, max_pixels: int) -> DecodedImage:
    """Bytes or a path -> DecodedImage, or one clear MediaError.

    The pixel limit is checked from the header, before any pixel is decoded.
    """
    image = _open(data)
    if image.format not in ALLOWED_FORMATS:
        raise MediaError(f"{image.format} images are not supported: use PNG, JPEG, WebP, BMP or TIFF")
    check_pixels(image.width, image.height, max_pixels)
    source_format = ALLOWED_FORMATS[image.format]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
            image = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaError(f"the {source_format} file is truncated or corrupt ({str(exc).splitlines()[0]})") from None

    alpha: np.ndarray | None = None
    if image.mode in HIGH_BIT_MODES:
        rgb = _reduce_high_bit(image)
    else:
        has_alpha = image.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or (
            image.mode == "P" and "transparency" in image.info
        )
        if has_alpha:
            rgba = np.asarray(image.convert("RGBA"))
            rgb, alpha = np.ascontiguousarray(rgba[..., :3]), np.ascontiguousarray(rgba[..., 3])
            if alpha.min() == 255:
                alpha = None  # fully opaque: nothing to carry
        else:
            rgb = np.asarray(image.convert("RGB"))  # L, P, CMYK, YCbCr, 1, 16-bit RGB (PIL keeps the MSB)
    return DecodedImage(rgb=np.ascontiguousarray(rgb), alpha=alpha, source_format=source_format)


def encode(image: DecodedImage | np.ndarray, fmt: str = "png", quality: int = 92) -> bytes:
    """Encode to PNG, JPEG or WebP bytes; alpha is kept where the format has it."""
    key = fmt.lower().lstrip(".")
    if key not in ENCODE_FORMATS:
        raise MediaError(f"cannot write '{fmt}': use png, jpeg or webp")
    decoded = image if isinstance(image, DecodedImage) else DecodedImage(rgb=image)
    pil_format = ENCODE_FORMATS[key]
    if decoded.alpha is not None and pil_format != "JPEG":
        pil = Image.fromarray(np.dstack([decoded.rgb, decoded.alpha]), "RGBA")
    else:
        pil = Image.fromarray(decoded.rgb, "RGB")
    buffer = io.BytesIO()
    options = {"quality": quality} if pil_format in {"JPEG", "WEBP"} else {"compress_level": 6}
    pil.save(buffer, format=pil_format, **options)
    return buffer.getvalue()


def format_from_suffix(path: Path, default: str = "png") -> str:
    suffix = path.suffix.lower().lstrip(".")
    return suffix if suffix in ENCODE_FORMATS else default
