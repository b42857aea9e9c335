"""`studio ratings prepare`: run models on a folder of images once and store them as one rating round.

Every image goes through the same engine as `studio compare`; every rater then
judges the same stored outputs. Bad input is refused before anything runs or
is stored (exit 2); a model that fails on one image is reported and the rest
are stored (exit 1).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.cli.common import parse_sets, progress_printer, report_error
from studio.core.errors import MediaError, UsageError
from studio.core.vocabulary import IMAGE_SUFFIXES

if TYPE_CHECKING:
    from studio.core.media import DecodedImage
    from studio.services import Services

MIN_MODELS = 2  # a battle needs two outputs of the same item
MAX_ROUND_NAME = 200  # the rounds.name column


def _image_files(folder: Path) -> list[Path]:
    """The images directly in `folder`, by name; hidden files skipped."""
    if not folder.exists():
        raise UsageError(f"no such folder: {folder}")
    if not folder.is_dir():
        raise UsageError(f"--images expects a folder, got a file: {folder}")
    files = sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")
    )
    if not files:
        raise UsageError(f"no images in {folder} (looked for {', '.join(IMAGE_SUFFIXES)})")
    return files


def _decode(path: Path, max_pixels: int) -> DecodedImage:
    """Decode one image of the folder; its error names the file."""
    from studio.core.media import decode

    try:
        return decode(path, max_pixels)
    except MediaError as exc:
        raise type(exc)(f"{path.name}: {exc}") from None


def _round_task(task: str | None, model_ids: tuple[str, ...], services: Services) -> str | None:
    if task:
        return task
    tasks = {services.registry.get(model_id).task for model_id in model_ids}
    return tasks.pop() if len(tasks) == 1 else None


def _round_name(name: str | None, folder: Path) -> str:
    name = (name if name is not None else f"{folder.resolve().name}-{date.today().isoformat()}").strip()
    if not name:
        raise UsageError("--name must not be empty")
    if len(name) > MAX_ROUND_NAME:
        raise UsageError(f"--name is at most {MAX_ROUND_NAME} characters, got {len(name)}")
    return name


def _check_same_round(existing: dict[str, Any], task: str | None, recipe: str | None, models: Sequence[str]) -> None:
    """An existing round may grow by more images, never change what its items mean."""
    mine = {"task": task or "-", "recipe": recipe or "-", "models": ", ".join(sorted(models))}
    theirs = {
        "task": existing["task"] or "-",
        "recipe": existing["recipe"] or "-",
        "models": ", ".join(sorted(existing["models"])),
    }
    differ = [key for key in mine if mine[key] != theirs[key]]
    if differ:
        was = "; ".join(f"{key} {theirs[key]}" for key in differ)
        raise UsageError(f"round '{existing['name']}' already exists with {was}: choose another --name")


def cmd_prepare(args: argparse.Namespace, services: Services) -> int:
    """Run the models on every image once and store the results, so every rater judges the same outputs."""
    from studio.engine.compare import run as run_comparison
    from studio.engine.export import rating_item
    from studio.engine.request import CompareRequest
    from studio.ratings.store_items import add_item, create_round, find_round

    registry = services.registry
    model_ids = list(dict.fromkeys(args.models))
    if len(model_ids) < MIN_MODELS:
        raise UsageError(f"a rating round needs at least {MIN_MODELS} different models (-m ID -m ID)")
    request = CompareRequest.build(
        registry,
        model_ids,
        metrics=args.metrics,
        degrade=args.degrade,
        preview=args.preview,
        backend=args.backend,
        precision=args.precision,
        device=args.device,
        params=parse_sets(args.settings, registry),
        max_models=None,
    )
    name = _round_name(args.name, args.images)
    task = _round_task(args.task, request.model_ids, services)
    files = _image_files(args.images)
    max_pixels = services.settings.max_pixels
    for path in files:  # every image readable before anything runs or is stored
        _decode(path, max_pixels)

    db = services.ratings
    recipe = request.recipe.to_text() if request.recipe else None
    existing = find_round(db, name)
    if existing is not None:  # adding images to a round is fine; mixing settings in one round is not
        _check_same_round(existing, task, recipe, request.model_ids)
        print(f"round '{name}' exists with these settings: adding to it")
    round_id = create_round(db, name, task, list(request.model_ids), recipe)
    progress = progress_printer(sys.stderr.isatty())
    items: set[str] = set()
    outputs = failures = 0
    unavailable: dict[str, str] = {}
    for path in files:
        results = run_comparison(request, _decode(path, max_pixels), registry, services.loader, on_progress=progress)
        unavailable.update(results.unavailable)
        failed = [row for row in results.rows if not row.ok]
        for row in failed:
            report_error(f"{path.name}: {row.model_id}: {row.error}")
        failures += len(failed)
        width, height = results.input.size
        ok = len(results.rows) - len(failed)
        if not ok:
            print(f"{path.name}: {width}x{height}, every model failed: not stored")
            continue
        input_png, images, metrics = rating_item(results)
        item_id = add_item(db, input_png, images, task, path.name, round_id, metrics)
        items.add(item_id)
        outputs += ok
        print(f"{path.name}: {width}x{height}, {ok}/{len(results.rows)} outputs, item {item_id}")
    for metric_id, reason in unavailable.items():
        print(f"note: metric '{metric_id}' unavailable: {reason}", file=sys.stderr)
    print(
        f"round '{name}': {len(items)} items, {outputs} outputs, {failures} failures "
        f"(task {task or '-'}, recipe {recipe or '-'}, models {', '.join(request.model_ids)})"
    )
    return 1 if failures else 0
