"""What a runner gets (the job and the cells left) and gives back (one outcome per cell): the engine seam.

The local runner runs cells in this process; a Ray runner (studio/batch/ray_runner.py, later) would
ship the same job and cells to workers. Either way the caller journals each outcome as it arrives,
so resuming and the files do not depend on which engine ran.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from studio.batch.plan import Cell
from studio.core.errors import UsageError

if TYPE_CHECKING:
    from studio.core.media import DecodedImage
    from studio.engine.request import CompareRequest
    from studio.models.loader import Loader
    from studio.models.registry import Registry


@dataclass(frozen=True)
class BatchJob:
    """The checked request and where each image (and, with --pairs, its ground truth) is."""

    request: CompareRequest
    images: Mapping[str, Path]
    references: Mapping[str, Path] | None = None
    max_pixels: int = 16_000_000


@dataclass
class CellOutcome:
    """A finished cell: its journal record (records.py) and the output image, held only until saved."""

    record: dict[str, Any]
    output: DecodedImage | None = None


Emit = Callable[[CellOutcome], None]


class Runner(Protocol):
    """Runs cells and emits each outcome once, as soon as it is known; errors become outcomes, not raises."""

    name: str

    def run(self, job: BatchJob, cells: Sequence[Cell], emit: Emit) -> None: ...


def runner_for(engine: str, registry: Registry, loader: Loader) -> Runner:
    """The runner for `--engine`; only the local one exists in this version."""
    if engine == "ray":
        raise UsageError("--engine ray is not available in this version: use --engine local")
    if engine != "local":
        raise UsageError(f"unknown engine '{engine}' (use local)")
    from studio.batch.local import LocalRunner

    return LocalRunner(registry, loader)
