"""The comparison engine: timing, metrics, size rules, reference mode, failures, exports."""

from __future__ import annotations

import json

import pytest

from studio.core.degrade import Recipe
from studio.core.errors import UnknownModelError
from studio.core.media import DecodedImage
from studio.engine.compare import run
from studio.engine.export import results_frame, results_json, results_markdown
from studio.engine.request import CompareRequest
from studio.metrics import get_metric
from studio.models.cache import EnhancerCache
from studio.models.loader import Loader
from studio.models.registry import load_registry


@pytest.fixture(scope="module")
def engine(model_settings):
    return load_registry(model_settings), Loader(model_settings, cache=EnhancerCache(8192))


def metrics(*ids):
    return [get_metric(i).id for i in ids]


def compare(engine, image, models, metric_ids=(), reference=None, recipe=None, on_progress=None, **fields):
    """One request through the engine, as every front end builds it."""
    registry, loader = engine
    request = CompareRequest.build(
        registry,
        models,
        metrics=list(metric_ids),
        degrade=recipe,
        with_reference=reference is not None,
        max_models=None,
        **fields,
    )
    return run(request, image, registry, loader, reference, on_progress)


def test_reference_mode_scores_every_model_against_the_original(engine, photo):
    recipe = Recipe.parse("x4,seed=1")
    results = compare(
        engine,
        DecodedImage(rgb=photo),
        ["bicubic-x4", "waifu2x-photo-x2", "realesr-animevideov3-x4"],
        metrics("psnr_y", "ssim_y", "sharpness"),
        recipe=recipe,
        preview=256,
        repeat=3,
        backend="ncnn",
        precision="fp32",
        device="cpu",
    )
    assert results.input.size == (64, 64) and results.reference.shape == (256, 256, 3)
    assert results.preview_note == "preview: 512x512 reduced to 256x256"
    bicubic, waifu, compact = results.rows
    assert bicubic.output.size == compact.output.size == (256, 256)
    assert waifu.output.size == (128, 128)
    assert waifu.notes == ["reference resized 256x256 -> 128x128"]  # never silently mismatched
    assert 18 < bicubic.metrics["psnr_y"] < 35 and 0 < bicubic.metrics["ssim_y"] < 1
    assert bicubic.deltas["sharpness"] == pytest.approx(0.0)  # bicubic is the baseline itself
    assert compact.deltas["sharpness"] > 0  # the network sharpens
    assert all(r.warm_ms is not None and r.first_ms > 0 and r.megapixels_per_s > 0 for r in results.rows)
    assert (compact.backend, compact.device, compact.precision) == ("ncnn", "cpu", "fp32")


def test_a_failing_model_and_an_unavailable_metric_do_not_stop_the_rest(engine, small_photo):
    results = compare(
        engine,
        DecodedImage(rgb=small_photo),
        ["nl-means", "nafnet-gopro-width64", "clahe"],
        metrics("lpips", "sharpness"),
        reference=DecodedImage(rgb=small_photo),
    )
    assert [row.ok for row in results.rows] == [True, False, True]
    assert "not downloaded" in results.rows[1].error
    with pytest.raises(UnknownModelError, match="unknown model 'no-such-model'"):  # refused before anything runs
        compare(engine, DecodedImage(rgb=small_photo), ["nl-means", "no-such-model"])
    assert results.unavailable == {"lpips": "weights not downloaded"}
    assert results.rows[0].metrics["lpips"] is None and results.rows[0].metrics["sharpness"] > 0


def test_full_reference_metrics_are_empty_without_a_reference(engine, small_photo):
    (row,) = compare(engine, DecodedImage(rgb=small_photo), ["clahe"], metrics("psnr", "sharpness")).rows
    assert row.metrics["psnr"] is None and row.metrics["sharpness"] > 0


def test_user_reference_is_aligned_with_the_preview(engine, photo):
    image = DecodedImage(rgb=photo[::2, ::2].copy())  # 256x256 "low resolution" upload
    reference = DecodedImage(rgb=photo)  # its 512x512 ground truth
    results = compare(
        engine,
        image,
        ["bicubic-x2"],
        metrics("psnr"),
        reference=reference,
        preview=128,
    )
    assert results.input.size == (128, 128) and results.reference.shape == (256, 256, 3)
    assert results.rows[0].notes == [] and results.rows[0].metrics["psnr"] > 20


def test_progress_is_reported_per_model_and_tile(engine, small_photo):
    events = []
    compare(
        engine,
        DecodedImage(rgb=small_photo),
        ["realesr-animevideov3-x2", "clahe"],
        tile=64,
        on_progress=lambda f, m: events.append((round(f, 3), m)),
    )
    assert events[0] == (0.0, "running realesr-animevideov3-x2 (1/2)")
    assert ("realesr-animevideov3-x2: tile 4/4" in [m for _, m in events]) and events[-1] == (1.0, "done")
    fractions = [f for f, _ in events]
    assert fractions == sorted(fractions)


def test_exports_carry_arrows_recipe_and_errors(engine, photo):
    results = compare(
        engine,
        DecodedImage(rgb=photo),
        ["lanczos-x2", "nafnet-gopro-width64"],
        metrics("psnr_y", "sharpness"),
        recipe=Recipe.parse("x2"),
        preview=128,
    )
    frame = results_frame(results)
    assert {"PSNR-Y ↑", "Sharpness ↑", "Sharpness Δ vs bicubic", "MP/s", "warm ms"} <= set(frame.columns)
    assert "nafnet-gopro-width64" in frame.loc[1, "error"] and "not downloaded" in frame.loc[1, "error"]
    payload = json.loads(results_json(results))
    assert payload["degradation"]["text"] == "x2,seed=0" and payload["metrics"]["psnr_y"]["lower_better"] is False
    assert results_markdown(results).startswith("| model | backend |")


def test_results_json_is_strict_json_with_nulls_and_notes(engine, small_photo):
    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    image = DecodedImage(rgb=small_photo)
    results = compare(engine, image, ["bicubic-x2"], metrics("psnr", "sharpness"), reference=image)
    results.rows[0].metrics["psnr"] = float("inf")  # identical images give an infinite PSNR
    payload = json.loads(results_json(results), parse_constant=refuse)
    assert payload["metrics"]["sharpness"]["range"] == [0, None]
    assert payload["rows"][0]["PSNR ↑"] is None
    assert payload["non_finite"] == ["metrics.sharpness.range[1]: inf", "rows[0].PSNR ↑: inf"]
