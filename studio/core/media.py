"""Decode, validate and encode images: the one conversion point between files and arrays.

Everything past this module sees HxWx3 uint8 RGB numpy arrays; an alpha channel,
when the file had one, travels beside the colour (enhancers never see it) and is
resized and re-attached on the way out.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from studio.core.errors import ImageTooLargeError, MediaError, StudioError

ALLOWED_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "MPO": "JPEG", "WEBP": "WebP", "BMP": "BMP", "TIFF": "TIFF"}
ENCODE_FORMATS = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP"}
HIGH_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}
# Pillow refuses PNG text / ICC chunks that inflate past ImageFile's limits with a ValueError carrying these words
BOMB_SIGNS = ("Decompressed data too large", "Decompressed Data Too Large", "Too much memory used in text chunks")
MAX_TEXT_CHUNK_MB = PngImagePlugin.MAX_TEXT_CHUNK / 2**20
MAGIC = (
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8", "JPEG"),
    (b"RIFF", "WebP"),
    (b"BM", "BMP"),
    (b"II*", "TIFF"),
    (b"MM\0*", "TIFF"),
)
# The widest side each written format can hold (libwebp: 16383 px; JPEG's header field: 65535 px)
MAX_ENCODE_SIDE = {"WEBP": 16383, "JPEG": 65535}


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


def _unreadable(exc: Exception, source_format: str) -> MediaError:
    """The one-line MediaError for a file the imaging library gave up on (never its internals as such)."""
    text = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, ValueError) and any(sign in text for sign in BOMB_SIGNS):
        return MediaError(
            f"the {source_format} file has a compressed text or colour-profile chunk that expands past the "
            f"{MAX_TEXT_CHUNK_MB:g} MB safety limit (a decompression bomb)"
        )
    if isinstance(exc, MemoryError):
        return ImageTooLargeError(f"the {source_format} file needs more memory to decode than this server has")
    return MediaError(f"the {source_format} file is truncated or corrupt ({text[:200]})")


def _open(data: bytes | Path | str, max_pixels: int) -> Image.Image:
    if isinstance(data, (str, Path)):
        data = read_file(data)
    if not data:
        raise MediaError("the file is empty")
    try:
        with warnings.catch_warnings():  # the size is checked against our own limit next; damage is refused later
            warnings.simplefilter("ignore")
            return Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise MediaError("not a supported image: expected PNG, JPEG, WebP, BMP or TIFF") from None
    except Image.DecompressionBombError as exc:  # over twice Pillow's own limit: refused before ours is asked
        claimed = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(claimed.group(1)) / 1e6:g} MP" if claimed else "its size"
        raise ImageTooLargeError(
            f"image too large: {size} is over the {max_pixels / 1e6:g} MP limit (STUDIO_MAX_PIXELS)"
        ) from None
    except Exception as exc:  # a malformed file can make any parser step fail: one line
        raise _unreadable(exc, _sniffed_format(data)) from None


def _sniffed_format(data: bytes) -> str:
    """The format's name from the first bytes, for messages about files the library could not open."""
    for magic, name in MAGIC:
        if data.startswith(magic):
            return name
    return "image"


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
    image = _open(data, max_pixels)
    if image.format not in ALLOWED_FORMATS:
        raise MediaError(f"{image.format} images are not supported: use PNG, JPEG, WebP, BMP or TIFF")
    check_pixels(image.width, image.height, max_pixels)
    source_format = ALLOWED_FORMATS[image.format]
    try:
        with warnings.catch_warnings():  # the pixel limit is ours; a damaged file is refused below, not warned of
            warnings.simplefilter("ignore")
            image.load()
            image = ImageOps.exif_transpose(image)
            return _to_arrays(image, source_format)
    except StudioError:
        raise
    except Exception as exc:  # whatever a malformed file makes the library raise: one line
        raise _unreadable(exc, source_format) from None


def _to_arrays(image: Image.Image, source_format: str) -> DecodedImage:
    """A loaded, upright PIL image as HxWx3 uint8 colour plus the alpha plane when it has a real one."""
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
    check_encodable(*decoded.size, key)
    if decoded.alpha is not None and pil_format != "JPEG":
        pil = Image.fromarray(np.dstack([decoded.rgb, decoded.alpha]), "RGBA")
    else:
        pil = Image.fromarray(decoded.rgb, "RGB")
    buffer = io.BytesIO()
    options = {"quality": quality} if pil_format in {"JPEG", "WEBP"} else {"compress_level": 6}
    pil.save(buffer, format=pil_format, **options)
    return buffer.getvalue()


def check_encodable(width: int, height: int, fmt: str) -> None:
    """MediaError when a `fmt` file cannot hold a width x height image (WebP: 16383 px a side; JPEG: 65535)."""
    pil_format = ENCODE_FORMATS.get(fmt.lower().lstrip("."), "")
    limit = MAX_ENCODE_SIDE.get(pil_format)
    if limit is not None and max(width, height) > limit:
        raise MediaError(
            f"{pil_format.replace('WEBP', 'WebP')} holds at most {limit} px a side and this image is "
            f"{width}x{height}: write it as PNG"
        )


def format_from_suffix(path: Path, default: str = "png") -> str:
    suffix = path.suffix.lower().lstrip(".")
    return suffix if suffix in ENCODE_FORMATS else default


def png_name(rgb: np.ndarray) -> str:
    """A picture's PNG file name from its pixels and shape (blake2b): the page writes each picture once under it
    (ui/compare/viewer.png_path), and the demo cache stores its pictures under the same names, found, not encoded."""
    pixels = np.ascontiguousarray(rgb, dtype=np.uint8)
    digest = hashlib.blake2b(pixels.tobytes(), digest_size=16)
    digest.update(repr(pixels.shape).encode())
    return f"{digest.hexdigest()}.png"
