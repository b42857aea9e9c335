"""decode() on mutated real files: whatever the bytes, the only exceptions are our own StudioError subclasses.

The seeds are small crops of scikit-image's bundled photos written as PNG, JPEG, WebP and TIFF; hypothesis
flips, overwrites, inserts, deletes and truncates bytes of them (several edits per example). A pixel limit of
1 MP keeps a mutated header that claims a large size quick to refuse. About a minute on two cores.
"""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from skimage import data

from studio.core.errors import StudioError
from studio.core.media import DecodedImage, decode

pytestmark = pytest.mark.slow
LIMIT = 1_000_000
EXAMPLES = 15_000  # about 45 s here


def _seed_files() -> list[bytes]:
    crops = [data.astronaut()[100:164, 180:260], data.coffee()[50:98, 300:364], data.chelsea()[60:100, 120:180]]
    files = []
    for index, crop in enumerate(crops):
        image = Image.fromarray(np.ascontiguousarray(crop))
        for fmt, options in (
            ("PNG", {}),
            ("JPEG", {"quality": 85, "progressive": index == 1}),
            ("WEBP", {"lossless": index == 2, "quality": 80}),
            ("TIFF", {"compression": ("raw", "tiff_lzw", "tiff_adobe_deflate")[index]}),
        ):
            buffer = io.BytesIO()
            image.save(buffer, format=fmt, **options)
            files.append(buffer.getvalue())
    return files


SEEDS = _seed_files()


@st.composite
def mutated_files(draw: st.DrawFn) -> bytes:
    """A seed file with 1-6 random edits: a bit flipped, bytes overwritten, inserted or deleted, or the tail cut."""
    content = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        if not content:
            break
        edit = draw(st.sampled_from(["flip", "overwrite", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, len(content) - 1))
        if edit == "flip":
            content[at] ^= 1 << draw(st.integers(0, 7))
        elif edit == "overwrite":
            patch = draw(st.binary(min_size=1, max_size=8))
            content[at : at + len(patch)] = patch
        elif edit == "insert":
            content[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif edit == "delete":
            del content[at : at + draw(st.integers(1, 64))]
        else:
            del content[at:]
    return bytes(content)


def test_the_seed_files_decode():
    for content in SEEDS:
        assert isinstance(decode(content, LIMIT), DecodedImage)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # no .hypothesis folder in the clone
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(content=mutated_files())
def test_decode_raises_only_our_errors_on_mutated_files(content):
    started = time.perf_counter()
    try:
        decoded = decode(content, LIMIT)
    except StudioError as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message
    else:
        assert decoded.rgb.dtype == np.uint8 and decoded.rgb.ndim == 3 and decoded.rgb.shape[2] == 3
        assert decoded.rgb.shape[0] * decoded.rgb.shape[1] <= LIMIT
    assert time.perf_counter() - started < 5.0  # no mutation makes one decode hang
