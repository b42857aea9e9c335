"""Exports a run can be repeated from: names, latency, parameters as run, source, tool, machine, request."""

from __future__ import annotations

import dataclasses
import io
import json
from importlib import metadata

import pandas as pd
import pytest

from studio.core.media import DecodedImage
from studio.core.vocabulary import MACHINE_CLASSES
from studio.engine.compare import run
from studio.engine.export import (
    results_frame,
    results_json,
    results_markdown,
    results_records,
    run_file_names,
    write_run,
)
from studio.engine.provenance import machine_info, resolved_class
from studio.engine.request import CompareRequest
from studio.models.cache import EnhancerCache
from studio.models.loader import Loader
from studio.models.registry import load_registry


@pytest.fixture(scope="module")
def engine(model_settings):
    return load_registry(model_settings), Loader(model_settings, cache=EnhancerCache(1024))


def compare(engine, image, models, repeat=1, **fields):
    registry, loader = engine
    request = CompareRequest.build(registry, models, repeat=repeat, max_models=None, **fields)
    return run(request, DecodedImage(rgb=image), registry, loader, source="astronaut.png")


def test_records_name_latency_flag_and_params_in_a_fixed_order(engine, small_photo):
    results = compare(
        engine,
        small_photo,
        ["unsharp-mask", "bicubic-x2"],
        metrics=["sharpness"],
        params={"unsharp-mask": {"amount": 1.5}},
    )
    unsharp, bicubic = results_records(results)
    assert list(unsharp) == list(bicubic)
    assert list(unsharp)[:14] == [
        "model",
        "name",
        "backend",
        "precision",
        "device",
        "vs fp32 dB",
        "scale",
        "output",
        "load ms",
        "latency ms",
        "first ms",
        "MP/s",
        "peak MB",
        "Sharpness ↑",
    ]
    assert list(unsharp)[-4:] == ["flag", "error", "notes", "params"]
    assert (unsharp["name"], unsharp["scale"], bicubic["scale"]) == ("Unsharp mask", 1, 2)
    assert unsharp["latency ms"] == unsharp["first ms"] > 0
    assert unsharp["params"] == {**results.rows[0].params, "amount": 1.5} and len(unsharp["params"]) > 1
    assert unsharp["flag"] == bicubic["flag"] == ""  # no reference: nothing to flag
    csv = pd.read_csv(io.StringIO(results_frame(results).to_csv(index=False)))
    assert json.loads(csv.loc[0, "params"]) == unsharp["params"]  # one JSON cell in the CSV
    assert list(csv.columns[-5:]) == ["source", "tool", "machine", "cpu", "threads"]  # every row stands alone
    assert set(csv["source"]) == {"astronaut.png"} and set(csv["threads"]) == {2}
    assert set(csv["tool"]) == {f"enhance-studio {metadata.version('enhance-studio')}"}
    assert set(csv["machine"]) == {results.machine["class"]} and csv.loc[0, "cpu"] == results.machine["cpu"]


def test_repeated_runs_add_warm_ms_and_latency_is_its_median(engine, small_photo):
    results = compare(engine, small_photo, ["clahe"], metrics=[], repeat=3)
    (record,) = results_records(results)
    assert list(record)[8:13] == ["load ms", "latency ms", "first ms", "warm ms", "MP/s"]
    assert record["latency ms"] == record["warm ms"] == round(results.rows[0].warm_ms, 1)


def test_json_records_source_tool_machine_and_request(engine, small_photo, model_settings):
    results = compare(engine, small_photo, ["bicubic-x2"], metrics=["sharpness"], degrade="x2", preview=64)
    payload = json.loads(results_json(results))
    assert payload["source"] == "astronaut.png"
    assert payload["tool"] == {"name": "enhance-studio", "version": metadata.version("enhance-studio")}
    machine = payload["machine"]
    assert (machine["class"], machine["class_from"]) == resolved_class(model_settings.machine_class)
    assert machine["threads"] == model_settings.threads == 2 and machine["cpu"] and machine["runtimes"]["numpy"]
    assert payload["request"] == results.request.to_dict()
    assert payload["request"]["degrade"] == "x2,seed=0" and payload["request"]["preview"] == 64
    assert payload["rows"][0]["params"] == results.rows[0].params and payload["cancelled"] is None


def test_the_machine_record_follows_a_forced_class(model_settings):
    forced = machine_info(dataclasses.replace(model_settings, machine_class="cpu-bf16"))
    assert (forced["class"], forced["class_from"]) == ("cpu-bf16", "forced (STUDIO_MACHINE_CLASS)")
    detected, how = resolved_class("auto")
    assert detected in MACHINE_CLASSES and how.startswith(("detected", "CPU flags"))


def test_markdown_shows_the_flag_of_a_row_scored_at_another_scale(engine, photo):
    results = compare(
        engine, photo, ["bicubic-x4", "bicubic-x2"], metrics=["psnr_y", "sharpness"], degrade="x4", preview=128
    )
    markdown = results_markdown(results)
    header, _rule, x4, x2, *notes = markdown.splitlines()
    assert header.startswith("| model | name | backend |") and "| flag |" in header
    assert "x2 output scored against a x4 degradation: not comparable with the x4 rows" in x2
    assert "not comparable" not in x4
    machine = results.machine
    assert notes == [
        "",
        "Sharpness ↑ depends on the image size: compared only among outputs of one size "
        "(128x128: bicubic-x4; 64x64: bicubic-x2).",
        f"Input `astronaut.png`; enhance-studio {metadata.version('enhance-studio')}; machine class "
        f"{machine['class']} ({machine['cpu']}), 2 threads.",
    ]
    assert "| source |" not in header and "| tool |" not in header  # said once, under the table


def test_write_run_writes_the_names_run_file_names_announces(engine, small_photo, tmp_path):
    """The front ends check these names before keeping the source files beside them (for `compare --from`)."""
    results = compare(engine, small_photo, ["bicubic-x2", "clahe"], metrics=[])
    outputs, csv_path = write_run(results, tmp_path, "webp", prefix="astronaut_")
    written = {path.name for path in tmp_path.iterdir()}
    assert written == run_file_names(["bicubic-x2", "clahe"], "webp", "astronaut_")
    assert written == {
        "astronaut_bicubic-x2.webp",
        "astronaut_clahe.webp",
        "astronaut_input.webp",
        "results.csv",
        "results.json",
    }
    assert sorted(outputs) == ["bicubic-x2", "clahe"] and csv_path == tmp_path / "results.csv"
