from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from studio.core.errors import ImageTooLargeError, MediaError
from studio.core.media import decode, encode
from studio.engine.compare import run
from studio.engine.request import CompareRequest
from studio.models.cache import EnhancerCache
from studio.models.loader import Loader
from studio.models.registry import load_registry

LIMIT = 16_000_000


def to_bytes(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "lossless"), [("PNG", True), ("JPEG", False), ("WEBP", False), ("BMP", True), ("TIFF", True)]
)
def test_decodes_each_allowed_format_to_rgb_uint8(small_photo, fmt, lossless):
    decoded = decode(to_bytes(Image.fromarray(small_photo), fmt), LIMIT)
    assert decoded.rgb.dtype == np.uint8 and decoded.rgb.shape == small_photo.shape
    assert decoded.alpha is None
    error = np.abs(decoded.rgb.astype(int) - small_photo).mean()
    assert error == 0 if lossless else error < 6


def test_exif_orientation_is_applied(small_photo):
    tall = small_photo[:, :64]  # 128 high, 64 wide
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display needs a 90 degree clockwise turn
    data = to_bytes(Image.fromarray(tall), "JPEG", exif=exif.tobytes(), quality=95)
    decoded = decode(data, LIMIT)
    assert decoded.size == (128, 64)


def test_alpha_is_split_carried_through_an_upscaler_and_reattached(small_photo, settings):
    alpha = np.zeros(small_photo.shape[:2], np.uint8)
    alpha[:, 64:] = 255
    rgba = Image.fromarray(np.dstack([small_photo, alpha]), "RGBA")
    decoded = decode(to_bytes(rgba, "PNG"), LIMIT)
    assert decoded.alpha is not None and decoded.rgb.shape[2] == 3
    loader = Loader(settings, EnhancerCache(100))
    registry = load_registry(settings)
    request = CompareRequest.build(registry, ["lanczos-x2"], metrics=[], preview=None)
    (row,) = run(request, decoded, registry, loader).rows
    assert row.ok and row.output.alpha.shape == (256, 256)
    back = Image.open(io.BytesIO(encode(row.output, "png")))
    assert back.mode == "RGBA" and back.size == (256, 256)
    assert np.asarray(back)[:, :100, 3].max() < 20 and np.asarray(back)[:, 160:, 3].min() > 235


def test_sixteen_bit_is_scaled_not_clipped():
    ramp = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    decoded = decode(to_bytes(Image.fromarray(ramp), "PNG"), LIMIT)
    assert decoded.rgb.max() == 255 and decoded.rgb.min() == 0
    middle = decoded.rgb[32, 0, 0]
    assert 120 <= middle <= 135  # a clipped conversion would give 255 here
    assert np.all(np.diff(decoded.rgb[..., 0].ravel().astype(int)) >= 0)


def test_palette_greyscale_and_cmyk_become_rgb(small_photo):
    palette = Image.fromarray(small_photo).convert("P", palette=Image.Palette.ADAPTIVE, colors=32)
    grey = Image.fromarray(small_photo).convert("L")
    cmyk = Image.fromarray(small_photo).convert("CMYK")
    for image, fmt in ((palette, "PNG"), (grey, "PNG"), (cmyk, "JPEG"), (cmyk, "TIFF")):
        decoded = decode(to_bytes(image, fmt), LIMIT)
        assert decoded.rgb.shape == small_photo.shape and decoded.rgb.dtype == np.uint8


def test_truncated_file_gets_one_clear_error(small_photo):
    data = to_bytes(Image.fromarray(small_photo), "PNG")
    with pytest.raises(MediaError, match="PNG file is truncated or corrupt"):
        decode(data[: len(data) // 2], LIMIT)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"definitely not an image", "not a supported image"),
        (b"", "the file is empty"),
    ],
)
def test_unknown_content_is_refused(data, message):
    with pytest.raises(MediaError, match=message):
        decode(data, LIMIT)


def test_format_allowlist_is_by_content_not_name(small_photo, tmp_path):
    gif = tmp_path / "looks_like.png"
    gif.write_bytes(to_bytes(Image.fromarray(small_photo), "GIF"))
    with pytest.raises(MediaError, match="GIF images are not supported"):
        decode(gif, LIMIT)


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a size in its header but carries only a few bytes of pixels (a bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 1024)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


def test_pixel_limit_is_checked_from_the_header_before_decoding():
    with pytest.raises(ImageTooLargeError, match="image too large: 8000x6000 is over the 16 MP limit"):
        decode(png_header_only(8000, 6000), LIMIT)


def test_pixel_limit_applies_to_real_images(small_photo):
    with pytest.raises(ImageTooLargeError, match="128x128 is over the 0.01 MP limit"):
        decode(to_bytes(Image.fromarray(small_photo), "PNG"), 10_000)


def test_missing_file_is_a_media_error(tmp_path):
    with pytest.raises(MediaError, match="no such file"):
        decode(tmp_path / "nope.png", LIMIT)


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_encode_round_trips(small_photo, fmt):
    data = encode(small_photo, fmt)
    back = decode(data, LIMIT)
    assert back.rgb.shape == small_photo.shape
    assert np.abs(back.rgb.astype(int) - small_photo).mean() < (0.01 if fmt == "png" else 6)
    with pytest.raises(MediaError, match="cannot write 'gif'"):
        encode(small_photo, "gif")
