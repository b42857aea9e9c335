"""`studio score`: metrics for images made elsewhere (another tool's outputs), with our metric code.

Exit codes: 0 every value computed, 1 a metric could not run (its values are empty, the reason on stderr),
2 bad input (unreadable image, missing or mismatched references, unknown metric).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from studio.cli.common import add_command, report_error
from studio.cli.tables import format_table

if TYPE_CHECKING:
    from studio.engine.score import Scores
    from studio.services import Services

FORMATS = ("table", "csv", "json")


def register(commands: argparse._SubParsersAction) -> None:
    score = add_command(commands, "score", cmd_score, "score images on disk (any tool's outputs) with our metrics")
    score.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    score.add_argument(
        "--reference", nargs="+", type=Path, default=[], metavar="REF", help="one ground truth per IMAGE, same order"
    )
    score.add_argument("--metrics", help="comma-separated metric ids (default depends on whether references are given)")
    score.add_argument("--scale", type=int, default=1, help="the images' upscaling factor: PSNR/SSIM crop this border")
    score.add_argument("--format", default="table", choices=FORMATS)


def _value(value: object, infinite: bool = False) -> object:
    """Numbers rounded for reading; NaN and infinity as null (strict JSON, empty CSV cells), or as text."""
    if isinstance(value, float):
        if math.isfinite(value):
            return round(value, 4)
        return str(value) if infinite else None
    return value


def render(scores: Scores, fmt: str) -> str:
    headers = ["image", *(spec.id for spec in scores.metrics)]
    if fmt == "table":  # a person reads "inf" (the PSNR of identical images) better than a blank
        rows = [[_value(row[h], infinite=True) for h in headers] for row in scores.rows]
        return format_table([headers[0], *(spec.label for spec in scores.metrics)], rows)
    rows = [[_value(row[h]) for h in headers] for row in scores.rows]
    if fmt == "json":
        return json.dumps([dict(zip(headers, row, strict=True)) for row in rows], indent=2, allow_nan=False)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([headers, *rows])
    return buffer.getvalue().rstrip("\n")


def cmd_score(args: argparse.Namespace, services: Services) -> int:
    from studio.engine.score import score_images

    scores = score_images(
        [str(p) for p in args.images],
        [str(p) for p in args.reference],
        args.metrics,
        args.scale,
        services.loader.store,
        services.settings.max_pixels,
    )
    print(render(scores, args.format))
    for metric_id, reason in scores.unavailable.items():
        report_error(f"{metric_id}: {reason}")
    return 1 if scores.unavailable else 0
