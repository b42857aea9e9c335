"""`studio enhance` and `studio compare`: build a CompareRequest, run the engine, report and write files.

Exit codes: 0 every model ran, 1 a model failed (the others still ran and wrote
their files); bad input raises UsageError / MediaError (2) before anything runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.cli.common import (
    add_command,
    add_model_flag,
    add_runtime_flags,
    add_set_flag,
    output_folder,
    parse_sets,
    progress_printer,
    report_error,
)
from studio.cli.reports import REPORTS
from studio.cli.tables import format_table
from studio.core.vocabulary import OUTPUT_FORMATS

if TYPE_CHECKING:
    from studio.engine.results import Results
    from studio.services import Services


def register(commands: argparse._SubParsersAction) -> None:
    """Add `enhance` and `compare` to the root parser."""
    enhance = add_command(commands, "enhance", cmd_enhance, "run models on an image and write one file per model")
    enhance.add_argument("input", type=Path)
    add_model_flag(enhance)
    enhance.add_argument("-o", "--out", type=Path, required=True, metavar="OUTDIR")
    add_set_flag(enhance)
    enhance.add_argument("--format", default=OUTPUT_FORMATS[0], choices=OUTPUT_FORMATS)
    enhance.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_runtime_flags(enhance)

    compare = add_command(
        commands, "compare", cmd_compare, "run models, time them and score them (optionally vs a reference)"
    )
    compare.add_argument("input", type=Path)
    add_model_flag(compare)
    source = compare.add_mutually_exclusive_group()
    source.add_argument("--reference", type=Path, metavar="GT", help="ground-truth image for full-reference metrics")
    source.add_argument(
        "--degrade",
        metavar="RECIPE",
        help='e.g. "x4,blur=gauss:1.2,noise=5,jpeg=75": degrade INPUT '
        "with a seeded recipe, enhance the degraded copy, score against INPUT",
    )
    compare.add_argument("--metrics", help="comma-separated metric ids (default depends on reference)")
    compare.add_argument("--repeat", type=int, default=1, help="runs per model; latency is the median after the first")
    compare.add_argument("--preview", type=int, default=512, help="limit the long side (px) first; 0 = full size")
    compare.add_argument("--tile", type=int, help="tile size in px (0 = never tile; default automatic)")
    add_set_flag(compare)
    compare.add_argument("-o", "--out", type=Path, metavar="OUTDIR", help="write outputs, results.csv/json/md here")
    compare.add_argument("--format", default="table", choices=tuple(REPORTS))
    add_runtime_flags(compare)


def _enhance_records(results: Results, written: dict[str, Path]) -> list[dict[str, Any]]:
    """One record per model (file, size, latency, or its error): what `enhance --json` prints."""
    rows = []
    for row in results.rows:
        record: dict[str, Any] = {"model": row.model_id, "error": row.error}
        if row.ok:
            width, height = row.output.size
            record.update(
                output=str(written[row.model_id]),
                width=width,
                height=height,
                latency_ms=round(row.first_ms, 1),
                load_ms=round(row.load_ms, 1),
            )
        else:
            report_error(str(row.error))
        rows.append(record)
    return rows


def cmd_enhance(args: argparse.Namespace, services: Services) -> int:
    """Run each model once at full size and write its output, for users who want files rather than scores."""
    from studio.core.media import decode
    from studio.engine.compare import run as run_comparison
    from studio.engine.export import write_outputs
    from studio.engine.request import CompareRequest

    output_folder(args.out)
    registry = services.registry
    request = CompareRequest.build(
        registry,
        args.models,
        metrics=[],
        preview=None,
        backend=args.backend,
        precision=args.precision,
        params=parse_sets(args.settings, registry),
        max_models=None,
    )
    image = decode(args.input, services.settings.max_pixels)
    results = run_comparison(request, image, registry, services.loader)
    written = write_outputs(results, args.out, args.format, prefix=f"{args.input.stem}_")
    rows = _enhance_records(results, written)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        table = [
            [
                r["model"],
                f"{r['width']}x{r['height']}" if r["error"] is None else "failed",
                r.get("latency_ms", ""),
                r.get("output", r["error"]),
            ]
            for r in rows
        ]
        print(format_table(["model", "output size", "latency ms", "file"], table))
    return 0 if all(row.ok for row in results.rows) else 1


def cmd_compare(args: argparse.Namespace, services: Services) -> int:
    """Time and score models on the same (optionally degraded) input; print one table, optionally write the run."""
    from studio.core.media import decode
    from studio.engine.compare import run as run_comparison
    from studio.engine.export import results_markdown, write_run
    from studio.engine.request import CompareRequest

    if args.out:
        output_folder(args.out)
    registry = services.registry
    request = CompareRequest.build(
        registry,
        args.models,
        metrics=args.metrics,
        degrade=args.degrade,
        with_reference=bool(args.reference),
        preview=args.preview,
        tile=args.tile,
        backend=args.backend,
        precision=args.precision,
        params=parse_sets(args.settings, registry),
        repeat=args.repeat,
        max_models=None,
    )
    max_pixels = services.settings.max_pixels
    image = decode(args.input, max_pixels)
    reference = decode(args.reference, max_pixels) if args.reference else None
    progress = progress_printer(sys.stderr.isatty())
    results = run_comparison(request, image, registry, services.loader, reference, on_progress=progress)
    for row in results.rows:
        if not row.ok:
            report_error(str(row.error))
    for metric_id, reason in results.unavailable.items():
        print(f"note: metric '{metric_id}' unavailable: {reason}", file=sys.stderr)
    if results.preview_note:
        print(f"note: {results.preview_note} (--preview 0 for full size)", file=sys.stderr)
    if args.out:
        write_run(results, args.out, "png", prefix=f"{args.input.stem}_")  # lossless: scores can be redone from files
        (args.out / "results.md").write_text(results_markdown(results) + "\n", encoding="utf-8")
    print(REPORTS[args.format](results), end="")
    return 0 if all(row.ok for row in results.rows) else 1
