"""Auto-tuning (issue #14): the choice follows the measurements, the fidelity floor and the tuning book.

Timings are faked (a clock that advances by what each form is said to cost), so the decisions are the same
on every machine; one test tunes a real model to show the path works end to end, checking the policy (the
chosen form is within the floor), never which form this CPU happens to favour.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from studio.core.config import Settings
from studio.core.errors import UsageError, WeightsError
from studio.models import autotune, tuner
from studio.models.autotune import BUCKETS, Candidate
from studio.models.cache import EnhancerCache
from studio.models.loader import Loader
from studio.models.registry import load_registry

MODEL = "realesr-animevideov3-x4"  # ncnn weights with torch and ONNX forms: five candidates on cpu-bf16


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def fake_forms(clock: FakeClock, ms_per_px: dict[str, float], noise: dict[str, float], fail: tuple[str, ...] = ()):
    """`load` for autotune.measure: each form costs ms_per_px[key] * side ms and adds noise[key] to the output."""

    def load(candidate: Candidate):
        if candidate.key in fail:
            raise WeightsError(f"{candidate.key} cannot load here")

        def run(image: np.ndarray) -> np.ndarray:
            clock.now += ms_per_px[candidate.key] * image.shape[0] / 1000
            out = image.astype(np.float64) + noise.get(candidate.key, 0.0) * np.sin(np.arange(image.size)).reshape(
                image.shape
            )
            return np.clip(out, 0, 255).round().astype(np.uint8)

        return run

    return load


def probes() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {b.name: rng.integers(0, 256, (b.probe, b.probe, 3), dtype=np.uint8) for b in BUCKETS}


FORMS = [Candidate("ncnn", "fp32"), Candidate("ncnn", "bf16"), Candidate("torch", "fp32"), Candidate("torch", "bf16")]


def test_candidates_follow_the_machine_class_and_the_floor():
    keys = lambda found: [c.key for c in found]  # noqa: E731
    forms = ["ncnn", "torch", "onnx"]
    assert keys(autotune.candidates(forms, "cpu")) == ["ncnn fp32", "ncnn bf16", "torch fp32", "onnx fp32"]
    assert "torch bf16" in keys(autotune.candidates(forms, "cpu-bf16"))  # not emulated there
    assert "onnx int8" in keys(autotune.candidates(forms, "cpu", int8=True))
    assert "ncnn fp16 vulkan" in keys(autotune.candidates(forms, "cpu", vulkan=True))
    assert keys(autotune.candidates(["classical"], "cpu")) == ["classical fp32"]


def test_the_fastest_faithful_form_wins_per_bucket_and_the_reason_says_by_how_much():
    clock = FakeClock()
    # torch bf16 is fastest but its output is far from fp32 (about 26 dB here); ncnn bf16 is close (about 46 dB)
    cost = {"ncnn fp32": 1.0, "ncnn bf16": 0.5, "torch fp32": 0.75, "torch bf16": 0.3}
    noise = {"ncnn bf16": 1.5, "torch bf16": 20.0}
    measured = autotune.measure(FORMS, fake_forms(clock, cost, noise), probes(), budget_s=60, clock=clock)
    assert measured["reference"] == "torch fp32" and measured["fidelity_db"]["torch fp32"] is None
    assert measured["fidelity_db"]["torch bf16"] < 30 < measured["fidelity_db"]["ncnn bf16"] < 50
    assert measured["ms"]["<=192 px"]["torch bf16"] == pytest.approx(0.3 * 128)

    strict = autotune.decide(measured, fallback=Candidate("ncnn", "fp32"), floor_db=50)
    assert {d["choice"] for d in strict.values()} == {"torch fp32"}  # the only faithful forms are the fp32 ones
    assert strict["<=192 px"]["why"] == "auto-tuned: 1.3x faster than ncnn fp32 at 128 px"

    relaxed = autotune.decide(measured, fallback=Candidate("ncnn", "fp32"), floor_db=40)
    assert relaxed["<=384 px"]["choice"] == "ncnn bf16"
    assert relaxed["<=384 px"]["why"] == "auto-tuned: 1.5x faster than torch fp32 at 256 px"  # ncnn fp32: pruned
    anything = autotune.decide(measured, fallback=Candidate("ncnn", "fp32"), floor_db=20)
    assert anything["larger"]["choice"] == "torch bf16"


def test_the_winner_can_change_with_the_input_size():
    clock = FakeClock()

    def load(candidate: Candidate):
        def run(image: np.ndarray) -> np.ndarray:  # torch: fixed overhead wins small; ncnn: scales better
            side = image.shape[0]
            clock.now += (20 + 0.002 * side**2 if candidate.backend == "torch" else 60 + 0.001 * side**2) / 1000
            return image

        return run

    found = [Candidate("ncnn", "fp32"), Candidate("torch", "fp32")]
    measured = autotune.measure(found, load, probes(), budget_s=60, clock=clock)
    decisions = autotune.decide(measured, fallback=found[0])
    assert [decisions[b.name]["choice"] for b in BUCKETS] == ["torch fp32", "ncnn fp32", "ncnn fp32"]


def test_the_budget_stops_before_larger_buckets_which_inherit_and_say_so():
    clock = FakeClock()
    cost = {"ncnn fp32": 30.0, "ncnn bf16": 25.0, "torch fp32": 40.0, "torch bf16": 35.0}  # seconds at 128 px
    measured = autotune.measure(FORMS, fake_forms(clock, cost, {}), probes(), budget_s=5, clock=clock)
    assert measured["skipped"] == ["<=384 px", "larger"] and list(measured["ms"]) == ["<=192 px"]
    decisions = autotune.decide(measured, fallback=FORMS[0])
    assert decisions["larger"]["choice"] == decisions["<=192 px"]["choice"] == "ncnn bf16"
    assert decisions["larger"]["why"].endswith("larger not probed (budget)")


def test_a_form_that_fails_is_left_out_with_its_reason_and_slow_forms_are_pruned():
    clock = FakeClock()
    cost = {"ncnn fp32": 1.0, "ncnn bf16": 9.0, "torch fp32": 0.5, "torch bf16": 0.4}
    measured = autotune.measure(FORMS, fake_forms(clock, cost, {}, fail=("torch bf16",)), probes(), 60, clock)
    assert measured["failed"] == {"torch bf16": "torch bf16 cannot load here"}
    assert "ncnn bf16" in measured["ms"]["<=192 px"] and "ncnn bf16" not in measured["ms"]["<=384 px"]  # 18x slower


def test_without_the_reference_output_only_fp32_forms_are_trusted():
    measured = {"ms": {"<=192 px": {"ncnn bf16": 1.0, "ncnn fp32": 2.0}}, "fidelity_db": {}}
    assert autotune.decide(measured, Candidate("ncnn", "fp32")) == {}  # nothing compared with fp32: no decision


@pytest.mark.parametrize(("side", "bucket"), [(1, "<=192 px"), (192, "<=192 px"), (193, "<=384 px"), (5000, "larger")])
def test_buckets(side, bucket):
    assert autotune.bucket_for(side).name == bucket


# ---- the tuner: the book, the fingerprint, the loader's plan ------------------------------------------


@pytest.fixture
def tuned_settings(model_settings, tmp_path) -> Settings:
    return dataclasses.replace(
        model_settings, data_dir=tmp_path / "data", autotune=True, machine_class="cpu-bf16", threads=2
    )


class CountingMeasure:
    """Stands in for autotune.measure: torch bf16 wins small inputs, ncnn bf16 larger ones (timings faked)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, found, load, probes, budget_s, clock=None):
        self.calls += 1
        keys = [c.key for c in found]
        small = {k: 10.0 for k in keys} | {"torch bf16": 5.0}
        large = {k: 100.0 for k in keys} | {"ncnn bf16": 40.0}
        return {
            "ms": {"<=192 px": small, "<=384 px": large, "larger": large},
            "fidelity_db": {k: None if k == "torch fp32" else (55.0 if "bf16" in k else 90.0) for k in keys},
            "failed": {},
            "skipped": [],
            "reference": "torch fp32",
            "seconds": 1.0,
            "load_seconds": 0.5,
        }


@pytest.fixture
def fake_measure(monkeypatch) -> CountingMeasure:
    fake = CountingMeasure()
    monkeypatch.setattr(tuner.autotune, "measure", fake)
    return fake


def test_a_run_tunes_once_and_plans_the_tuned_form_per_size(tuned_settings, fake_measure):
    registry = load_registry(tuned_settings)
    spec = registry.get(MODEL)
    loader = Loader(tuned_settings, cache=EnhancerCache(4096))
    assert loader.plan(spec).why == ""  # a label never starts a tuning
    assert fake_measure.calls == 0
    small = loader.plan(spec, side=100, tune=True)
    assert (small.backend, small.precision, small.fidelity_db) == ("torch", "bf16", 55.0)
    assert small.why == "auto-tuned: 2.0x faster than ncnn bf16 at 128 px"  # what runs untuned
    large = loader.plan(spec, side=2000, tune=True)
    assert (large.backend, large.precision) == ("ncnn", "bf16")
    assert fake_measure.calls == 1

    book = json.loads((tuned_settings.data_dir / "tuning.json").read_text())
    [machine] = book["machines"].values()
    assert machine["fingerprint"]["class"] == "cpu-bf16" and machine["fingerprint"]["threads"] == 2
    assert machine["models"][MODEL]["decisions"]["larger"]["choice"] == "ncnn bf16"

    again = Loader(tuned_settings, cache=EnhancerCache(4096))  # another process: reads the book
    assert again.plan(spec, side=100).describe() == "torch bf16"
    assert fake_measure.calls == 1


def test_a_changed_fingerprint_or_entry_means_tuning_again(tuned_settings, fake_measure):
    registry = load_registry(tuned_settings)
    spec = registry.get(MODEL)
    Loader(tuned_settings, cache=EnhancerCache(4096)).plan(spec, side=100, tune=True)
    assert fake_measure.calls == 1
    one_thread = dataclasses.replace(tuned_settings, threads=1)  # another fingerprint
    assert Loader(one_thread, cache=EnhancerCache(4096)).plan(spec, side=100).why == ""
    Loader(one_thread, cache=EnhancerCache(4096)).plan(spec, side=100, tune=True)
    assert fake_measure.calls == 2
    edited = spec.model_copy(update={"description": "edited"})
    Loader(tuned_settings, cache=EnhancerCache(4096)).plan(edited, side=100, tune=True)
    assert fake_measure.calls == 3


def test_explicit_requests_autotune_off_and_cuda_ignore_the_book(tuned_settings, fake_measure):
    spec = load_registry(tuned_settings).get(MODEL)
    loader = Loader(tuned_settings, cache=EnhancerCache(4096))
    loader.plan(spec, side=100, tune=True)
    assert loader.plan(spec, backend="ncnn", side=100, tune=True).describe() == "ncnn bf16"  # asked: not tuned
    assert loader.plan(spec, precision="fp32", side=100).describe() == "ncnn fp32"
    off = Loader(dataclasses.replace(tuned_settings, autotune=False), cache=EnhancerCache(4096))
    assert off.plan(spec, side=100, tune=True).why == ""
    cuda = Loader(dataclasses.replace(tuned_settings, machine_class="cuda"), cache=EnhancerCache(4096))
    assert not cuda.tuner.applies(spec)
    assert fake_measure.calls == 1


def test_a_classical_model_has_nothing_to_tune(tuned_settings, fake_measure):
    spec = load_registry(tuned_settings).get("clahe")
    loader = Loader(tuned_settings, cache=EnhancerCache(4096))
    assert not loader.tuner.applies(spec) and loader.plan(spec, tune=True).describe() == "classical"
    assert fake_measure.calls == 0


def test_an_unreadable_book_is_empty_and_is_rewritten(tuned_settings, fake_measure):
    path = tuned_settings.data_dir / "tuning.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    spec = load_registry(tuned_settings).get(MODEL)
    Loader(tuned_settings, cache=EnhancerCache(4096)).plan(spec, side=100, tune=True)
    assert json.loads(path.read_text())["version"] == 1


def test_the_fidelity_floor_and_the_switch_come_from_the_environment():
    assert Settings.from_env({}).autotune is True
    assert Settings.from_env({"STUDIO_AUTOTUNE": "0"}).autotune is False
    assert Settings.from_env({"STUDIO_MIN_FIDELITY_DB": "40"}).min_fidelity_db == 40.0
    with pytest.raises(UsageError, match=r"^STUDIO_MIN_FIDELITY_DB='x' is not a number of dB$"):
        Settings.from_env({"STUDIO_MIN_FIDELITY_DB": "x"})
    with pytest.raises(UsageError, match="must be one of 1, true"):
        Settings.from_env({"STUDIO_AUTOTUNE": "maybe"})


# ---- a real tuning ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_real_tuning_keeps_a_faithful_form_and_the_run_says_why(tuned_settings, monkeypatch, small_photo):
    """Real forms, real timings (whichever wins here): the decision obeys the floor, the row shows it."""
    from studio.core.media import DecodedImage
    from studio.engine.compare import run
    from studio.engine.request import CompareRequest

    monkeypatch.setattr(autotune, "BUDGET_S", 2.0)
    registry = load_registry(tuned_settings)
    loader = Loader(tuned_settings, cache=EnhancerCache(4096))
    request = CompareRequest.build(registry, [MODEL], metrics=[], preview=None)
    (row,) = run(request, DecodedImage(rgb=small_photo), registry, loader).rows
    assert row.ok, row.error
    record = loader.tuner.record(registry.get(MODEL))
    assert set(record["ms"]["<=192 px"]) >= {"ncnn fp32", "ncnn bf16", "torch fp32", "onnx fp32"}
    assert 45 < record["fidelity_db"]["ncnn bf16"] < 75  # bf16 storage: close to fp32, not equal
    chosen = record["decisions"]["<=192 px"]["choice"]
    assert (row.backend, row.precision) == tuple(chosen.split())
    assert autotune.faithful(chosen, record["fidelity_db"], 50.0)
    assert any(note.startswith(f"{chosen} (auto-tuned: ") for note in row.notes), row.notes
    if row.precision != "fp32":
        assert row.fidelity_db == record["fidelity_db"][chosen]


def test_the_app_can_tune_what_is_here_at_start_once(tuned_settings, fake_measure):
    from studio.engine.warmup import models_to_tune, tune_all

    registry = load_registry(tuned_settings)
    loader = Loader(tuned_settings, cache=EnhancerCache(4096))
    loader.fetch_weights(registry.get(MODEL))
    todo = models_to_tune(registry, loader)
    assert MODEL in todo and "realesrgan-x4plus" not in todo  # its weights are not here: not fetched at start
    assert "clahe" not in todo  # one form: nothing to tune
    assert tune_all(registry, loader) == todo and fake_measure.calls == len(todo)
    assert models_to_tune(registry, loader) == [] and tune_all(registry, loader) == []
