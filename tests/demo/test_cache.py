"""The demo cache (studio/demo): an example built once, found again (a hit gives equal Results), rebuilt when the
registry changes, and what the page needs made ready at build time. Only the anime frame is built here: offline
and with no weights, its preset picks the classical x2 baselines, so a build takes well under a second."""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Any

import numpy as np
import pytest

from studio.core.config import Settings
from studio.core.media import png_name
from studio.demo import cache
from studio.demo.build import build_cache, display_pictures
from studio.demo.examples import EXAMPLES, current_states, plan_examples
from studio.engine.compare import run
from studio.engine.request import CompareRequest
from studio.services import Services
from tests.cli.helpers import write_registry

ANIME = "anime-frame.png"
CLASSICAL_ENTRY = {  # a small user registry of one classical model (its task is not the anime preset's)
    "id": "unsharp-mild",
    "name": "Unsharp mask (mild)",
    "task": "sharpen",
    "scale": 1,
    "backend": "classical",
    "source": {"builtin": "unsharp_mask"},
    "license": "Apache-2.0",
    "description": "A milder unsharp mask, added by a user registry.",
    "link": "https://en.wikipedia.org/wiki/Unsharp_masking",
}


def same(a: Any, b: Any) -> bool:
    """Equal values and pixels, field by field (NaN equal to NaN), and of the same types."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "__dataclass_fields__"):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in fields(a))
    return a == b


@pytest.fixture
def services(env) -> Services:
    return Services(Settings.from_env(env))


def test_build_then_hit_gives_equal_results(services):
    (built,) = build_cache(services, names=[ANIME])
    assert built.status == "built" and built.models == ("bicubic-x2", "lanczos-x2"), built
    assert built.line().startswith("built anime-frame.png (anime x2): bicubic-x2, lanczos-x2 in ")
    assert services.speed.predict_seconds("lanczos-x2", 200, 150) is not None  # the build feeds the speed book
    (again,) = build_cache(services, names=[ANIME])
    assert again.status == "up to date" and again.built_at == built.built_at
    assert again.line().startswith("up to date anime-frame.png (anime x2): bicubic-x2, lanczos-x2 (built ")

    (plan,) = plan_examples(services, current_states(services), [ANIME])
    entry = cache.fresh_entry(services.settings, plan)
    assert entry is not None and entry.folder.parent == services.settings.data_dir / "demo"
    from studio.core.media import decode

    live = run(plan.request, decode(plan.path, 10**8), services.registry, services.loader, source=ANIME)
    stored = entry.results()
    assert [row.model_id for row in stored.rows] == ["bicubic-x2", "lanczos-x2"]
    assert stored.source == ANIME and stored.request == plan.request
    for row, fresh in zip(stored.rows, live.rows, strict=True):  # the same pixels and scores as a run now
        assert np.array_equal(row.output.rgb, fresh.output.rgb) and row.metrics == fresh.metrics
    # Loading is exact: what save_results wrote reads back equal, field by field.
    folder = services.settings.data_dir / "copy"
    copy = cache.load_results(cache.save_results(live, folder), folder)
    assert same(copy, live)


def test_save_and_load_keep_every_field_exactly(tmp_path, services, small_photo):
    from studio.core.media import DecodedImage

    alpha = np.full(small_photo.shape[:2], 200, np.uint8)
    image = DecodedImage(small_photo, alpha, "WebP")
    request = CompareRequest.build(services.registry, ["bicubic-x2", "unsharp-mask"], with_reference=True)
    results = run(request, image, services.registry, services.loader, image, source="p.webp", reference_source="p.webp")
    results.rows[0].metrics["psnr"] = float("inf")  # values JSON has no word for survive too
    results.rows[1].metrics["ssim"] = float("nan")
    results.rows[1].error, results.rows[1].output = "broke", None
    loaded = cache.load_results(cache.save_results(results, tmp_path / "entry"), tmp_path / "entry")
    assert same(loaded, results)
    assert loaded.input.alpha is not None and loaded.input.source_format == "WebP"
    assert loaded.reference is not None and loaded.rows[0].output.alpha is not None
    degraded = CompareRequest.build(services.registry, ["bicubic-x2"], degrade="x2,blur=motion:5:30,noise=3,seed=4")
    results = run(degraded, image, services.registry, services.loader)
    loaded = cache.load_results(cache.save_results(results, tmp_path / "degraded"), tmp_path / "degraded")
    assert same(loaded, results) and loaded.recipe == degraded.recipe == loaded.request.recipe


def test_a_changed_registry_makes_the_entry_stale_and_it_is_rebuilt(services, env, tmp_path):
    (first,) = build_cache(services, names=[ANIME])
    old = {path.name for path in (services.settings.data_dir / "demo").iterdir()}
    user = write_registry(tmp_path / "user.yaml", CLASSICAL_ENTRY)
    changed = Services(Settings.from_env({**env, "STUDIO_REGISTRY": str(user)}))
    (plan,) = plan_examples(changed, current_states(changed), [ANIME])
    assert plan.models == first.models  # the same models: the registry's content alone changed the key
    assert cache.fresh_entry(changed.settings, plan) is None
    (rebuilt,) = build_cache(changed, names=[ANIME])
    assert rebuilt.status == "built"
    now = {path.name for path in (changed.settings.data_dir / "demo").iterdir()}
    assert now == {plan.folder_name} and not now & old  # the stale entry is removed
    (back,) = build_cache(services, names=[ANIME])  # and the registry without it is yet another key
    assert back.status == "built"


def test_an_entry_holds_what_the_page_shows_ready_made(services):
    build_cache(services, names=[ANIME])
    (plan,) = plan_examples(services, current_states(services), [ANIME])
    entry = cache.fresh_entry(services.settings, plan)
    results = entry.results()
    wanted = {png_name(picture) for picture in display_pictures(results)}
    assert set(entry.display) == wanted  # input, outputs, and the input at the outputs' size (the sliders' before)
    assert all((entry.folder / cache.DISPLAY / name).is_file() for name in wanted)
    downloads = entry.folder / cache.DOWNLOADS
    assert entry.outputs == ("bicubic-x2.png", "lanczos-x2.png")
    for name in (*entry.outputs, entry.csv, entry.zip, entry.report):
        assert (downloads / name).is_file(), name
    import zipfile

    with zipfile.ZipFile(downloads / entry.zip) as archive:
        names = set(archive.namelist())
    assert {ANIME, "results.json", "results.csv", "input.png", "bicubic-x2.png"} <= names  # --from replays it
    assert "<h1>Comparison of anime-frame.png</h1>" in (downloads / entry.report).read_text(encoding="utf-8")


def test_unknown_examples_and_missing_images(services, tmp_path):
    from studio.core.errors import UsageError

    with pytest.raises(UsageError, match="unknown example 'nope.png' \\(the examples: astronaut-lowres.jpg, "):
        plan_examples(services, current_states(services), ["nope.png"])
    assert plan_examples(services, current_states(services), folder=tmp_path) == []  # no assets: no examples
    assert set(EXAMPLES) == {"astronaut-lowres.jpg", "anime-frame.png", "text-motion-blurred.png", "coffee-noisy.png"}


def test_a_stale_build_folder_is_removed_but_not_a_fresh_one(services):
    import os
    import time

    from studio.demo.build import remove_stale

    parent = services.settings.data_dir / "demo"
    (parent / ".build-old").mkdir(parents=True)
    (parent / ".build-new").mkdir()
    (parent / "anime-frame-0123456789abcdef").mkdir()
    hours_ago = time.time() - 2 * 3600
    os.utime(parent / ".build-old", (hours_ago, hours_ago))
    assert sorted(remove_stale(parent, set(), time.time())) == [".build-old", "anime-frame-0123456789abcdef"]
    assert [path.name for path in parent.iterdir()] == [".build-new"]
