"""`studio demo build` and `studio demo assets` as a user runs them: one line per example, one-line errors, exit 2.

Only the anime frame is built (--example): offline with no weights its preset picks the classical x2 baselines.
"""

from __future__ import annotations

import re

import numpy as np

from studio.core.media import decode
from studio.demo.drawn import DRAWN
from studio.demo.examples import ASSETS_DIR
from tests.cli.helpers import studio, write_registry

ANIME = ("demo", "build", "--example", "anime-frame.png")
BROKEN_ANIME = {  # picked by the anime x2 preset (an anime network that is here), and fails when it loads
    "id": "broken-anime-x2",
    "name": "Broken anime x2",
    "task": "super-resolution",
    "scale": 2,
    "backend": "onnx",
    "source": {"file": "broken.onnx"},
    "license": "MIT",
    "description": "An anime upscaler whose weights file is corrupt.",
    "link": "https://example.invalid/broken",
}


def test_build_prints_a_line_per_example_and_then_says_up_to_date(env):
    built = studio(*ANIME, env=env)
    assert built.returncode == 0, built.stderr
    assert re.fullmatch(r"built anime-frame\.png \(anime x2\): bicubic-x2, lanczos-x2 in \d+\.\d s\n", built.stdout)
    again = studio(*ANIME, env=env)
    assert again.returncode == 0, again.stderr
    assert re.fullmatch(
        r"up to date anime-frame\.png \(anime x2\): bicubic-x2, lanczos-x2 \(built [\d-]+ [\d:]+ in \d+\.\d s\)\n",
        again.stdout,
    )
    forced = studio(*ANIME, "--force", env=env)
    assert forced.returncode == 0 and forced.stdout.startswith("built anime-frame.png"), forced.stderr


def test_errors_are_one_line_and_exit_2(env, tmp_path):
    unknown = studio("demo", "build", "--example", "nope.png", env=env)
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert unknown.stderr.startswith("error: unknown example 'nope.png' (the examples: astronaut-lowres.jpg,")
    assert unknown.stderr.count("\n") == 1

    (tmp_path / "broken.onnx").write_bytes(b"not a network")
    user = write_registry(tmp_path / "user.yaml", BROKEN_ANIME)
    failed = studio("--registry", str(user), *ANIME, env=env)
    assert failed.returncode == 2 and failed.stdout == ""
    assert failed.stderr.startswith("error: demo: failed anime-frame.png (anime x2): broken-anime-x2 failed: ")
    assert failed.stderr.count("\n") == 1

    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    unwritable = studio(*ANIME, env={**env, "STUDIO_DATA_DIR": str(blocked)})
    assert unwritable.returncode == 2
    assert unwritable.stderr.startswith(
        f"error: demo: failed anime-frame.png (anime x2): cannot write the demo cache in {blocked}"
    )


def test_assets_draws_the_examples_again_pixel_for_pixel(env, tmp_path):
    result = studio("demo", "assets", "--out", str(tmp_path), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(tmp_path / name) for name in DRAWN]
    for name in DRAWN:
        redrawn, shipped = decode(tmp_path / name, 10**7).rgb, decode(ASSETS_DIR / name, 10**7).rgb
        assert np.array_equal(redrawn, shipped), name
