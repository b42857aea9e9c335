"""`studio video`: enhance a clip with one or more models, optionally as a labelled comparison video.

Files: OUT.mp4 is the comparison with --side-by-side / --split, else the enhanced clip when one model
runs; each model's clip is OUT-<id>.mp4 (studio/video/outputs.py). Exit codes as for `compare`:
0 all models ran, 1 a model failed (the others' files are written), 2 bad input, 130 Ctrl-C (the
partial files are removed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from studio.cli.common import (
    add_command,
    add_model_flag,
    add_runtime_flags,
    add_set_flag,
    parse_sets,
    progress_bar,
    report_error,
    terminate_as_interrupt,
)
from studio.cli.tables import format_table

if TYPE_CHECKING:
    from studio.services import Services

DEFAULT_PREVIEW = 512  # the image compare's default, so a frame and a still are treated alike


def register(commands: argparse._SubParsersAction) -> None:
    video = add_command(commands, "video", cmd_video, "enhance a video with models; H.264 MP4 out, audio kept")
    video.add_argument("input", type=Path, help="MP4, MOV, MKV, WebM or AVI")
    add_model_flag(video, help="a model to run on every frame (repeatable, at most 8; see `studio models`)")
    video.add_argument(
        "-o",
        "--out",
        type=Path,
        required=True,
        metavar="OUT.mp4",
        help="the comparison with --side-by-side/--split, else the enhanced clip of a single model; "
        "each model's own clip is written as OUT-<id>.mp4",
    )
    layout = video.add_mutually_exclusive_group()
    layout.add_argument(
        "--side-by-side",
        dest="layout",
        action="store_const",
        const="side-by-side",
        help="write OUT.mp4 as input | model A | model B ..., labelled, at a common size",
    )
    layout.add_argument(
        "--split",
        dest="layout",
        action="store_const",
        const="split",
        help="write OUT.mp4 as one picture in vertical strips (input, model A, ...), labelled",
    )
    video.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames (default STUDIO_MAX_FRAMES)")
    video.add_argument(
        "--preview",
        type=int,
        help=f"limit each frame's long side (px) first; 0 = full size (default {DEFAULT_PREVIEW})",
    )
    video.add_argument(
        "--degrade",
        metavar="RECIPE",
        help="reference mode: degrade each frame with this seeded recipe, score against it",
    )
    video.add_argument("--metrics", help="comma-separated metric ids, averaged over frames spread across the clip")
    video.add_argument("--tile", type=int, help="tile size in px (0 = never tile; default automatic)")
    add_set_flag(video)
    video.add_argument("--json", action="store_true", help="print the table and output paths as JSON")
    add_runtime_flags(video)


def cmd_video(args: argparse.Namespace, services: Services) -> int:
    """Build the request the image compare would, run the clip through it, print the table."""
    from dataclasses import replace

    from studio.core.errors import UsageError
    from studio.engine.request import CompareRequest
    from studio.video.io import VideoLimits
    from studio.video.pipeline import run_video
    from studio.video.results import summary_line, video_json, video_table

    request = CompareRequest.build(
        services.registry,
        args.models,
        metrics=args.metrics,
        degrade=args.degrade,
        preview=DEFAULT_PREVIEW if args.preview is None else args.preview,
        tile=args.tile,
        backend=args.backend,
        precision=args.precision,
        device=args.device,
        params=parse_sets(args.settings, services.registry),
    )
    limits = VideoLimits.from_settings(services.settings)
    if args.max_frames is not None:
        if args.max_frames < 1:
            raise UsageError(f"--max-frames must be at least 1, got {args.max_frames}")
        limits = replace(limits, max_frames=args.max_frames, frames_from="--max-frames")
    interactive = sys.stderr.isatty()
    with terminate_as_interrupt():
        results = run_video(
            request,
            args.input,
            args.out,
            services.registry,
            services.loader,
            limits,
            layout=args.layout,
            on_progress=progress_bar(interactive),
        )
    if interactive:
        print(file=sys.stderr)
    for row in results.rows:
        if row.error:
            report_error(f"{row.model_id}: {row.error}")
    if args.json:
        print(json.dumps(json.loads(video_json(results)), indent=2))
    else:
        table = video_table(results)
        print(format_table(list(table[0]), [list(record.values()) for record in table]) if table else "")
        print(summary_line(results))
        if results.comparison_path:
            print(f"comparison: {results.comparison_path}")
    return 1 if any(row.error for row in results.rows) else 0
