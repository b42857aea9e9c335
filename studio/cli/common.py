"""What several commands share: the handler signature, the model / --set / runtime flags, and the progress line."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from studio.core.errors import UsageError
from studio.core.vocabulary import DEVICES, FORMS, PRECISIONS

if TYPE_CHECKING:
    from studio.models.registry import Registry
    from studio.services import Services

# Every command is `handler(args, services) -> exit code`; main builds the Services once and dispatches.
Handler = Callable[[argparse.Namespace, "Services"], int]
Progress = Callable[[float, str], None]
BAR_WIDTH = 24


class Reported(Protocol):
    """What progress_bar draws: the share done and one line saying it (VideoProgress, BatchProgress)."""

    @property
    def fraction(self) -> float: ...

    def text(self) -> str: ...


def add_command(
    commands: argparse._SubParsersAction, name: str, handler: Handler, help: str
) -> argparse.ArgumentParser:
    """A subcommand whose parsed args carry their handler, so main dispatches without a name table."""
    command = commands.add_parser(name, help=help)
    command.set_defaults(handler=handler)
    return command


def add_model_flag(command: argparse.ArgumentParser, required: bool = True, help: str | None = None) -> None:
    """`-m/--model ID`, repeatable: the same spelling on every command that runs models."""
    command.add_argument("-m", "--model", dest="models", action="append", required=required, metavar="ID", help=help)


def add_set_flag(command: argparse.ArgumentParser) -> None:
    """`--set ID.PARAM=VALUE`, repeatable; read by `parse_sets`."""
    command.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="ID.PARAM=VALUE",
        help="a model parameter (repeatable), e.g. --set unsharp-mask.amount=1.5",
    )


def add_runtime_flags(command: argparse.ArgumentParser) -> None:
    """--backend / --precision / --device, with choices from the vocabulary so CLI, UI and request agree."""
    command.add_argument(
        "--backend",
        choices=FORMS,
        help="run models that offer this form on it (default: each model's fastest here)",
    )
    command.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="precision for neural models (auto: bf16 on CPUs with it, fp16 on GPUs; int8: the ONNX form quantized)",
    )
    command.add_argument(
        "--device",
        choices=DEVICES,
        help="where neural models run (auto: a CUDA or real Vulkan GPU when there is one, else the CPU; "
        "vulkan runs the ncnn form, cuda the torch or ONNX form)",
    )


def parse_sets(items: Sequence[str], registry: Registry) -> dict[str, dict[str, Any]]:
    """`ID.param=value` strings -> {ID: {param: value}}; values are checked when the request is built."""
    result: dict[str, dict[str, Any]] = {}
    for item in items:
        target, sep, value = item.partition("=")
        model_id, dot, param = target.rpartition(".")
        if not sep or not dot or not model_id or not param:
            raise UsageError(f"--set expects ID.PARAM=VALUE, got '{item}'")
        registry.get(model_id)
        result.setdefault(model_id, {})[param] = value
    return result


def progress_printer(enabled: bool) -> Progress | None:
    """A one-line, self-overwriting progress report on stderr; None (silent) when stderr is not a terminal."""

    def report(fraction: float, message: str) -> None:
        print(f"\r[{fraction * 100:5.1f}%] {message:<60}", end="" if fraction < 1 else "\n", file=sys.stderr)

    return report if enabled else None


def report_error(message: str) -> None:
    """The one error format: a single `error: ...` line on stderr."""
    print(f"error: {message}", file=sys.stderr)


def progress_bar(interactive: bool):
    """A bar on stderr for a long run (`video`, `batch`): redrawn in place on a terminal, a line per tenth of
    the work otherwise (logs, CI). Takes any progress with `fraction` and `text()`."""
    last_tenth = [-1]

    def report(progress: Reported) -> None:
        filled = round(progress.fraction * BAR_WIDTH)
        line = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {progress.text()}"
        if interactive:
            print(f"\r{line:<100}", end="", file=sys.stderr, flush=True)
            return
        tenth = int(progress.fraction * 10)
        if tenth > last_tenth[0]:
            last_tenth[0] = tenth
            print(line, file=sys.stderr, flush=True)

    return report


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a service manager, `kill`) ends the run like Ctrl-C: partial files removed, exit 130."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (an embedding program): leave its signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
