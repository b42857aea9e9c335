"""The local engine: this process runs the cells, image by image, through `compare.iterate`.

Each image is decoded (and its ground truth read) once and run with the models it still needs
in one request, so the degradation and the preview are made once per image, exactly as
`studio compare` makes them; `iterate` yields after every model, so each cell is emitted
(and journalled by the caller) the moment it finishes. An image that cannot be read or
prepared fails the cells it had left, and the run goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from studio.batch.job import BatchJob, CellOutcome, Emit
from studio.batch.plan import Cell, by_image
from studio.batch.records import cell_record, failed_record
from studio.core.errors import MediaError, StudioError

if TYPE_CHECKING:
    from studio.core.media import DecodedImage
    from studio.models.loader import Loader
    from studio.models.registry import Registry


class LocalRunner:
    """Runs cells in this process with the shared registry and loader (models load once, stay cached)."""

    name = "local"

    def __init__(self, registry: Registry, loader: Loader) -> None:
        self.registry, self.loader = registry, loader

    def run(self, job: BatchJob, cells: Sequence[Cell], emit: Emit) -> None:
        for image, models in by_image(cells):
            self._run_image(job, image, models, emit)

    def _run_image(self, job: BatchJob, image: str, models: list[str], emit: Emit) -> None:
        from studio.engine.compare import iterate

        left = list(models)
        metric_ids = job.request.metric_ids
        try:
            decoded, reference, reference_name = self._read(job, image)
            request = replace(job.request, model_ids=tuple(models))
            seen = 0
            for results in iterate(
                request,
                decoded,
                self.registry,
                self.loader,
                reference,
                source=image,
                reference_source=reference_name,
            ):
                for row in results.rows[seen:]:
                    left.remove(row.model_id)
                    emit(CellOutcome(cell_record(image, row, results, metric_ids), row.output))
                seen = len(results.rows)
            return
        except StudioError as exc:
            error = str(exc)
        except Exception as exc:  # one image's unexpected failure must not sink the run
            detail = str(exc).splitlines()[0] if str(exc) else ""
            error = f"unexpected {type(exc).__name__}: {detail}"
        for model in left:
            emit(CellOutcome(failed_record(image, model, error, metric_ids)))

    @staticmethod
    def _read(job: BatchJob, image: str) -> tuple[DecodedImage, DecodedImage | None, str | None]:
        """The image and its ground truth (with --pairs); a missing or unreadable file is a MediaError."""
        from studio.core.media import decode

        decoded = decode(job.images[image], job.max_pixels)
        if job.references is None:
            return decoded, None, None
        truth = job.references[image]
        if not truth.is_file():
            raise MediaError(f"no ground truth for '{image}': {truth} does not exist")
        try:
            reference = decode(truth, job.max_pixels)
        except MediaError as exc:
            raise MediaError(f"ground truth {truth}: {exc}") from None
        return decoded, reference, truth.name
