"""The comparison engine: timing, metrics, size rules, reference mode, failures, exports."""

from __future__ import annotations

import json

import pytest

from studio.core.degrade import Recipe
from studio.core.errors import UnknownModelError, UsageError
from studio.core.media import DecodedImage
from studio.engine.compare import iterate, run
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
    assert (bicubic.scale, waifu.scale, compact.scale) == (4, 2, 4) and bicubic.flag is compact.flag is None
    assert waifu.flag == "x2 output scored against a x4 degradation: not comparable with the x4 rows"
    assert results.groups("ssim_y") == [
        ("256x256 outputs (reference size)", [bicubic, compact]),
        ("128x128 outputs", [waifu]),
    ]
    assert (
        waifu.model_id not in results.best("ssim_y") and len(results.best("ssim_y")) == 1
    )  # a group of one wins nothing
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
    assert {"PSNR-Y ↑", "Sharpness ↑", "Sharpness Δ vs input", "MP/s", "latency ms", "flag"} <= set(frame.columns)
    assert "warm ms" not in frame.columns  # one run per model: the column would always be empty
    assert "nafnet-gopro-width64" in frame.loc[1, "error"] and "not downloaded" in frame.loc[1, "error"]
    assert frame.loc[0, "name"] == "Lanczos x2" and frame.loc[0, "latency ms"] == frame.loc[0, "first ms"]
    payload = json.loads(results_json(results))
    assert payload["degradation"]["text"] == "x2,seed=0" and payload["metrics"]["psnr_y"]["lower_better"] is False
    assert results_markdown(results).startswith("| model | name | backend |")


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


def test_a_ground_truth_of_another_shape_is_refused_before_anything_runs(engine, photo):
    registry, loader = engine
    request = CompareRequest.build(registry, ["bicubic-x2"], metrics=["psnr"], with_reference=True)
    image = DecodedImage(rgb=photo[:64, :96])  # 96x64, 3:2
    steps = []
    with pytest.raises(UsageError) as refused:
        for results in iterate(request, image, registry, loader, DecodedImage(rgb=photo[:128, :128])):
            steps.append(results)
    assert str(refused.value) == (
        "the ground truth (128x128) does not match the input (96x64): their aspect ratios differ by 33%; "
        "give the sharp original of this image"
    )
    assert steps == []  # refused before the first yield
    nearly = run(request, image, registry, loader, DecodedImage(rgb=photo[:128, :193]))  # 0.5% off: accepted
    assert nearly.rows[0].ok and nearly.rows[0].flag is None and nearly.rows[0].notes


def test_a_model_of_another_scale_than_the_ground_truth_is_flagged(engine, photo):
    image, reference = DecodedImage(rgb=photo[::2, ::2].copy()), DecodedImage(rgb=photo)
    results = compare(engine, image, ["bicubic-x2", "clahe"], metrics("psnr", "colourfulness"), reference=reference)
    bicubic, clahe = results.rows
    assert bicubic.flag is None
    assert clahe.flag == "x1 output scored against a x2 ground truth: not comparable with the x2 rows"
    assert [label for label, _ in results.groups("psnr")] == ["512x512 outputs (reference size)", "256x256 outputs"]
    assert results.groups("colourfulness") == [("", [bicubic, clahe])]  # does not depend on the size
    assert results.best("colourfulness") == {max(results.rows, key=lambda r: r.metrics["colourfulness"]).model_id}


def test_cancel_between_models_keeps_what_finished(engine, small_photo):
    registry, loader = engine
    request = CompareRequest.build(registry, ["clahe", "bicubic-x2", "unsharp-mask"], metrics=["sharpness"])
    steps = []
    for results in iterate(
        request, DecodedImage(rgb=small_photo), registry, loader, should_stop=lambda: len(steps) >= 2
    ):
        steps.append(results)
    assert len(steps) == 3  # no rows, clahe, then the cancelled results once more
    results = steps[-1]
    assert [row.model_id for row in results.rows] == ["clahe"] and results.rows[0].ok
    assert results.cancelled == "cancelled after 1 of 3 models"
    assert json.loads(results_json(results))["cancelled"] == "cancelled after 1 of 3 models"


def test_cancel_inside_a_tiled_model_drops_that_model(engine, small_photo):
    registry, loader = engine
    models = ["clahe", "realesr-animevideov3-x2", "unsharp-mask"]
    request = CompareRequest.build(registry, models, metrics=[], tile=64, backend="ncnn", precision="fp32")
    events = []
    results = run(
        request,
        DecodedImage(rgb=small_photo),
        registry,
        loader,
        on_progress=lambda fraction, message: events.append(message),
        should_stop=lambda: "realesr-animevideov3-x2: tile 2/4" in events,
    )
    assert [row.model_id for row in results.rows] == ["clahe"]
    assert results.cancelled == "cancelled after 1 of 3 models"
    assert events[-2:] == ["realesr-animevideov3-x2: tile 2/4", "cancelled after 1 of 3 models"]  # at that tile


def test_no_stop_requested_runs_everything(engine, small_photo):
    registry, loader = engine
    request = CompareRequest.build(registry, ["clahe", "bicubic-x2"], metrics=[])
    results = run(request, DecodedImage(rgb=small_photo), registry, loader, should_stop=lambda: False, source="a.png")
    assert results.cancelled is None and len(results.rows) == 2 and results.source == "a.png"
