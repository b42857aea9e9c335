"""`studio batch`: every model on every image of a dataset, through the same engine as `studio compare`.

RUN_DIR gets cells.parquet/.csv (one row per image × model), summary.csv/.md (per model: metric
means with 95 % t-intervals, latency median and p95, MP/s, failures), run.json and the journal
cells.jsonl that `--resume` continues from. Exit codes as for `compare`: 0 every cell ran, 1 some
cell failed (the others are written), 2 bad usage, 130 Ctrl-C (finished cells kept).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from studio.batch.plan import ENGINES
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
from studio.core.errors import UsageError

if TYPE_CHECKING:
    from studio.batch.run import BatchRun
    from studio.services import Services

DEFAULT_PREVIEW = 512  # as `compare`: a dataset of large photos stays quick on a CPU unless asked otherwise
RUNS_FOLDER = Path("runs")
MAX_ERROR_LINES = 20


def register(commands: argparse._SubParsersAction) -> None:
    batch = add_command(
        commands, "batch", cmd_batch, "run models on every image of a dataset: per-image table, summary, resumable"
    )
    batch.add_argument(
        "dataset",
        type=Path,
        metavar="DATASET",
        help="a folder of PNG/JPEG/WebP/BMP/TIFF images (by name, not recursive) or a text file listing "
        "image paths, one per line, relative to it (blank lines and # comments skipped)",
    )
    add_model_flag(batch, help="a model to run on every image (repeatable; see `studio models`)")
    batch.add_argument("--degrade", metavar="RECIPE", help="degrade every image with this seeded recipe, score vs it")
    batch.add_argument("--pairs", type=Path, metavar="GT_DIR", help="score against the file of the same name in GT_DIR")
    batch.add_argument("--metrics", help="comma-separated metric ids (default depends on reference)")
    batch.add_argument(
        "--preview",
        type=int,
        help=f"limit each image's long side (px) first; 0 = full size (default {DEFAULT_PREVIEW})",
    )
    batch.add_argument("--tile", type=int, help="tile size in px (0 = never tile; default automatic)")
    add_set_flag(batch)
    batch.add_argument("-o", "--out", type=Path, metavar="RUN_DIR", help="the run's folder (default runs/<timestamp>)")
    batch.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="where cells run: this process, or a Ray cluster "
        "(STUDIO_RAY_ADDRESS, else a local one started for the run with STUDIO_RAY_CPUS CPUs; default local)",
    )
    batch.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in RUN_DIR: only cells not finished there run (same settings required)",
    )
    batch.add_argument(
        "--save-outputs", action="store_true", help="write each output as RUN_DIR/outputs/<model>/<image stem>.png"
    )
    add_runtime_flags(batch)


def default_run_dir(now: datetime | None = None) -> Path:
    """runs/<YYYYmmdd-HHMMSS>, with -2, -3 ... when a run started in the same second."""
    base = RUNS_FOLDER / (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    candidate, number = base, 1
    while candidate.exists():
        number += 1
        candidate = base.with_name(f"{base.name}-{number}")
    return candidate


def tune_first(services: Services, request) -> None:
    """Auto-tune the run's models here, one at a time, before any cell runs: cells running side by side (Ray
    actors, each tuning on its first cell) would time each other's load instead of the forms."""
    if request.backend or request.precision not in (None, "auto") or request.device not in (None, "auto"):
        return  # every form is asked for: nothing is tuned
    tuner = services.loader.tuner
    for model_id in request.model_ids:
        spec = services.registry.get(model_id)
        if tuner.applies(spec) and tuner.record(spec) is None:
            print(
                f"note: auto-tuning {model_id} on this machine first (studio tune; STUDIO_AUTOTUNE=0: off)",
                file=sys.stderr,
            )
            tuner.tune(spec)


def cmd_batch(args: argparse.Namespace, services: Services) -> int:
    """Check everything, run the cells RUN_DIR lacks, print the per-model summary."""
    from studio.batch.dataset import check_output_names, ground_truths, load_dataset
    from studio.batch.job import BatchJob, runner_for
    from studio.batch.run import run_batch, run_settings
    from studio.engine.provenance import machine_info
    from studio.engine.request import CompareRequest

    if args.degrade and args.pairs:
        raise UsageError("give either --degrade or --pairs, not both")
    if args.resume and args.out is None:
        raise UsageError("--resume needs -o RUN_DIR: the folder of the run to continue")
    registry = services.registry
    runner = runner_for(
        args.engine,
        registry,
        services.loader,
        make_services=partial(type(services).with_threads, services.settings),
        settings=services.settings,
        keep_outputs=args.save_outputs,
    )
    request = CompareRequest.build(
        registry,
        args.models,
        metrics=args.metrics,
        degrade=args.degrade,
        with_reference=args.pairs is not None,
        preview=DEFAULT_PREVIEW if args.preview is None else args.preview,
        tile=args.tile,
        backend=args.backend,
        precision=args.precision,
        device=args.device,
        params=parse_sets(args.settings, registry),
        max_models=None,
    )
    dataset = load_dataset(args.dataset)
    references = ground_truths(dataset, args.pairs) if args.pairs else None
    if args.save_outputs:
        check_output_names(dataset)
    run_dir = args.out or default_run_dir()
    job = BatchJob(request, dataset.images, references, services.settings.max_pixels)
    interactive = sys.stderr.isatty()
    tune_first(services, request)
    if args.engine == "ray":  # starting a cluster takes seconds before the first cell: say what is happening
        settings = services.settings
        where = (
            f"joining the Ray cluster at {settings.ray_address}"
            if settings.ray_address
            else f"starting a local Ray cluster for this run ({settings.ray_cpus or 'all'} CPUs; "
            "STUDIO_RAY_ADDRESS joins a running one)"
        )
        print(f"note: {where}", file=sys.stderr)
    with terminate_as_interrupt():
        try:
            run = run_batch(
                job,
                dataset.describe(),
                run_dir,
                runner,
                run_settings(job, args.pairs, args.save_outputs),
                machine=lambda: machine_info(services.settings),
                resume=args.resume,
                on_progress=progress_bar(interactive),
            )
        except KeyboardInterrupt:
            if interactive:
                print(file=sys.stderr)
            print(f"note: finished cells are kept: add --resume -o {run_dir} to continue", file=sys.stderr)
            raise
    if interactive and run.ran:
        print(file=sys.stderr)
    _report(run, len(request.model_ids))
    return 1 if run.failed else 0


def _report(run: BatchRun, model_count: int) -> None:
    """Failures (one line per image and error), metric notes, the summary table and where the files are."""
    from studio.batch.tables import failures_by_image, summary_table, unavailable_notes

    groups = failures_by_image((record["image"], record["model"], record["error"]) for record in run.failed)
    lines = [
        f"{image} ({'every model' if len(models) == model_count else ', '.join(models)}): {error}"
        for (image, error), models in groups.items()
    ]
    for line in lines[:MAX_ERROR_LINES]:
        report_error(line)
    if len(lines) > MAX_ERROR_LINES:
        report_error(f"{len(lines) - MAX_ERROR_LINES} more failures: see the error column of {run.run_dir}/cells.csv")
    for note in unavailable_notes(run.records):
        print(f"note: metric {note}", file=sys.stderr)
    headers, rows = summary_table(run.summary, run.metric_ids)
    print(format_table(headers, rows))
    failed = len(run.failed)
    before = f", {run.before} from before" if run.before else ""
    print(f"{len(run.records)} cells ({run.ran} run now{before}), {failed} failed: {run.run_dir}")
