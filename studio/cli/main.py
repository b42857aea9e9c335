"""The `studio` command: list, fetch and pin models; enhance images.

Errors print one line on stderr: exit 2 for usage and input errors, 1 when a
model fails. A traceback appears only with --debug.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from studio.cli.tables import format_table
from studio.core.config import Settings
from studio.core.errors import StudioError, UsageError
from studio.models.registry import Registry, load_registry

TASKS = ("super-resolution", "denoise", "deblur", "sharpen", "restore", "contrast")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="studio", description="Compare image enhancement models.")
    parser.add_argument("--registry", help="a user registry YAML merged over the built-in one")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    models = commands.add_parser("models", help="list the models and whether they can run here")
    models.add_argument("--json", action="store_true", help="print JSON instead of a table")
    models.add_argument("--task", choices=TASKS, help="only models for this task")

    fetch = commands.add_parser("fetch", help="download and verify models' weights")
    fetch.add_argument("ids", nargs="*", metavar="ID")
    fetch.add_argument("--backend", help="fetch every model of this backend (e.g. ncnn)")

    lock = commands.add_parser("lock", help="pin Hub models to commits and record sha256 (network)")
    lock.add_argument("--file", type=Path, help="registry file to rewrite (default: the user or built-in one)")

    enhance = commands.add_parser("enhance", help="run models on an image and write one file per model")
    enhance.add_argument("input", type=Path)
    enhance.add_argument("-m", "--model", dest="models", action="append", required=True, metavar="ID")
    enhance.add_argument("-o", "--out", type=Path, required=True, metavar="OUTDIR")
    enhance.add_argument("--set", dest="settings", action="append", default=[], metavar="ID.PARAM=VALUE")
    enhance.add_argument("--format", default="png", choices=("png", "jpeg", "webp"))
    enhance.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_runtime_flags(enhance)

    compare = commands.add_parser("compare", help="run models, time them and score them (optionally vs a reference)")
    compare.add_argument("input", type=Path)
    compare.add_argument("-m", "--model", dest="models", action="append", required=True, metavar="ID")
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
    compare.add_argument("--set", dest="settings", action="append", default=[], metavar="ID.PARAM=VALUE")
    compare.add_argument("-o", "--out", type=Path, metavar="OUTDIR", help="write outputs, results.csv/json/md here")
    compare.add_argument("--format", default="table", choices=("table", "csv", "json", "md"))
    _add_runtime_flags(compare)

    export = commands.add_parser("export-onnx", help="export a torch-loadable model to ONNX (dynamic height/width)")
    export.add_argument("id", metavar="ID")
    export.add_argument("-o", "--out", type=Path, required=True, metavar="FILE")

    bench = commands.add_parser("bench", help="time backends and precisions; write benchmarks/*.md and .csv")
    bench.add_argument(
        "-m",
        "--model",
        dest="models",
        action="append",
        metavar="ID",
        help="default: realesr-animevideov3-x4 and realesrgan-x4plus",
    )
    bench.add_argument("--sizes", default="128,256,512", help="input sides in px")
    bench.add_argument("--repeat", type=int, default=3)
    bench.add_argument("--out", type=Path, default=Path("benchmarks"), metavar="DIR")
    bench.add_argument("--resume", action="store_true", help="keep cells already in DIR/neural-cpu.csv")
    bench.add_argument("--tiled-side", type=int, default=2048, metavar="PX", help="side of the tiled memory run")
    return parser


def _add_runtime_flags(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--backend",
        choices=("ncnn", "torch", "onnx"),
        help="run models that offer this form on it (default: each model's fastest here)",
    )
    command.add_argument(
        "--precision",
        choices=("auto", "fp32", "bf16", "fp16"),
        help="precision for neural models (auto: bf16 on CPUs with it, fp16 on GPUs)",
    )


def parse_sets(items: Sequence[str], registry: Registry) -> dict[str, dict[str, Any]]:
    """`ID.param=value` strings -> {ID: {param: value}}; values are checked when the model loads."""
    result: dict[str, dict[str, Any]] = {}
    for item in items:
        target, sep, value = item.partition("=")
        model_id, dot, param = target.rpartition(".")
        if not sep or not dot or not model_id or not param:
            raise UsageError(f"--set expects ID.PARAM=VALUE, got '{item}'")
        registry.get(model_id)
        result.setdefault(model_id, {})[param] = value
    return result


def cmd_models(args: argparse.Namespace, settings: Settings, registry: Registry) -> int:
    from studio.models.loader import model_state
    from studio.models.weights.store import WeightStore

    store = WeightStore(settings)
    rows = []
    for spec in registry.by_task(args.task):
        state = model_state(spec, store)
        rows.append(
            {
                "id": spec.id,
                "name": spec.name,
                "task": spec.task,
                "scale": spec.scale,
                "backend": spec.backend,
                "source": spec.source.describe(),
                "state": state.label,
                "reason": state.reason,
                "license": spec.license,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    headers = ["id", "task", "scale", "backend", "source", "state"]
    table_rows = [
        [
            r["id"],
            r["task"],
            f"x{r['scale']}",
            r["backend"],
            r["source"],
            f"{r['state']}: {r['reason']}" if r["reason"] else r["state"],
        ]
        for r in rows
    ]
    print(format_table(headers, table_rows))
    return 0


def cmd_fetch(args: argparse.Namespace, settings: Settings, registry: Registry) -> int:
    from studio.models.weights.store import WeightStore

    store = WeightStore(settings)
    ids = list(args.ids) + [s.id for s in registry if args.backend and s.backend == args.backend]
    if not ids:
        raise UsageError("name models to fetch, or --backend BACKEND")
    failed = 0
    for model_id in ids:
        spec = registry.get(model_id)
        try:
            path = store.resolve(spec)
        except StudioError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"{model_id}: {path if path else 'built in, nothing to fetch'}")
    return 1 if failed else 0


def cmd_lock(args: argparse.Namespace, settings: Settings, registry: Registry) -> int:
    from studio.models.weights.lock import lock_registry

    target = args.file or settings.registry_files[-1]
    changes = lock_registry(Path(target), settings)
    for change in changes:
        print(f"{change.model_id}: {change.pinned_to} sha256 {change.sha256}")
    print(f"{len(changes)} entr{'y' if len(changes) == 1 else 'ies'} pinned in {target}")
    return 0


def _progress_printer(enabled: bool):
    def report(fraction: float, message: str) -> None:
        print(f"\r[{fraction * 100:5.1f}%] {message:<60}", end="" if fraction < 1 else "\n", file=sys.stderr)

    return report if enabled else None


def cmd_enhance(args: argparse.Namespace, settings: Settings, registry: Registry) -> int:
    from studio.core.media import decode
    from studio.engine.compare import run
    from studio.engine.export import write_outputs
    from studio.engine.request import CompareRequest
    from studio.models.loader import Loader

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
    image = decode(args.input, settings.max_pixels)
    results = run(request, image, registry, Loader(settings))
    written = write_outputs(results, args.out, args.format, prefix=f"{args.input.stem}_")
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
            print(f"error: {row.error}", file=sys.stderr)
        rows.append(record)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(
            format_table(
                ["model", "output size", "latency ms", "file"],
                [
                    [
                        r["model"],
                        f"{r['width']}x{r['height']}" if r["error"] is None else "failed",
                        r.get("latency_ms", ""),
                        r.get("output", r["error"]),
                    ]
                    for r in rows
                ],
            )
        )
    return 0 if all(row.ok for row in results.rows) else 1


def cmd_compare(args: argparse.Namespace, settings: Settings, registry: Registry) -> int:
    from studio.core.media import decode
    from studio.engine.compare import run
    from studio.engine.export import results_frame, results_json, results_markdown, write_run
    from studio.engine.request import CompareRequest
    from studio.models.loader import Loader

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
    image = decode(args.input, settings.max_pixels)
    reference = decode(args.reference, settings.max_pixels) if args.reference else None
    results = run(
        request, image, registry, Loader(settings), reference, on_progress=_progress_printer(sys.stderr.isatty())
    )
    for row in results.rows:
        if not row.ok:
            print(f"error: {row.error}", file=sys.stderr)
    for metric_id, reason in results.unavailable.items():
        print(f"note: metric '{metric_id}' unavailable: {reason}", file=sys.stderr)
    if results.preview_note:
        print(f"note: {results.preview_note} (--preview 0 for full size)", file=sys.stderr)
    frame = results_frame(results)
    if args.out:
        write_run(results, args.out, "png", prefix=f"{args.input.stem}_")
        (args.out / "results.md").write_text(results_markdown(results) + "\n", encoding="utf-8")
    if args.format == "csv":
        print(frame.to_csv(index=False), end="")
    elif args.format == "json":
        print(results_json(results))
    elif args.format == "md":
        print(results_markdown(results))
    else:
        shown = frame.drop(columns=[c for c in ("device", "notes") if c in frame.columns]).astype(object).fillna("-")
        print(shown.to_string(index=False))
    return 0 if all(row.ok for row in results.rows) else 1


def cmd_export_onnx(args: argparse.Namespace, settings: Settings, registry: Registry) -> int:
    from studio.models.convert.ncnn_to_torch import export_onnx
    from studio.models.loader import Loader

    spec = registry.get(args.id)
    if "torch" not in spec.forms:
        raise UsageError(f"'{spec.id}' has no PyTorch form to export (it runs on {', '.join(spec.forms)})")
    enhancer = Loader(settings).load(spec, backend="torch", precision="fp32")
    path = export_onnx(enhancer.network, args.out)
    print(f"{spec.id}: wrote {path} ({path.stat().st_size / 2**20:.1f} MB)")
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings, registry: Registry) -> int:
    from studio.engine.bench import run_benchmark

    sizes = [int(part) for part in args.sizes.split(",") if part.strip()]
    models = args.models or ["realesr-animevideov3-x4", "realesrgan-x4plus"]
    for model_id in models:
        registry.get(model_id)
    table = run_benchmark(models, sizes, args.repeat, registry, settings, args.out, args.resume, args.tiled_side)
    print(table)
    return 0


COMMANDS = {
    "models": cmd_models,
    "fetch": cmd_fetch,
    "lock": cmd_lock,
    "enhance": cmd_enhance,
    "compare": cmd_compare,
    "export-onnx": cmd_export_onnx,
    "bench": cmd_bench,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(registry=args.registry)
        registry = load_registry(settings)
        return COMMANDS[args.command](args, settings, registry)
    except StudioError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
