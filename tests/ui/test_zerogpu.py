"""ZeroGPU (studio/ui/zerogpu.py) with the real `spaces` package, no mock.

Off ZeroGPU (SPACES_ZERO_GPU unset, as here) spaces.GPU returns the model-running function itself: a real Compare
run through the wrapped handler equals a run of the handler. The duration each call would ask ZeroGPU for comes
from the speed book. On ZeroGPU (a fresh interpreter with SPACES_ZERO_GPU=true) every model event of the built app
calls a spaces.GPU wrapper carrying our duration. Importing the module never imports torch.
"""

from __future__ import annotations

import json
import math
import pickle
import subprocess
import sys
from functools import partial
from multiprocessing.reduction import ForkingPickler

import gradio as gr
import numpy as np
import pytest
from pandas.io.formats.style import Styler
from PIL import Image

from studio.core.config import Settings
from studio.engine.request import CompareRequest
from studio.services import Services
from studio.ui.compare import handlers
from studio.ui.compare.runs import StopFlags
from studio.ui.zerogpu import (
    CEILING_S,
    FLOOR_S,
    LOAD_S,
    MARGIN,
    UNMEASURED_S,
    compare_api_duration,
    compare_run_duration,
    gpu_seconds,
    on_gpu,
    video_api_duration,
    video_run_duration,
)
from tests.environment import clean_env
from tests.paths import REPO_ROOT
from tests.video.clips import make_clip


@pytest.fixture
def services(settings: Settings) -> Services:
    return Services(settings)


@pytest.fixture
def image_path(tmp_path, small_photo) -> str:
    path = tmp_path / "in.png"
    Image.fromarray(small_photo[:48, :64]).save(path)
    return str(path)


def no_progress(*args, **kwargs) -> None:
    return None


def test_off_zerogpu_the_wrapped_run_is_the_handler_and_runs_the_same(services, image_path):
    import spaces.config

    assert not spaces.config.Config.zero_gpu  # the real package, on hardware that is not ZeroGPU
    run = partial(handlers.run, services, StopFlags())
    wrapped = on_gpu(run, compare_run_duration(services))
    assert wrapped is run

    request = CompareRequest.build(services.registry, ["lanczos-x4", "unsharp-mask"], metrics=["sharpness"])
    arguments = (request, image_path, None, "png", "session-1", no_progress)
    direct = list(run(*arguments))
    through = list(wrapped(*arguments))
    assert len(through) == len(direct) == 4  # the input, one view per finished model, the final one with files
    first, second = direct[-1][1], through[-1][1]  # the Results each run ended with
    assert [row.model_id for row in second.rows] == ["lanczos-x4", "unsharp-mask"]
    for a, b in zip(first.rows, second.rows, strict=True):
        assert a.ok and b.ok and np.array_equal(a.output.rgb, b.output.rgb)
    # on ZeroGPU the arguments go to its forked GPU worker, and each view comes back, by multiprocessing's pickler:
    # the styled tables travel as the data gr.Dataframe makes of them, and show the same
    pickle.loads(ForkingPickler.dumps((request, image_path, None, "png", "session-1", no_progress)))
    styled = []
    for view in through:
        for sent, came in zip(view, pickle.loads(ForkingPickler.dumps(view)), strict=True):
            if isinstance(sent, dict) and isinstance(sent.get("value"), Styler):
                shown, shown_after = (gr.Dataframe().postprocess(item["value"]).model_dump() for item in (sent, came))
                assert shown == shown_after
                styled.append(shown["metadata"] is not None)
    assert len(styled) == 2 * len(through) and all(styled[-2:])  # both tables in every view; the last ones styled


def test_the_duration_comes_from_the_speed_book(services, image_path, tmp_path):
    ask = compare_run_duration(services)
    request = CompareRequest.build(services.registry, ["lanczos-x4"], metrics=[])
    assert ask(request, image_path, None, "png", "s", no_progress) == math.ceil(LOAD_S + UNMEASURED_S)  # never measured
    # measured here: 4 MP of output in 40 s, so the 48x64 upload (x4: 192x256 out) is predicted 0.49 s
    form = services.speed.form_for("lanczos-x4")
    services.speed.record_timing("lanczos-x4", form.backend, form.precision, 4_000_000, 40.0, form.device)
    predicted = 192 * 256 / 4_000_000 * 40.0
    assert ask(request, image_path, None, "png", "s", no_progress) == max(
        FLOOR_S, math.ceil(MARGIN * predicted + LOAD_S)
    )
    big = tmp_path / "big.png"
    Image.fromarray(np.zeros((1000, 2000, 3), np.uint8)).save(big)  # the 512 px preview: the model sees 512x256
    expected = math.ceil(MARGIN * 2048 * 1024 / 4_000_000 * 40.0 + LOAD_S)
    assert ask(request, str(big), None, "png", "s", no_progress) == min(CEILING_S, expected) == 37
    api = compare_api_duration(services)
    assert api(str(big), ["lanczos-x4"], [], "", None, 512, "{}", "auto", "auto", "auto") == 37  # the same request
    assert ask(None, image_path, None, "png", "s", no_progress) == FLOOR_S  # refused at once by the run itself
    assert api(str(big), ["no-such-model"], [], "", None, 512, "{}") == FLOOR_S
    assert gpu_seconds([1000.0]) == CEILING_S and gpu_seconds([]) == FLOOR_S


def test_a_video_asks_for_its_frames(services, tmp_path):
    clip = str(make_clip(tmp_path / "clip.mp4", frames=24, size=(96, 64), fps=30))
    form = services.speed.form_for("lanczos-x2")
    services.speed.record_timing("lanczos-x2", form.backend, form.precision, 192 * 128, 0.5, form.device)
    ask = video_run_duration(services)
    values = [["sharpness"], "", 512, 300, "side-by-side", "auto", "auto", "auto"]
    arguments = ["session", clip, ["lanczos-x2"], *values]
    assert ask(*arguments) == math.ceil(MARGIN * 24 * 0.5 + LOAD_S) == 23  # 24 frames at 0.5 s each, measured
    arguments[6] = 10  # max frames
    assert ask(*arguments) == max(FLOOR_S, math.ceil(MARGIN * 10 * 0.5 + LOAD_S)) == FLOOR_S  # 13 s: the floor
    assert ask("session", clip, ["lanczos-x2", "unsharp-mask"], *values) == CEILING_S  # unsharp-mask: never measured
    api = video_api_duration(services)
    assert api(clip, ["lanczos-x2"], [], "", 512, 300, "side-by-side", "{}", "auto", "auto", "auto") == 23
    assert ask("session", None, ["lanczos-x2"], *values) == FLOOR_S  # no clip: refused at once


def test_importing_the_module_imports_spaces_and_not_torch():
    code = "import sys, studio.ui.zerogpu; print(json.dumps(['torch' in sys.modules, 'spaces' in sys.modules]))"
    found = subprocess.run(
        [sys.executable, "-c", "import json; " + code],
        cwd=REPO_ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert found.returncode == 0, found.stderr[-2000:]
    assert json.loads(found.stdout.splitlines()[-1]) == [False, True]


ZERO_GPU_CHECK = """
import inspect, json
from studio.core.config import Settings
from studio.services import Services
from studio.ui import build_demo

demo = build_demo(Services(Settings.from_env()))
found = {}
for fn in demo.fns.values():
    if fn.api_name not in ("run", "compare", "video", "video_run"):
        continue
    handler = fn.fn
    while "run_models" not in inspect.getclosurevars(handler).nonlocals:
        handler = handler.__wrapped__  # the event guard's wrapper, then our handler
    gpu = inspect.getclosurevars(handler).nonlocals["run_models"]
    duration = inspect.getclosurevars(gpu).nonlocals["duration"]
    found[fn.api_name] = [hasattr(gpu, "zerogpu"), duration()]
print(json.dumps(found))
"""


@pytest.mark.slow
def test_on_zerogpu_every_model_event_asks_for_a_gpu_with_our_duration(tmp_path):
    """SPACES_ZERO_GPU=true makes `spaces` wrap for real (its GPU service is only called when an event runs)."""
    env = clean_env(
        {
            "SPACES_ZERO_GPU": "true",
            "SPACES_ZERO_DEVICE_API_URL": "http://127.0.0.1:9/",  # never called: nothing runs
            "STUDIO_DATA_DIR": str(tmp_path / "data"),
            "STUDIO_WEIGHTS_DIR": str(tmp_path / "weights"),
            "HF_HOME": str(tmp_path / "hf"),
        }
    )
    found = subprocess.run(
        [sys.executable, "-c", ZERO_GPU_CHECK], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert found.returncode == 0, found.stderr[-3000:]
    events = json.loads(found.stdout.splitlines()[-1])
    # each is a spaces.GPU wrapper; called with no request, its duration asks the floor
    assert events == {name: [True, FLOOR_S] for name in ("run", "compare", "video", "video_run")}
