"""The form a model runs in (Loader.plan, the one rule labels, predictions and load() share) and the speed book.

Machine classes are forced (never this CPU's own): the plan is checked as a pure function
for every class, and against real loads for the CPU classes.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from studio.core.config import Settings
from studio.core.degrade import Recipe
from studio.core.errors import UsageError
from studio.core.media import DecodedImage
from studio.engine.compare import run
from studio.engine.inputs import prepare
from studio.engine.request import CompareRequest
from studio.engine.speed import SAMPLES, SpeedBook, model_input_size, preview_that_fits
from studio.models.cache import EnhancerCache
from studio.models.forms import Form, Machine, choose_form
from studio.models.loader import Loader
from studio.models.registry import load_registry
from studio.services import Services

REGISTRY = load_registry(Settings())
CPU, CPU_BF16, CUDA = Machine("cpu"), Machine("cpu-bf16"), Machine("cuda")


def plan(model_id: str, machine: Machine, **request) -> str:
    return choose_form(REGISTRY.get(model_id), machine, **request).describe()


@pytest.mark.parametrize(
    ("model_id", "cpu", "cpu_bf16", "cuda"),
    [
        ("lanczos-x4", "classical", "classical", "classical"),
        ("realesrgan-x4plus", "ncnn fp32", "torch bf16", "torch fp16 cuda"),  # options.fastest: cpu-bf16 -> torch
        ("realesr-animevideov3-x4", "ncnn fp32", "ncnn bf16", "torch fp16 cuda"),
        ("waifu2x-photo-x2", "ncnn fp32", "ncnn bf16", "torch fp16 cuda"),
        ("espcn-x4", "opencv-dnn fp32", "opencv-dnn fp32", "torch fp16 cuda"),  # converted: OpenCV DNN is CPU-only
        ("swinir-m-x4-realsr", "onnx fp32", "onnx fp32", "onnx fp32"),  # CPU onnxruntime: no CUDA provider
        ("4x-ultrasharp", "torch fp32", "torch bf16", "torch fp16 cuda"),
    ],
)
def test_the_default_form_per_machine_class(model_id, cpu, cpu_bf16, cuda):
    assert [plan(model_id, m) for m in (CPU, CPU_BF16, CUDA)] == [cpu, cpu_bf16, cuda]


def test_requests_and_machine_facts_change_the_plan():
    assert plan("realesrgan-x4plus", CPU_BF16, backend="ncnn") == "ncnn bf16"
    assert plan("realesrgan-x4plus", CPU_BF16, precision="fp32") == "torch fp32"
    assert plan("realesr-animevideov3-x4", CPU, backend="onnx") == "onnx fp32"
    assert plan("realesr-animevideov3-x4", CPU, backend="torch", precision="bf16") == "torch bf16"
    assert plan("realesrgan-x4plus", dataclasses.replace(CPU_BF16, torch_ok=False)) == "ncnn bf16"
    assert plan("realesr-animevideov3-x4", dataclasses.replace(CPU, vulkan=True)) == "ncnn fp16 vulkan"
    assert plan("swinir-m-x4-realsr", dataclasses.replace(CUDA, onnx_cuda=True)) == "onnx fp32 cuda"
    with pytest.raises(UsageError, match="unknown precision 'fp8'"):
        choose_form(REGISTRY.get("realesr-animevideov3-x4"), CPU, precision="fp8")


@pytest.fixture(scope="module")
def loaders(model_settings):
    return {
        kind: Loader(dataclasses.replace(model_settings, machine_class=kind), EnhancerCache(16384))
        for kind in ("cpu", "cpu-bf16")
    }


@pytest.mark.parametrize("kind", ["cpu", "cpu-bf16"])
@pytest.mark.parametrize(
    ("model_id", "backend"),
    [
        ("lanczos-x4", None),
        ("realesr-animevideov3-x4", None),
        ("realesr-animevideov3-x4", "torch"),
        ("realesr-animevideov3-x4", "onnx"),
        ("realesrgan-x4plus-anime", None),  # torch bf16 on cpu-bf16 (options.fastest), ncnn on cpu
    ],
)
def test_load_runs_exactly_the_planned_form(loaders, kind, model_id, backend):
    loader = loaders[kind]
    spec = REGISTRY.get(model_id)
    info = loader.load(spec, backend=backend).info
    assert Form(info.backend, info.device, info.precision) == loader.plan(spec, backend)


def test_the_loader_reports_the_forced_class(loaders):
    assert loaders["cpu-bf16"].machine().kind == "cpu-bf16"
    assert loaders["cpu"].plan(REGISTRY.get("realesrgan-x4plus-anime")).describe() == "ncnn fp32"
    assert loaders["cpu-bf16"].plan(REGISTRY.get("realesrgan-x4plus-anime")).describe() == "torch bf16"


# -- the speed book --------------------------------------------------------------------------


def book_for(settings: Settings, kind: str = "cpu") -> SpeedBook:
    forced = dataclasses.replace(settings, machine_class=kind)
    return SpeedBook(settings.data_dir / "speed.json", REGISTRY, Loader(forced, EnhancerCache(64)))


def test_a_comparison_feeds_the_book_and_predicts_by_output_pixels(settings, small_photo):
    book = book_for(settings)
    request = CompareRequest.build(REGISTRY, ["lanczos-x4", "unsharp-mask"], metrics=[], preview=None)
    results = run(request, DecodedImage(rgb=small_photo), REGISTRY, book.loader)
    book.record(results)
    for row in results.rows:
        width, height = row.output.size
        speed = width * height / 1e6 / (row.latency_ms / 1000)
        assert book.speed(row.model_id) == pytest.approx(speed, rel=1e-3)
        scale = REGISTRY.get(row.model_id).scale
        expected = 300 * scale * 200 * scale / 1e6 / speed
        assert book.predict_seconds(row.model_id, 300, 200) == pytest.approx(expected, rel=1e-3)
    assert book.predict_seconds("bicubic-x4", 300, 200) is None  # never measured: no guess
    stored = json.loads((settings.data_dir / "speed.json").read_text())
    assert set(stored["machines"][book.machine]) == {"lanczos-x4|classical|fp32", "unsharp-mask|classical|fp32"}


def _record_many_forms(data_dir: str, name: str, count: int, start) -> None:
    """One replica's process: `count` new forms, one write each, from the moment both processes are ready."""
    book = book_for(dataclasses.replace(Settings(), data_dir=Path(data_dir)))
    start.wait(60)
    for index in range(count):
        book.record_timing(f"{name}-{index}", "classical", "fp32", 1_000_000, 0.5)


def test_books_of_two_processes_sharing_a_data_dir_keep_each_others_records(settings):
    """Replicas share one data dir: each writes under the file lock, reading what the other wrote first."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    workers = [
        context.Process(target=_record_many_forms, args=(str(settings.data_dir), name, 100, start))
        for name in ("a", "b")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0, 0]
    assert len(book_for(settings).entries()) == 200  # not one form lost to the other process's write


def test_failed_rows_are_not_recorded(settings):
    book = book_for(settings)
    request = CompareRequest.build(REGISTRY, ["lanczos-x4"], metrics=[], preview=None)
    results = run(request, DecodedImage(rgb=np.zeros((8, 8, 3), np.uint8)), REGISTRY, book.loader)
    results.rows[0].error = "failed"
    book.record(results)
    assert book.entries() == {}


def test_the_book_persists_per_machine_class_and_keeps_the_median_of_the_last_samples(settings):
    book = book_for(settings, "cpu")
    for seconds in (1, 2, 4, 8, 16, 32, 64):  # 1 MP outputs: 1, 0.5, ... MP/s; only the last SAMPLES stay
        book.record_timing("realesr-animevideov3-x4", "ncnn", "fp32", 1_000_000, seconds)
    kept = [1 / s for s in (1, 2, 4, 8, 16, 32, 64)][-SAMPLES:]
    again = book_for(settings, "cpu")  # a new process reads the file
    assert again.speed("realesr-animevideov3-x4") == pytest.approx(float(np.median(kept)), rel=1e-3)
    assert book_for(settings, "cpu-bf16").speed("realesr-animevideov3-x4") is None  # another class: ncnn bf16


def test_predictions_follow_the_form_that_would_run(settings):
    book = book_for(settings, "cpu-bf16")
    book.record_timing("realesr-animevideov3-x4", "torch", "bf16", 4_000_000, 2.0)  # 2 MP/s in torch bf16
    assert book.predict_seconds("realesr-animevideov3-x4", 100, 100) is None  # ncnn bf16 runs by default here
    assert book.predict_seconds("realesr-animevideov3-x4", 100, 100, backend="torch") == pytest.approx(0.08)
    assert book.predict_seconds("lanczos-x4", 100, 100, backend="torch") is None  # a form it does not offer


def test_an_unreadable_book_is_empty_and_gets_rewritten(settings):
    path = settings.data_dir / "speed.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    book = book_for(settings)
    assert book.entries() == {}
    book.record_timing("lanczos-x4", "classical", "fp32", 2_000_000, 0.5)
    assert book_for(settings).speed("lanczos-x4") == pytest.approx(4.0)


def test_services_keep_one_book_under_the_data_dir(settings):
    services = Services(settings)
    assert services.speed is services.speed
    assert services.speed.path == settings.data_dir / "speed.json"


SIZES = [((300, 200), 128, 1), ((301, 203), None, 4), ((1000, 40), 512, 3), ((50, 70), 512, 2)]


@pytest.mark.parametrize(("size", "preview", "scale"), SIZES)
def test_the_predicted_input_size_is_the_one_compare_prepares(size, preview, scale):
    image = DecodedImage(rgb=np.zeros((size[1], size[0], 3), np.uint8))
    recipe = Recipe(scale=scale) if scale > 1 else None
    prepared, _, _ = prepare(image, None, recipe, preview)
    assert model_input_size(*size, preview, scale) == prepared.size


def test_a_preview_that_fits_scales_the_side_with_the_square_root_of_the_time():
    assert preview_that_fits(1024, 40.0, 10.0) == 512  # a quarter of the time: half the side
    assert preview_that_fits(1000, 12.0, 10.0) == 896  # 912.9 -> the slider's step of 64
    assert preview_that_fits(512, 100.0, 1.0) is None  # 51 px: below the smallest preview


def test_a_run_prediction_sums_the_measured_models_and_lists_the_others(settings):
    book = book_for(settings)
    book.record_timing("lanczos-x4", "classical", "fp32", 1_000_000, 0.1)  # 10 MP/s
    prediction = book.predict_run(["lanczos-x4", "bicubic-x4"], 250, 250)
    assert prediction.seconds == {"lanczos-x4": pytest.approx(0.1)} and prediction.unmeasured == ("bicubic-x4",)
    assert prediction.total == pytest.approx(0.1)
