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


def load_models(request: CompareRequest, registry: Registry, loader: Loader) -> list[LoadedModel | VideoRow]:
    """Each requested model loaded once (through the shared cache), or its row with the error."""
    loaded: list[LoadedModel | VideoRow] = []
    for model_id in request.model_ids:
        row = VideoRow(model_id=model_id)
        try:
            spec = registry.get(model_id)
            row.name, row.scale = spec.name, spec.scale
            params = dict(request.params.get(model_id) or spec.resolve_params())
            backend = request.backend if request.backend in spec.forms else None
            enhancer = loader.load(spec, params, backend, request.precision, request.device)
            info = enhancer.info
            row.backend, row.device, row.precision, row.scale = info.backend, info.device, info.precision, info.scale
            tile = choose_tile(enhancer, loader.settings, request.tile)
            loaded.append(LoadedModel(row, enhancer, tile, spec.tile_overlap))
        except StudioError as exc:
            row.error = str(exc)
            loaded.append(row)
    return loaded
