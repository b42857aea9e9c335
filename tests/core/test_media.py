from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

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


# ---- hardening (#13): every bad file is one MediaError line; odd but valid files decode exactly ---------------
BOMB = zlib.compress(b"\0" * (PngImagePlugin.MAX_TEXT_CHUNK + 4096), 9)  # ~1 KB that inflates past the limit


def tiny_png(*chunks_before_idat: bytes, after: tuple[bytes, ...] = ()) -> bytes:
    """A valid 4x4 RGB PNG with extra chunks before and after its pixels."""
    ihdr = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\0" + bytes(range(12)) for _ in range(4)))
    body = _chunk(b"IHDR", ihdr) + b"".join(chunks_before_idat) + _chunk(b"IDAT", pixels) + b"".join(after)
    return b"\x89PNG\r\n\x1a\n" + body + _chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "chunk",
    [
        _chunk(b"zTXt", b"comment\0\0" + BOMB),
        _chunk(b"iTXt", b"comment\0\x01\0\0\0" + BOMB),
        _chunk(b"iCCP", b"profile\0\0" + BOMB),
    ],
    ids=["zTXt", "iTXt", "iCCP"],
)
@pytest.mark.parametrize("where", ["before pixels", "after pixels"])
def test_png_chunk_decompression_bombs_are_one_media_error(chunk, where):
    data = tiny_png(chunk) if where == "before pixels" else tiny_png(after=(chunk,))
    with pytest.raises(
        MediaError,
        match=r"^the PNG file has a compressed text or colour-profile chunk that expands "
        r"past the 1 MB safety limit \(a decompression bomb\)$",
    ):
        decode(data, LIMIT)
    assert decode(tiny_png(), LIMIT).size == (4, 4)  # the same file without the chunk is fine


@pytest.mark.parametrize(
    ("width", "height", "message"),
    [(30000, 30000, "900 MP is over the 16 MP limit"), (15000, 10000, "15000x10000 is over the 16 MP limit")],
    ids=["30000x30000", "150MP"],
)
def test_header_claimed_giants_are_refused_fast(width, height, message):
    """Past twice Pillow's own limit (179 MP) Pillow refuses at open, before the size is ours to read."""
    started = time.perf_counter()
    with pytest.raises(ImageTooLargeError, match=f"^image too large: {message} \\(STUDIO_MAX_PIXELS\\)$"):
        decode(png_header_only(width, height), LIMIT)
    assert time.perf_counter() - started < 1.0


def _fits() -> bytes:
    cards = [
        "SIMPLE  =                    T",
        "BITPIX  =                    8",
        "NAXIS   =                    2",
        "NAXIS1  =                    4",
        "NAXIS2  =                    4",
        "END",
    ]
    header = "".join(card.ljust(80) for card in cards).encode().ljust(2880)
    return header + bytes(2880)


def _psd() -> bytes:
    head = b"8BPS" + struct.pack(">H", 1) + bytes(6) + struct.pack(">HIIHH", 3, 4, 4, 8, 3)
    return head + struct.pack(">III", 0, 0, 0) + struct.pack(">H", 0) + bytes(48)


def _pdf() -> bytes:
    return to_bytes(Image.new("RGB", (8, 8)), "PDF")


def _animated(fmt: str, **options) -> bytes:
    frames = [Image.new("RGB", (8, 6), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format=fmt, save_all=True, append_images=frames[1:], **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<!DOCTYPE html><html><body><img src=x></body></html>", "not a supported image"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect/></svg>', "not a supported image"),
        (_fits(), "FITS images are not supported"),
        (_psd(), "PSD images are not supported"),
        (_pdf(), "not a supported image"),
        (_animated("GIF"), "GIF images are not supported"),
    ],
    ids=["html", "svg", "fits", "psd", "pdf", "animated-gif"],
)
def test_formats_outside_the_allowlist_are_refused(data, message):
    with pytest.raises(MediaError, match=message):
        decode(data, LIMIT)


def test_animated_webp_gives_its_first_frame():
    decoded = decode(_animated("WEBP", lossless=True), LIMIT)
    assert decoded.size == (8, 6) and np.all(decoded.rgb == (255, 0, 0))


def test_an_empty_file_is_refused(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match="the file is empty"):
        decode(empty, LIMIT)


def test_sixteen_bit_input_is_exact():
    """16-bit grey whose values are 8-bit ones times 257 comes back as exactly those 8-bit values."""
    eight = np.arange(256, dtype=np.uint16).reshape(16, 16)
    decoded = decode(to_bytes(Image.fromarray(eight * 257), "PNG"), LIMIT)
    assert np.array_equal(decoded.rgb[..., 0], eight) and np.array_equal(decoded.rgb[..., 2], eight)


def test_cmyk_jpeg_is_converted(small_photo):
    decoded = decode(to_bytes(Image.fromarray(small_photo).convert("CMYK"), "JPEG", quality=95), LIMIT)
    assert decoded.rgb.shape == small_photo.shape and np.abs(decoded.rgb.astype(int) - small_photo).mean() < 6


def test_palette_png_with_transparency_carries_its_alpha(small_photo):
    palette = Image.fromarray(small_photo).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    palette.info["transparency"] = 0  # palette entry 0 is clear
    decoded = decode(to_bytes(palette, "PNG", transparency=0), LIMIT)
    clear = np.asarray(palette) == 0
    assert decoded.alpha is not None and clear.any()
    assert np.array_equal(decoded.alpha == 0, clear)
    expected = np.asarray(palette.convert("RGBA"))[..., :3]
    assert np.array_equal(decoded.rgb, expected)


@pytest.mark.parametrize("mode", ["LA", "RGBA", "1"])
def test_la_rgba_and_one_bit_images(mode):
    grid = np.indices((12, 10)).sum(axis=0) % 2 * 255  # a checkerboard
    if mode == "1":
        image = Image.fromarray(grid.astype(np.uint8)).convert("1")
        expected_rgb, expected_alpha = np.repeat(grid[..., None], 3, axis=2), None
    elif mode == "LA":
        image = Image.fromarray(np.dstack([grid, 255 - grid]).astype(np.uint8), "LA")
        expected_rgb, expected_alpha = np.repeat(grid[..., None], 3, axis=2), 255 - grid
    else:
        rgb = np.dstack([grid, grid // 2, 255 - grid])
        image = Image.fromarray(np.dstack([rgb, np.full_like(grid, 128)]).astype(np.uint8), "RGBA")
        expected_rgb, expected_alpha = rgb, np.full_like(grid, 128)
    decoded = decode(to_bytes(image, "PNG"), LIMIT)
    assert np.array_equal(decoded.rgb, expected_rgb)
    if expected_alpha is None:
        assert decoded.alpha is None
    else:
        assert np.array_equal(decoded.alpha, expected_alpha)


# How each EXIF orientation is undone, written out with numpy (not PIL): the stored array -> the upright one.
UPRIGHT = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1, :],
    5: lambda a: np.transpose(a, (1, 0, 2)),
    6: lambda a: np.rot90(a, k=-1),
    7: lambda a: np.transpose(a, (1, 0, 2))[::-1, ::-1],
    8: lambda a: np.rot90(a, k=1),
}


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("path", ["file", "bytes"])
def test_every_exif_orientation_is_made_upright(small_photo, tmp_path, orientation, path):
    stored = np.ascontiguousarray(small_photo[:40, :64])  # not square, so a turn shows in the size
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = to_bytes(Image.fromarray(stored), "PNG", exif=exif.tobytes())
    if path == "file":
        (tmp_path / "oriented.png").write_bytes(data)
        decoded = decode(tmp_path / "oriented.png", LIMIT)
    else:
        decoded = decode(data, LIMIT)
    assert np.array_equal(decoded.rgb, UPRIGHT[orientation](stored))


@pytest.mark.parametrize(("width", "height"), [(1, 1), (100_000, 1), (1, 100_000)])
def test_extreme_shapes_decode(width, height):
    rng = np.random.default_rng(width)
    pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    decoded = decode(to_bytes(Image.fromarray(pixels), "PNG"), LIMIT)
    assert decoded.size == (width, height) and np.array_equal(decoded.rgb, pixels)


def test_encoding_refuses_sizes_a_format_cannot_hold():
    wide = np.zeros((1, 16_384, 3), np.uint8)
    with pytest.raises(MediaError, match="WebP holds at most 16383 px a side and this image is 16384x1"):
        encode(wide, "webp")
    assert decode(encode(wide, "png"), LIMIT).size == (16_384, 1)
