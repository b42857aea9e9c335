"""The run's models, each loaded once through the process's loader and cache, or its row with the error."""

from __future__ import annotations

from dataclasses import dataclass

from studio.core.errors import StudioError
from studio.engine.enhance import choose_tile
from studio.engine.request import CompareRequest
from studio.models.backends.base import Enhancer
from studio.models.loader import Loader
from studio.models.registry import Registry
from studio.video.results import VideoRow


@dataclass
class LoadedModel:
    """A model ready for frames: its row (filled as frames pass), the enhancer, its tile and overlap."""

    row: VideoRow
    enhancer: Enhancer
    tile: int | None
    overlap: int


def fetch_models(request: CompareRequest, registry: Registry, loader: Loader) -> dict[str, str]:
    """Download the weights the run needs that are not here (before the compute slot is taken: engine/slot.py);
    model id -> why its weights could not be had, for load_models to report in its row."""
    failed: dict[str, str] = {}
    for model_id in request.model_ids:
        try:
            loader.fetch_weights(registry.get(model_id))
        except StudioError as exc:
            failed[model_id] = str(exc)
    return failed


def load_models(
    request: CompareRequest, registry: Registry, loader: Loader, failed: dict[str, str] | None = None
) -> list[LoadedModel | VideoRow]:
    """Each requested model loaded once (through the shared cache), or its row with the error (`failed`: the
    errors fetch_models met, kept rather than met again)."""
    loaded: list[LoadedModel | VideoRow] = []
    for model_id in request.model_ids:
        row = VideoRow(model_id=model_id)
        try:
            spec = registry.get(model_id)
            row.name, row.scale = spec.name, spec.scale
            if failed and model_id in failed:
                row.error = failed[model_id]
                loaded.append(row)
                continue
            params = dict(request.params.get(model_id) or spec.resolve_params())
            backend = request.backend if request.backend in spec.forms else None
            enhancer = loader.load(spec, params, backend, request.precision, request.device)
            info = enhancer.info
            row.backend, row.device, row.precision, row.scale = info.backend, info.device, info.precision, info.scale
            row.device_name = info.device_name
            tile = choose_tile(enhancer, loader.settings, request.tile)
            loaded.append(LoadedModel(row, enhancer, tile, spec.tile_overlap))
        except StudioError as exc:
            row.error = str(exc)
            loaded.append(row)
    return loaded
