"""`studio tune`: auto-tune models ahead of time and measure the real-time tier (models/tuner.py, video/realtime.py)."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from studio.cli.common import add_command, add_model_flag
from studio.core.errors import UsageError

if TYPE_CHECKING:
    from studio.models.schema import ModelSpec
    from studio.services import Services


def register(commands: argparse._SubParsersAction) -> None:
    tune = add_command(
        commands, "tune", cmd_tune, "time each model's forms on this machine and keep the fastest faithful one"
    )
    add_model_flag(
        tune, required=False, help="a model to tune (repeatable; default: every model whose weights are here)"
    )
    tune.add_argument("--force", action="store_true", help="measure again even where this machine has a decision")
    tune.add_argument("--no-realtime", action="store_true", help="skip measuring the webcam models' frame rates")


def cmd_tune(args: argparse.Namespace, services: Services) -> int:
    from studio.models.loader import run_state
    from studio.models.weights.store import CACHED, READY
    from studio.video.realtime import REALTIME_FPS, measure_realtime

    loader, registry, settings = services.loader, services.registry, services.settings
    tuner = loader.tuner
    if loader.machine().kind == "cuda":
        raise UsageError(
            "studio tune times CPU forms; on a CUDA machine the GPU form runs (tune the CPU: STUDIO_MACHINE_CLASS=cpu)"
        )
    fingerprint = tuner.fingerprint
    print(
        f"machine {tuner.machine_id}: {fingerprint['cpu']} ({', '.join(fingerprint['flags']) or 'no listed flags'}), "
        f"class {fingerprint['class']}, {fingerprint['threads']} threads; decisions in {tuner.book.path}"
    )
    if not settings.autotune:
        print("note: STUDIO_AUTOTUNE=0 is set: runs ignore these decisions and use the registry's options.fastest")
    specs = [registry.get(model_id) for model_id in args.models] if args.models else None
    chosen = specs or [s for s in registry if run_state(s, loader.store).label in (READY, CACHED)]
    for spec in chosen:
        if len(tuner.candidates(spec)) < 2:
            if specs is not None:
                print(f"{spec.id}: one form only ({spec.backend}); nothing to tune")
            continue
        started = time.perf_counter()
        record = tuner.tune(spec, force=args.force)
        print(_summary(spec, record, time.perf_counter() - started))
    if not args.no_realtime:
        measured = measure_realtime(registry, loader, args.models, force=args.force)
        for model_id, (fps, now) in sorted(measured.items(), key=lambda item: -item[1][0]):
            mark = "real-time on this machine" if fps >= REALTIME_FPS else f"below {REALTIME_FPS:.0f} fps"
            before = "" if now else ", measured before (--force measures again)"
            print(f"live {model_id}: {fps:.1f} fps ({mark}{before})")
    return 0


def _summary(spec: ModelSpec, record: dict, seconds: float) -> str:
    """One block per model: each bucket's form and why, the fidelity of non-fp32 forms, failures."""
    lines = [f"{spec.id}: tuned in {record['seconds']:.1f} s of runs ({seconds:.1f} s with loading)"]
    if seconds < 0.05:
        lines[0] = f"{spec.id}: already tuned here on {record['tuned_at']} (--force measures again)"
    fidelity = record.get("fidelity_db", {})
    for bucket, decision in record["decisions"].items():
        key = decision["choice"]
        figure = fidelity.get(key)
        close = "" if figure is None else f"; {figure:.1f} dB from fp32"
        lines.append(f"  {bucket}: {key} ({decision['why']}{close})")
    for key, message in record.get("failed", {}).items():
        lines.append(f"  {key}: not a candidate here ({message})")
    if not record["decisions"]:
        lines.append(f"  no form met the fidelity floor ({record['floor_db']:g} dB): runs use {record['untuned']}")
    return "\n".join(lines)
