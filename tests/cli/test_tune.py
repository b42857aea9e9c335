"""`studio tune` as a user runs it, and the real-time tier it measures (issue #14).

The real run tunes a small network for real: its assertions are about what is recorded and reused, never
which form this CPU favours.
"""

from __future__ import annotations

import dataclasses
import json
import re
from types import SimpleNamespace

import pytest

from studio.models.cache import EnhancerCache
from studio.models.loader import Loader
from studio.models.registry import load_registry
from studio.ui.models_tab import realtime_cell
from studio.video.realtime import default_live_model
from tests.cli.helpers import save_image, studio

HEADER = re.compile(r"^machine [0-9a-f]{16}: .+, class cpu-bf16, 2 threads; decisions in .+tuning\.json$")


def test_tune_a_classical_model_or_an_unknown_id(env):
    env = {**env, "STUDIO_MACHINE_CLASS": "cpu-bf16", "STUDIO_THREADS": "2"}
    result = studio("tune", "-m", "clahe", "--no-realtime", env=env)
    assert result.returncode == 0, result.stderr
    header, *rest = result.stdout.splitlines()
    assert HEADER.match(header), header
    assert rest == [
        "note: STUDIO_AUTOTUNE=0 is set: runs ignore these decisions and use the registry's options.fastest",
        "clahe: one form only (classical); nothing to tune",
    ]
    unknown = studio("tune", "-m", "nope", env=env)
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1 and "unknown model 'nope'" in unknown.stderr


def test_tune_measures_once_reuses_and_a_compare_says_why(env, tmp_path, model_settings, small_photo):
    env = {
        **env,
        "STUDIO_WEIGHTS_MIRROR": model_settings.weights_mirror,
        "STUDIO_MACHINE_CLASS": "cpu-bf16",
        "STUDIO_THREADS": "2",
        "STUDIO_AUTOTUNE": "1",
    }
    first = studio("tune", "-m", "realesr-animevideov3-x2", "-m", "unsharp-mask", env=env)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert HEADER.match(lines[0]) and "note:" not in first.stdout
    assert re.fullmatch(r"realesr-animevideov3-x2: tuned in [\d.]+ s of runs \([\d.]+ s with loading\)", lines[1])
    assert re.fullmatch(r"  <=192 px: (ncnn|torch|onnx) (fp32|bf16) \(auto-tuned: .+\)", lines[2]), lines[2]
    live = [line for line in lines if line.startswith("live ")]
    assert {line.split(":")[0] for line in live} == {"live realesr-animevideov3-x2", "live unsharp-mask"}
    assert all(re.search(r": [\d.]+ fps \((real-time on this machine|below 25 fps)\)$", line) for line in live)

    book = json.loads((tmp_path / "data" / "tuning.json").read_text())
    [machine] = book["machines"].values()
    record = machine["models"]["realesr-animevideov3-x2"]
    assert set(record["decisions"]) >= {"<=192 px"} and record["floor_db"] == 50.0
    assert set(machine["realtime"]) == {"realesr-animevideov3-x2", "unsharp-mask"}

    again = studio("tune", "-m", "realesr-animevideov3-x2", "--no-realtime", env=env)
    assert again.returncode == 0 and "already tuned here on " in again.stdout

    image = save_image(tmp_path / "in.png", small_photo)
    shown = studio("compare", str(image), "-m", "realesr-animevideov3-x2", "--format", "json", env=env)
    assert shown.returncode == 0, shown.stderr
    [row] = json.loads(shown.stdout)["rows"]
    chosen = record["decisions"]["<=192 px"]["choice"]
    assert f"{row['backend']} {row['precision']}" == chosen
    assert any(note.startswith(f"{chosen} (auto-tuned: ") for note in row["notes"].split("; ")), row["notes"]
    if row["precision"] != "fp32":
        assert row["vs fp32 dB"] == pytest.approx(record["fidelity_db"][chosen], abs=0.05)


def test_the_webcam_starts_on_a_network_measured_real_time_here(model_settings, tmp_path):
    settings = dataclasses.replace(model_settings, data_dir=tmp_path / "data", autotune=True)
    registry = load_registry(settings)
    loader = Loader(settings, cache=EnhancerCache(1024))
    network = registry.get("realesr-animevideov3-x2")
    loader.fetch_weights(network)  # offered live only once its weights are here
    assert default_live_model(registry, loader) == "unsharp-mask"  # nothing measured yet
    services = SimpleNamespace(loader=loader)
    assert realtime_cell(services, network) == ""
    loader.tuner.store_realtime(network, 12.0, (320, 240))
    assert default_live_model(registry, loader) == "unsharp-mask"
    assert realtime_cell(services, network) == "12.0 fps live"
    loader.tuner.store_realtime(network, 31.0, (320, 240))
    assert default_live_model(registry, loader) == "realesr-animevideov3-x2"
    assert realtime_cell(services, network) == "real-time on this machine (31 fps)"
