"""How much memory a comparison will need, estimated before it runs.

A run that would not fit is refused at once with a preview size that does, instead of being killed (or
swapping the machine to a halt) minutes into its work: a 4000x4000 upload through realesr-animevideov3-x4
at full size ran 197-288 s, peaked at 12.9-14.5 GB and then failed.

The estimate adds what compare.iterate holds at its worst moment. Per model (the largest counts):
- its network's activations for one piece, the whole input or, when the input is larger than the tile,
  one tile with its overlap: ACTIVATION_BYTES per input pixel of the piece;
- a tiled run's float32 output and weight planes (TILED_BYTES per output pixel) and the float copies of one
  tile's output (TILE_OUTPUT_BYTES);
- a classical operator's working planes (CLASSICAL_BYTES per input pixel, by operator);
- afterwards, scoring: the chosen metric that allocates most per output pixel (MetricSpec.bytes_per_pixel)
  plus the bicubic baseline and the resized reference.
Plus what stays: every output (Results keeps them all), the front end's encoding of the largest one, and the
runtime and weights a neural model loads on first use. Every figure was measured here with peak RSS (ncnn,
fp32, 2 CPU threads); the estimate errs on the large side.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.core.config import Settings
from studio.core.errors import MemoryLimitError
from studio.core.memory import available_mb
from studio.engine.enhance import tile_for
from studio.engine.request import CompareRequest
from studio.engine.speed import model_input_size
from studio.metrics import FULL_REFERENCE, get_metric
from studio.models.registry import Registry
from studio.models.schema import ModelSpec

MB = 2**20
# Peak activation bytes per input pixel of one piece (tile or whole image), ncnn fp32 on CPU, measured at
# 128x128 and 256x256 inputs (the larger figure kept); "<family>-x<scale>" where the scales differ. The torch and
# ONNX forms of the same networks are assumed alike.
ACTIVATION_BYTES = {
    "esrgan": 57_000,  # RRDBNet (realesrgan-x4plus): 3.5 GB for 256x256
    "realcugan-x2": 12_500,  # Real-CUGAN (never tiled): 1.0 GB for 300x300, 2.5 GB for 500x500
    "realcugan-x3": 24_000,  # 1.5 GB for 256x256
    "realcugan-x4": 22_500,  # 347 MB for 128x128
    "waifu2x-cunet": 19_500,  # 297 MB for 128x128
    "waifu2x-upconv7": 6_200,
    "compact": 3_200,  # SRVGGNetCompact (realesr-animevideov3 x2, x3, x4: one network): 195 MB for 256x256
    "lapsrn": 6_500,
    "fsrcnn": 1_500,
    "espcn": 1_000,  # also our trained ESPCN, torch fp32: 710 B (x2), 980 B (x4) at 256x256
    # Our trained networks (studio/models/archs/baselines.py), torch fp32, 2 threads, 256 and 512 px: the bare
    # network's figure, and the engine's whole run (input and output tensors too) where an entry ships. The
    # whole run varied by 7 % between runs (381-406 MB for DMCNN at 512x512), so each keeps a quarter spare.
    "dmcnn": 2_000,  # 1356 B bare; 1523-1623 B for a whole 512x512 run
    "dncnn": 1_250,  # 973 B bare
    "deblurnet": 1_000,  # 753 B bare
    "dae": 850,  # 634 B bare
}
# Entries whose registry options name no architecture, by their network file's name.
ARCHITECTURE_BY_FILE = {"realesr-animevideov3": "compact"}
UNKNOWN_NETWORK_BYTES = 57_000  # a network never measured here (Hub models, EDSR): the largest measured
# Classical operators by builtin name: peak bytes per input pixel (1000x1000 input; a resize's output counts apart)
CLASSICAL_BYTES = {
    "wiener": 240,  # float64 planes: 212 MB measured
    "richardson_lucy": 240,  # 219 MB
    "detail_enhance": 100,
    "unsharp_mask": 80,
    "laplacian_sharpen": 64,
    "nl_means": 20,
    "clahe": 10,
    "bilateral": 4,
    "resize": 0,
}
UNKNOWN_CLASSICAL_BYTES = 240
TILED_BYTES = 16  # per output pixel: the float32 sum (12) and weight (4) planes of a tiled run
# Per output pixel of one tile: the float copies of a tile's output (network output, scaled, weighted) that the
# heap keeps between tiles. With TILED_BYTES it fits realesr-animevideov3-x4 with 320 px tiles: 880 MB measured
# for 900x900, 901 MB for 1000x1000, 4529 MB for 4000x4000 (activations included).
TILE_OUTPUT_BYTES = 200
IMAGE_BYTES = 3  # per pixel of a uint8 RGB image
FRONT_END_BYTES = 12  # per output pixel: PNG encoding (Pillow holds 4 B a pixel) and a before/after pair
NEURAL_LOAD_MB = 768  # a network's runtime and weights, loaded on first use (ncnn + realesrgan-x4plus: 755 MB)
PREVIEW_STEP = 64  # px: suggested preview sizes are multiples of this


@dataclass(frozen=True)
class Footprint:
    """A run's estimated peak memory and the model that makes it."""

    peak_mb: float
    heaviest: str  # the model whose step is the largest
    output_size: tuple[int, int]  # that model's output (width, height)


def architecture(spec: ModelSpec) -> str | None:
    """The measured family a network belongs to (ACTIVATION_BYTES' keys), or None when unknown."""
    options = spec.options
    for name in (
        getattr(options, "convert", None),
        getattr(options, "algorithm", None),
        getattr(options, "architecture", None),
    ):
        if name:
            return str(name)
    if spec.source.package is not None:
        stem = spec.source.package.path.rsplit("/", 1)[-1]
        for prefix, family in ARCHITECTURE_BY_FILE.items():
            if stem.startswith(prefix):
                return family
    return None


def tile_side(spec: ModelSpec, settings: Settings, tile: int | None) -> int | None:
    """The tile engine.enhance.choose_tile will pick for this model (None: the whole image at once)."""
    tileable = spec.backend != "classical" and getattr(spec.options, "tileable", True)
    return tile_for(tileable, spec.scale, settings, tile)


def model_step_bytes(
    spec: ModelSpec, width: int, height: int, settings: Settings, tile: int | None, metric_bytes: float
) -> int:
    """Peak bytes while this model runs on a width x height input and its output is scored (outputs of other
    models not included)."""
    in_pixels = width * height
    out_pixels = in_pixels * spec.scale**2
    if spec.backend == "classical":
        per_pixel = CLASSICAL_BYTES.get(spec.source.builtin or "", UNKNOWN_CLASSICAL_BYTES)
        running = per_pixel * in_pixels + IMAGE_BYTES * out_pixels
    else:
        family = architecture(spec) or ""
        per_pixel = ACTIVATION_BYTES.get(f"{family}-x{spec.scale}", ACTIVATION_BYTES.get(family, UNKNOWN_NETWORK_BYTES))
        side = tile_side(spec, settings, tile)
        if side and (width > side or height > side):
            overlap = spec.tile_overlap
            piece = min(width, side + 2 * overlap) * min(height, side + 2 * overlap)
            running = (per_pixel + TILE_OUTPUT_BYTES * spec.scale**2) * piece + TILED_BYTES * out_pixels
        else:
            running = per_pixel * in_pixels + IMAGE_BYTES * out_pixels
    scoring = (metric_bytes + 3 * IMAGE_BYTES) * out_pixels if metric_bytes else IMAGE_BYTES * out_pixels
    return int(max(running, scoring))


def estimate(
    request: CompareRequest, registry: Registry, settings: Settings, width: int, height: int, copies: int = 1
) -> Footprint:
    """The peak of running `request` on a width x height model input (after preview and degradation).

    `copies`: how many outputs of each model are alive at once (1 for an image; a video's queued frames).
    """
    scored = [get_metric(metric_id) for metric_id in request.metric_ids]
    with_reference = request.recipe is not None or request.with_reference  # else full-reference metrics skip
    metric_bytes = max(
        (spec.bytes_per_pixel for spec in scored if with_reference or spec.kind != FULL_REFERENCE), default=0.0
    )
    held = 0
    steps: list[tuple[int, str, tuple[int, int]]] = []
    neural = False
    for model_id in request.model_ids:
        spec = registry.get(model_id)
        neural = neural or spec.backend != "classical"
        out_size = (width * spec.scale, height * spec.scale)
        held += copies * IMAGE_BYTES * out_size[0] * out_size[1]
        steps.append((model_step_bytes(spec, width, height, settings, request.tile, metric_bytes), model_id, out_size))
    step, heaviest, out_size = max(steps)
    largest_output = max(size[0] * size[1] for _, _, size in steps)
    peak = held + max(step, FRONT_END_BYTES * largest_output) + IMAGE_BYTES * width * height * 2
    return Footprint(peak / MB + (NEURAL_LOAD_MB if neural else 0), heaviest, out_size)


def memory_limit(settings: Settings) -> tuple[float, str] | None:
    """(MB a run may use, where that figure comes from), or None when neither is known."""
    free = available_mb()
    limits = []
    if free is not None:
        limits.append((free, "free on this machine"))
    if settings.max_memory_mb is not None:
        limits.append((float(settings.max_memory_mb), "allowed by STUDIO_MAX_MEMORY_MB"))
    return min(limits) if limits else None


def largest_fitting_preview(
    request: CompareRequest,
    registry: Registry,
    settings: Settings,
    source: tuple[int, int],
    limit_mb: float,
    copies: int = 1,
) -> int | None:
    """The largest preview long side (a multiple of PREVIEW_STEP below the current one) whose run fits, or None."""
    scale = request.recipe.scale if request.recipe else 1
    long_side = min(max(source), request.preview) if request.preview else max(source)
    low, high, best = 1, (long_side - 1) // PREVIEW_STEP, None
    while low <= high:  # the estimate grows with the side: bisect over the multiples of PREVIEW_STEP
        middle = (low + high) // 2
        width, height = model_input_size(*source, middle * PREVIEW_STEP, scale)
        if estimate(request, registry, settings, width, height, copies).peak_mb <= limit_mb:
            best, low = middle * PREVIEW_STEP, middle + 1
        else:
            high = middle - 1
    return best


def check_memory(
    request: CompareRequest,
    registry: Registry,
    settings: Settings,
    source: tuple[int, int],
    copies: int = 1,
    what: str = "this run",
) -> Footprint:
    """Refuse (MemoryLimitError, one line) a run whose estimated peak exceeds the memory it may use.

    `source`: the (width, height) the user gave, before preview and degradation; the message names the largest
    preview long side that fits.
    """
    scale = request.recipe.scale if request.recipe else 1
    width, height = model_input_size(*source, request.preview, scale)
    footprint = estimate(request, registry, settings, width, height, copies)
    limit = memory_limit(settings)
    if limit is None or footprint.peak_mb <= limit[0]:
        return footprint
    side = largest_fitting_preview(request, registry, settings, source, limit[0], copies)
    offer = (
        f"use a preview long side of {side} px or less"
        if side
        else "pick fewer or lighter models (even a small preview would not fit)"
    )
    out_width, out_height = footprint.output_size
    raise MemoryLimitError(
        f"{what} would need about {_size(footprint.peak_mb)} of memory ({footprint.heaviest} makes a "
        f"{out_width}x{out_height} output from {width}x{height}), more than the {_size(limit[0])} {limit[1]}: "
        f"{offer}"
    )


def _size(mb: float) -> str:
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:.0f} MB"
