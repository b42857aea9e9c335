"""`studio models`, `fetch` and `lock`: what the registry holds, getting its weights, pinning them.

These never import a runtime (torch, ncnn, ...): listing must stay well under a second.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.cli.common import add_command, report_error
from studio.cli.tables import format_table
from studio.core.errors import StudioError, UsageError
from studio.core.vocabulary import BACKENDS, TASKS

if TYPE_CHECKING:
    from studio.services import Services


def register(commands: argparse._SubParsersAction) -> None:
    """Add the catalogue commands to the root parser."""
    models = add_command(commands, "models", cmd_models, "list the models and whether they can run here")
    models.add_argument("--json", action="store_true", help="print JSON instead of a table")
    models.add_argument("--task", choices=TASKS, help="only models for this task")

    fetch = add_command(commands, "fetch", cmd_fetch, "download and verify models' weights")
    fetch.add_argument("ids", nargs="*", metavar="ID")
    fetch.add_argument("--backend", choices=BACKENDS, help="fetch every model of this backend (e.g. ncnn)")

    lock = add_command(commands, "lock", cmd_lock, "pin Hub models to commits and record sha256 (network)")
    lock.add_argument("--file", type=Path, help="registry file to rewrite (default: the user or built-in one)")


def model_rows(services: Services, task: str | None) -> list[dict[str, Any]]:
    """One record per model with its weight state, read without network access (the JSON of `models --json`)."""
    from studio.models.loader import model_state

    rows = []
    for spec in services.registry.by_task(task):
        state = model_state(spec, services.loader.store)
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
    return rows


def cmd_models(args: argparse.Namespace, services: Services) -> int:
    """Print the catalogue as a table or JSON, so a user sees what can run here before running it."""
    rows = model_rows(services, args.task)
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


def cmd_fetch(args: argparse.Namespace, services: Services) -> int:
    """Download and verify weights ahead of a run; one failure is reported and the others still fetch (exit 1)."""
    registry = services.registry
    ids = list(args.ids) + [s.id for s in registry if args.backend and s.backend == args.backend]
    if not ids:
        raise UsageError("name models to fetch, or --backend BACKEND")
    failed = 0
    for model_id in ids:
        spec = registry.get(model_id)
        try:
            path = services.loader.store.resolve(spec)
        except StudioError as exc:
            report_error(str(exc))
            failed += 1
            continue
        print(f"{model_id}: {path if path else 'built in, nothing to fetch'}")
    return 1 if failed else 0


def cmd_lock(args: argparse.Namespace, services: Services) -> int:
    """Pin the last registry file given (or --file) so later downloads are reproducible and verified."""
    from studio.models.weights.lock import lock_registry

    target = args.file or services.settings.registry_files[-1]
    changes = lock_registry(Path(target), services.settings)
    for change in changes:
        print(f"{change.model_id}: {change.pinned_to} sha256 {change.sha256}")
    print(f"{len(changes)} entr{'y' if len(changes) == 1 else 'ies'} pinned in {target}")
    return 0
