"""What a runner gets (the job and the cells left) and gives back (one outcome per cell): the engine seam.

The local runner runs cells in this process; the Ray runner (ray_runner.py) ships the same job
and cells to workers. Either way the caller journals each outcome as it arrives,
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
    from studio.core.config import Settings
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
    cluster: dict[str, Any]  # where the cells ran beyond this process (run.json); empty for local

    def prepare(self) -> None:
        """Start or join what the cells run on; raises UsageError before the run folder is written."""
        ...

    def run(self, job: BatchJob, cells: Sequence[Cell], emit: Emit) -> None: ...


def runner_for(
    engine: str,
    registry: Registry,
    loader: Loader,
    make_services: Callable[[int], Any] | None = None,
    settings: Settings | None = None,
    keep_outputs: bool = False,
) -> Runner:
    """The runner for `--engine`: local (this process) or ray (`make_services` builds each worker's Services)."""
    if engine == "local":
        from studio.batch.local import LocalRunner

        return LocalRunner(registry, loader)
    if engine == "ray":
        if make_services is None or settings is None:
            raise ValueError("runner_for('ray') needs make_services and settings")  # a programming slip
        from studio.batch.ray_runner import RayRunner

        runner = RayRunner(make_services, settings.ray_address, settings.ray_cpus, keep_outputs)
        runner.check_address()  # before the run folder is made: an unreachable cluster is bad usage
        return runner
    raise UsageError(f"unknown engine '{engine}' (use local or ray)")
