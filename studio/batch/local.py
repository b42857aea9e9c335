"""The local engine: this process runs the cells, image by image, through `compare.iterate`.

Each image is decoded (and its ground truth read) once and run with the models it still needs
in one request, so the degradation and the preview are made once per image, exactly as
`studio compare` makes them; `iterate` yields after every model, so each cell is emitted
(and journalled by the caller) the moment it finishes. An image that cannot be read or
prepared fails the cells it had left, and the run goes on. The Ray runner's workers call
`run_image` too, one model at a time, so both engines make the same records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from studio.batch.inputs import ImageInputs, decode_inputs, read_inputs
from studio.batch.job import BatchJob, CellOutcome, Emit
from studio.batch.plan import Cell, by_image
from studio.batch.records import cell_record, failed_record
from studio.core.errors import StudioError

if TYPE_CHECKING:
    from studio.models.loader import Loader
    from studio.models.registry import Registry


class LocalRunner:
    """Runs cells in this process with the shared registry and loader (models load once, stay cached)."""

    name = "local"

    def __init__(self, registry: Registry, loader: Loader) -> None:
        self.registry, self.loader = registry, loader
        self.cluster: dict[str, object] = {}  # nothing beyond this process (and run.json's machine)

    def prepare(self) -> None:
        """Nothing to start: models load on first use."""

    def run(self, job: BatchJob, cells: Sequence[Cell], emit: Emit) -> None:
        for image, models in by_image(cells):
            run_image(job, image, models, self.registry, self.loader, emit)


def failure_text(exc: BaseException) -> str:
    """A cell's error column: our own errors as they are, anything else named by its type, one line."""
    if isinstance(exc, StudioError):
        return str(exc)
    detail = str(exc).splitlines()[0] if str(exc) else ""
    return f"unexpected {type(exc).__name__}: {detail}"


def run_image(
    job: BatchJob,
    image: str,
    models: Sequence[str],
    registry: Registry,
    loader: Loader,
    emit: Emit,
    inputs: ImageInputs | None = None,
) -> None:
    """Run `models` on one image (read from the dataset unless `inputs` are given) and emit every cell."""
    from studio.engine.compare import iterate

    left = list(models)
    metric_ids = job.request.metric_ids
    try:
        inputs = inputs or read_inputs(job, image)
        decoded, reference = decode_inputs(inputs, job.max_pixels)
        request = replace(job.request, model_ids=tuple(models))
        seen = 0
        for results in iterate(
            request,
            decoded,
            registry,
            loader,
            reference,
            source=image,
            reference_source=inputs.reference_name,
        ):
            for row in results.rows[seen:]:
                left.remove(row.model_id)
                emit(CellOutcome(cell_record(image, row, results, metric_ids), row.output))
            seen = len(results.rows)
        return
    except Exception as exc:  # one image's failure (ours or unexpected) must not sink the run
        error = failure_text(exc)
    for model in left:
        emit(CellOutcome(failed_record(image, model, error, metric_ids)))
