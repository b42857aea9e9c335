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

from .config import Settings
from .errors import StudioError, UsageError
from .registry import Registry, load_registry
from .tables import format_table

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
    return parser


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
    from .loader import model_state
    from .weights import WeightStore

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
    from .weights import WeightStore

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
    from .lock import lock_registry

    target = args.file or settings.registry_files[-1]
    changes = lock_registry(Path(target), settings)
    for change in changes:
        print(f"{change.model_id}: revision {change.revision} sha256 {change.sha256}")
    print(f"{len(changes)} entr{'y' if len(changes) == 1 else 'ies'} pinned in {target}")
    return 0


def cmd_enhance(args: argparse.Namespace, settings: Settings, registry: Registry) -> int:
    from .enhance import enhance_all
    from .loader import Loader
    from .media import decode, encode

    params = parse_sets(args.settings, registry)
    for model_id in args.models:
        registry.get(model_id).resolve_params(params.get(model_id))  # bad input: exit 2 before any work
    image = decode(args.input, settings.max_pixels)
    args.out.mkdir(parents=True, exist_ok=True)
    outcomes = enhance_all(image, args.models, registry, Loader(settings), params)
    rows = []
    for outcome in outcomes:
        row: dict[str, Any] = {"model": outcome.model_id, "error": outcome.error}
        if outcome.ok:
            path = args.out / f"{args.input.stem}_{outcome.model_id}.{args.format}"
            path.write_bytes(encode(outcome.image, args.format))
            width, height = outcome.image.size
            row.update(
                output=str(path),
                width=width,
                height=height,
                latency_ms=round(outcome.latency_ms, 1),
                load_ms=round(outcome.load_ms, 1),
            )
        else:
            print(f"error: {outcome.error}", file=sys.stderr)
        rows.append(row)
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
    return 0 if all(o.ok for o in outcomes) else 1


COMMANDS = {"models": cmd_models, "fetch": cmd_fetch, "lock": cmd_lock, "enhance": cmd_enhance}


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
