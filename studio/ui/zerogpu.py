"""ZeroGPU, Hugging Face's shared GPUs for Spaces: the one home of the `spaces` package.

On ZeroGPU hardware (SPACES_ZERO_GPU, which `spaces` reads itself) every function that uses the GPU must carry
`spaces.GPU`: each call is granted a GPU for the seconds it asks (`duration`, here estimated from the call's own
arguments: a shorter ask waits less in ZeroGPU's queue, and a call that overruns its ask may be stopped), and runs
in a worker process ZeroGPU forks. Everywhere else `spaces.GPU` returns the function itself, so the wrapping costs
nothing on a CPU Space, a GPU Space or a laptop.

`spaces` must be imported before torch initialises CUDA: the Compare and Video tabs' wiring imports this module
when the ui package is imported, before any model loads, and nothing here imports torch.

What a run asks for: each model's predicted seconds (the speed book, as measured on this machine) times the inputs
it runs on (1 image, or the clip's frames), times MARGIN, plus LOAD_S per model (loading it, scoring its output);
a model never measured here counts UNMEASURED_S on an image and the whole CEILING_S on a clip; the sum is clamped
to [FLOOR_S, CEILING_S]. A request that cannot be read asks FLOOR_S: the run refuses it at once.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import gradio as gr
import spaces

from studio.core.errors import StudioError
from studio.engine.request import CompareRequest
from studio.engine.speed import model_input_size
from studio.services import Services
from studio.ui.choices import AUTO
from studio.video.io import probe

logger = logging.getLogger("studio.zerogpu")

F = TypeVar("F", bound=Callable[..., Any])

MARGIN = 1.5  # measured speeds vary between runs; the GPU is granted for what is asked, not what is used
LOAD_S = 5.0  # per model: loading it (weights onto the GPU) and scoring its output
UNMEASURED_S = 60.0  # a model never measured on this machine, on one image
FLOOR_S = 15  # the least asked: a GPU worker's start alone takes a few seconds
CEILING_S = 120  # the most asked: ZeroGPU refuses asks over its (undocumented, few-minute) maximum


def on_gpu(fn: F, duration: Callable[..., int]) -> F:
    """`fn` carrying spaces.GPU, asking `duration(*args, **kwargs)` seconds per call; on other hardware, `fn` itself."""
    send_styled_tables_as_data()
    return spaces.GPU(fn, duration=_never_failing(duration))


def send_styled_tables_as_data() -> None:
    """ZeroGPU sends what a wrapped function returns or yields from its worker process by multiprocessing's pickler,
    and a pandas Styler (the results tables, their best values highlighted) does not pickle (it holds lambdas). It
    travels as the value gr.Dataframe makes of it, {headers, data, metadata}, which the table shows the same way.
    Only multiprocessing's pickler learns this, not pickle itself."""
    from multiprocessing.reduction import ForkingPickler

    from pandas.io.formats.style import Styler

    ForkingPickler.register(Styler, _styler_as_data)


def _styler_as_data(styler: Any) -> tuple[type, tuple[dict[str, Any]]]:
    table = {
        "headers": list(styler.data.columns),
        "data": gr.Dataframe.get_cell_data(styler),
        "metadata": gr.Dataframe.get_metadata(styler),
    }
    return dict, (table,)


def report_startup() -> None:
    """On ZeroGPU, tell ZeroGPU the app is up (and pack the tensors already on its virtual GPU): `spaces` does this
    when gr.Blocks.launch is first called, which an app mounted on FastAPI (ours: ui/app.py mount) never calls.
    Elsewhere nothing: `spaces` defines `zero.startup` only on ZeroGPU hardware."""
    startup = getattr(spaces.zero, "startup", None)
    if startup is not None:
        logger.info("ZeroGPU: reporting the app's start-up")
        startup()


def _never_failing(duration: Callable[..., int]) -> Callable[..., int]:
    """An estimate that fails (a bug) asks the ceiling rather than failing the run it only sizes."""

    def seconds(*args: Any, **kwargs: Any) -> int:
        try:
            return duration(*args, **kwargs)
        except Exception:
            logger.exception("estimating a ZeroGPU duration failed; asking %d s", CEILING_S)
            return CEILING_S

    return seconds


def gpu_seconds(predicted: Sequence[float | None], inputs: int = 1, unmeasured_s: float = UNMEASURED_S) -> int:
    """Seconds to ask for models predicted to take `predicted` seconds each per input (None: never measured here),
    each run on `inputs` inputs; see the module's docstring."""
    measured = sum(seconds for seconds in predicted if seconds is not None)
    unmeasured = sum(seconds is None for seconds in predicted)
    total = MARGIN * measured * inputs + LOAD_S * len(predicted) + unmeasured_s * unmeasured
    return int(min(CEILING_S, max(FLOOR_S, math.ceil(total))))


def compare_seconds(services: Services, request: Any, image_path: Any) -> int:
    """What a Compare run of `request` on the upload at `image_path` asks."""
    from studio.ui.compare.progress import predicted_seconds  # here: the tabs' wiring imports this module
    from studio.ui.compare.request_form import upload_size

    if not isinstance(request, CompareRequest) or not image_path:
        return FLOOR_S
    size = upload_size(str(image_path), services.settings.max_pixels)
    if size is None:
        return FLOOR_S
    return gpu_seconds(predicted_seconds(services, request, *size), inputs=request.repeat)


def video_seconds(
    services: Services,
    path: Any,
    model_ids: Any,
    recipe: Any,
    preview: Any,
    max_frames: Any,
    backend: Any,
    precision: Any,
    device: Any,
) -> int:
    """What a Video run asks: the frames it will run (the clip's claimed length under the frame and time caps)
    times each model's predicted seconds per frame."""
    from studio.ui.video import runner  # here: the tabs' wiring imports this module

    if not path or not model_ids:
        return FLOOR_S
    try:
        request = runner.build_request(services, model_ids, [], recipe, preview, backend, precision, None, device)
        limits = runner.video_limits(services, max_frames)
        clip = probe(path, limits)
    except StudioError:
        return FLOOR_S
    frames = [limits.max_frames]
    if clip.claimed_frames:
        frames.append(clip.claimed_frames)
    if clip.fps:
        frames.append(math.ceil(clip.fps * min(clip.claimed_seconds or limits.max_seconds, limits.max_seconds)))
    scale = request.recipe.scale if request.recipe else 1
    size = model_input_size(clip.width, clip.height, request.preview, scale)
    try:
        prediction = services.speed.predict_run(request.model_ids, *size, backend, precision, device)
    except StudioError:
        return CEILING_S
    per_frame = [prediction.seconds.get(model_id) for model_id in request.model_ids]
    return gpu_seconds(per_frame, inputs=min(frames), unmeasured_s=CEILING_S)


# The duration callables take the wrapped function's own arguments (spaces.GPU calls them so).


def compare_run_duration(services: Services) -> Callable[..., int]:
    """For handlers.run(services, flags, ...): (request, image_path, reference_path, fmt, session, progress)."""
    return lambda request=None, image_path=None, *rest, **named: compare_seconds(services, request, image_path)


def compare_api_duration(services: Services) -> Callable[..., int]:
    """For api.compare_api(services, ...): the request built as the endpoint builds it (api.api_request)."""
    from studio.ui.api import api_request  # here: api.py imports this module

    def seconds(image=None, models=None, metrics=None, degrade=None, reference=None, preview=512, params=None,
                backend=AUTO, precision=AUTO, device=AUTO, *rest, **named):  # fmt: skip
        if not models:
            return FLOOR_S
        try:
            request = api_request(
                services, models, metrics, degrade, reference, preview, params, backend, precision, device
            )
        except StudioError:
            return FLOOR_S
        return compare_seconds(services, request, image)

    return seconds


def video_run_duration(services: Services) -> Callable[..., int]:
    """For video handlers.run(services, flags, ...): (session, path, models, metrics, recipe, preview, max_frames,
    layout, backend, precision, device)."""

    def seconds(_session=None, path=None, models=None, _metrics=None, recipe=None, preview=512, max_frames=None,
                _layout=None, backend=None, precision=None, device=None, *rest, **named):  # fmt: skip
        return video_seconds(services, path, models, recipe, preview, max_frames, backend, precision, device)

    return seconds


def video_api_duration(services: Services) -> Callable[..., int]:
    """For video_api(services, ...): (clip, models, metrics, degrade, preview, max_frames, layout, params, backend,
    precision, device)."""

    def seconds(clip=None, models=None, _metrics=None, degrade=None, preview=512, max_frames=None, _layout=None,
                _params=None, backend=None, precision=None, device=None, *rest, **named):  # fmt: skip
        return video_seconds(services, clip, models, degrade, preview, max_frames, backend, precision, device)

    return seconds
