"""`studio enhance` and `studio compare`: build a CompareRequest, run the engine, report and write files.

Exit codes: 0 every model ran, 1 a model failed (the others still ran and wrote
their files); bad input raises UsageError / MediaError (2) before anything runs.

`compare --from results.json` repeats a recorded run: the recorded request is the
starting point and every flag given as well overrides its field (see FROM_HELP).
"""

from __future__ import annotations

import argparse
import filecmp
import json
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.cli.common import (
    add_command,
    add_model_flag,
    add_runtime_flags,
    add_set_flag,
    parse_sets,
    progress_printer,
    report_error,
)
from studio.cli.reports import REPORTS
from studio.cli.tables import format_table
from studio.core.errors import UsageError
from studio.core.files import writable_folder
from studio.core.vocabulary import OUTPUT_FORMATS

if TYPE_CHECKING:
    from studio.engine.replay import Recorded
    from studio.engine.results import Results
    from studio.models.registry import Registry
    from studio.services import Services

FROM_HELP = (
    "repeat the run recorded in a results.json (models, parameters, metrics, degradation, preview, tile, "
    "backend, precision, repeat). INPUT defaults to the recorded input file, looked for next to the JSON; a "
    "ground-truth run needs --reference again unless the recorded ground truth is next to the JSON. A folder "
    "written by -o, or the web app's unzipped download, holds both, so `--from OUTDIR/results.json` alone "
    "repeats the run. Flags given as well override the recorded values: -m replaces the models (recorded "
    "parameters are kept for those still chosen), --set changes one parameter, --degrade / --reference replace "
    "the reference mode"
)
OUT_HELP = (
    "write here each output and the prepared input (<stem>_*.png), results.csv/json/md, and INPUT (and GT) "
    "itself, copied byte for byte under its own name, so that `studio compare --from OUTDIR/results.json` "
    "repeats the run"
)
MARKDOWN_FILE = "results.md"
DEFAULT_PREVIEW = 512


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
    compare.add_argument(
        "input", type=Path, nargs="?", help="the image (with --from: the recorded one, found next to the JSON)"
    )
    add_model_flag(compare, required=False, help="a model to run (repeatable; required unless --from)")
    compare.add_argument("--from", dest="from_json", type=Path, metavar="RESULTS_JSON", help=FROM_HELP)
    source = compare.add_mutually_exclusive_group()
    source.add_argument("--reference", type=Path, metavar="GT", help="ground-truth image for full-reference metrics")
    source.add_argument(
        "--degrade",
        metavar="RECIPE",
        help='e.g. "x4,blur=gauss:1.2,noise=5,jpeg=75": degrade INPUT '
        "with a seeded recipe, enhance the degraded copy, score against INPUT",
    )
    compare.add_argument("--metrics", help="comma-separated metric ids (default depends on reference)")
    compare.add_argument("--repeat", type=int, help="runs per model; latency is the median after the first (default 1)")
    compare.add_argument(
        "--preview", type=int, help=f"limit the long side (px) first; 0 = full size (default {DEFAULT_PREVIEW})"
    )
    compare.add_argument("--tile", type=int, help="tile size in px (0 = never tile; default automatic)")
    add_set_flag(compare)
    compare.add_argument("-o", "--out", type=Path, metavar="OUTDIR", help=OUT_HELP)
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
    from studio.engine.export import format_for, write_outputs
    from studio.engine.request import CompareRequest

    writable_folder(args.out)
    registry = services.registry
    request = CompareRequest.build(
        registry,
        args.models,
        metrics=[],
        preview=None,
        backend=args.backend,
        precision=args.precision,
        device=args.device,
        params=parse_sets(args.settings, registry),
        max_models=None,
    )
    image = decode(args.input, services.settings.max_pixels)
    for model_id in request.model_ids:  # refused before the work, not after it
        width, height = (side * registry.get(model_id).scale for side in image.size)
        if format_for((width, height), args.format) != args.format:
            raise UsageError(
                f"'{model_id}' would make a {width}x{height} output, wider or taller than a {args.format} file "
                "holds (WebP: 16383 px, JPEG: 65535 px): use --format png"
            )
    results = run_comparison(request, image, registry, services.loader, source=args.input.name)
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


def _compare_request_fields(
    args: argparse.Namespace, registry: Registry, recorded: Recorded | None
) -> tuple[dict[str, Any], Path | None]:
    """CompareRequest.build's keyword arguments (the recorded run's, overridden by the flags given) and
    the ground-truth file to score against (None in degradation or no-reference mode)."""
    base = recorded.request if recorded else {}
    models = args.models or base.get("models")
    sets = parse_sets(args.settings, registry)
    recorded_params = base.get("params") or {}
    params = {
        model_id: {**recorded_params.get(model_id, {}), **sets.get(model_id, {})}
        for model_id in dict.fromkeys([*(models or []), *sets])
        if model_id in sets or model_id in recorded_params
    }
    # Recorded metrics are an explicit list (possibly empty); without a recording, None asks for the defaults.
    metrics = args.metrics if args.metrics is not None or not recorded else list(base.get("metrics") or [])
    reference = args.reference
    if args.degrade or args.reference:
        degrade = args.degrade
    else:
        degrade = base.get("degrade")
        if recorded and base.get("with_reference"):
            reference = recorded.beside(recorded.reference_source)
            if reference is None:
                named = f" ('{recorded.reference_source}', not found next to it)" if recorded.reference_source else ""
                raise UsageError(
                    f"{recorded.path} was scored against a ground truth{named}: give it with --reference GT"
                )
    fields = {
        "models": models,
        "metrics": metrics,
        "degrade": degrade,
        "with_reference": reference is not None,
        "preview": args.preview if args.preview is not None else base.get("preview", DEFAULT_PREVIEW),
        "tile": args.tile if args.tile is not None else base.get("tile"),
        "backend": args.backend or base.get("backend"),
        "precision": args.precision or base.get("precision"),
        "device": args.device or base.get("device"),
        "params": params,
        "repeat": args.repeat if args.repeat is not None else base.get("repeat", 1),
    }
    return fields, reference


def _compare_input(args: argparse.Namespace, recorded: Recorded | None) -> Path:
    """INPUT as given, else the recorded input next to the JSON; a one-line error when there is neither."""
    if args.input is not None:
        return args.input
    if recorded is None:
        raise UsageError("give an INPUT image (or repeat a recorded run with --from results.json)")
    found = recorded.beside(recorded.source)
    if found is None:
        if not recorded.source:
            raise UsageError(f"{recorded.path} does not name its input file: give INPUT")
        raise UsageError(
            f"the recorded input '{recorded.source}' is not next to {recorded.path}: give INPUT "
            f"(studio compare INPUT --from {recorded.path})"
        )
    return found


def _sources_to_keep(out: Path, run_names: set[str], *sources: Path | None) -> list[Path]:
    """The files a run reads (INPUT, GT) that `-o` must copy into OUT, each under its own name, so that
    `--from OUT/results.json` finds them; checked before anything runs.

    A file already there (the same file, or the same bytes) needs no copy. One-line errors instead of
    overwriting a different file of that name, or of keeping two sources under one name.
    """
    kept: dict[str, Path] = {}
    for source in sources:
        if source is None:
            continue
        name = source.name
        if name in kept:
            if not _same_file(kept[name], source):
                raise UsageError(
                    f"INPUT and --reference are both named '{name}': -o keeps both under their own names "
                    "in one folder, so rename one"
                )
            continue
        if name in run_names:
            raise UsageError(f"'{name}' is also the name of a file this run writes into {out}: rename {source}")
        kept[name] = source
    return [source for name, source in kept.items() if not _already_there(out / name, source)]


def _same_file(first: Path, second: Path) -> bool:
    return first.samefile(second) or filecmp.cmp(first, second, shallow=False)


def _already_there(target: Path, source: Path) -> bool:
    """True when `target` holds `source`'s bytes; an error when it is another file, which -o never overwrites."""
    if not target.exists():
        return False
    if target.is_file() and _same_file(target, source):
        return True
    raise UsageError(
        f"{target} exists and is not {source}: -o keeps a copy of the files a run reads there (for --from), "
        "so remove it or choose another output folder"
    )


def _replay_notes(results: Results, recorded: Recorded) -> None:
    """Say where a repeated run may differ from the recorded one: another image, or another form ran."""
    if recorded.source_sha256 and results.source_sha256 != recorded.source_sha256:
        print(f"note: INPUT's pixels differ from those of the run recorded in {recorded.path}", file=sys.stderr)
    for row in results.rows:
        before = recorded.forms.get(row.model_id)
        now = (row.backend, row.precision)
        if row.ok and before and before != now:
            print(
                f"note: '{row.model_id}' ran {' '.join(now)} here, {' '.join(before)} in the recorded run "
                "(pin it with --backend / --precision)",
                file=sys.stderr,
            )


def cmd_compare(args: argparse.Namespace, services: Services) -> int:
    """Time and score models on the same (optionally degraded) input; print one table, optionally write the run."""
    from studio.core.media import decode
    from studio.engine.compare import run as run_comparison
    from studio.engine.export import results_markdown, run_file_names, size_notes, write_run
    from studio.engine.replay import load_recorded
    from studio.engine.request import CompareRequest

    if args.out:
        writable_folder(args.out)
    registry = services.registry
    recorded = load_recorded(args.from_json) if args.from_json else None
    fields, reference_path = _compare_request_fields(args, registry, recorded)
    request = CompareRequest.build(registry, max_models=None, **fields)
    input_path = _compare_input(args, recorded)
    max_pixels = services.settings.max_pixels
    image = decode(input_path, max_pixels)
    reference = decode(reference_path, max_pixels) if reference_path else None
    prefix = f"{input_path.stem}_"
    to_copy = []
    if args.out:
        run_names = run_file_names(request.model_ids, "png", prefix) | {MARKDOWN_FILE}
        to_copy = _sources_to_keep(args.out, run_names, input_path, reference_path)
    progress = progress_printer(sys.stderr.isatty())
    results = run_comparison(
        request,
        image,
        registry,
        services.loader,
        reference,
        on_progress=progress,
        source=input_path.name,
        reference_source=reference_path.name if reference_path else None,
    )
    services.speed.record(results)  # the web app's predicted latencies learn from CLI runs too
    for row in results.rows:
        if not row.ok:
            report_error(str(row.error))
    for metric_id, reason in results.unavailable.items():
        print(f"note: metric '{metric_id}' unavailable: {reason}", file=sys.stderr)
    if results.preview_note:
        print(f"note: {results.preview_note} (--preview 0 for full size)", file=sys.stderr)
    for note in size_notes(results):
        print(f"note: {note}", file=sys.stderr)
    if recorded:
        _replay_notes(results, recorded)
    if args.out:
        write_run(results, args.out, "png", prefix=prefix)  # lossless: scores can be redone from files
        (args.out / MARKDOWN_FILE).write_text(results_markdown(results) + "\n", encoding="utf-8")
        for source in to_copy:  # byte for byte, under its own name: what --from looks for next to the JSON
            shutil.copyfile(source, args.out / source.name)
    print(REPORTS[args.format](results), end="")
    return 0 if all(row.ok for row in results.rows) else 1
