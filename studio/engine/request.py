"""CompareRequest: what to run and how, parsed and checked once.

Every front end (CLI, web app, API; later video, arena and batch) builds one with
`CompareRequest.build` from what the user typed, so a bad value gets the same
one-line error everywhere and the engine never re-validates.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from studio.core.degrade import Recipe
from studio.core.errors import UsageError
from studio.core.vocabulary import DEVICES, FORMS, PRECISIONS
from studio.metrics import MetricSpec, get_metric, parse_metric_list
from studio.models.registry import Registry

MAX_MODELS = 8  # the result slots a page shows; the API and CLI follow the same limit
PREVIEW_RANGE = (16, 16384)  # px, long side
TILE_RANGE = (32, 4096)
MAX_REPEAT = 100
AUTO = (None, "", "auto")


def _shown(value: Any, width: int = 40) -> str:
    """`value` as a message quotes it: its repr, cut to `width` characters."""
    try:
        text = repr(value)
    except ValueError:  # an int past Python's digit limit for str()
        return "a number too long to show"
    return text if len(text) <= width else text[: width - 3] + "..."


def _whole_number(value: Any, name: str, low: int, high: int, zero_means_none: bool = False) -> int | None:
    """An int within [low, high] from an int, float or text; None / "" -> None; 0 -> None when allowed."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    shown = _shown(value)
    if isinstance(value, bool):
        raise UsageError(f"{name} must be a whole number, got {shown}")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise UsageError(f"{name} must be a whole number, got {shown}") from None
    if not math.isfinite(number) or number != int(number):
        raise UsageError(f"{name} must be a whole number, got {shown}")
    if number == 0 and zero_means_none:
        return None
    if not low <= number <= high:
        extra = " (0 = off)" if zero_means_none else ""
        raise UsageError(f"{name} must be between {low} and {high}{extra}, got {int(number)}")
    return int(number)


def preview_side(value: Any) -> int | None:
    """A preview long side as every front end reads it: whole px within PREVIEW_RANGE; 0 or empty: None (full size)."""
    return _whole_number(value, "preview", *PREVIEW_RANGE, zero_means_none=True)


def _choice(value: Any, name: str, choices: Sequence[str]) -> str | None:
    if value in AUTO:
        return None
    if value not in choices:
        raise UsageError(f"unknown {name} '{value}' (use {', '.join(choices)})")
    return str(value)


def _no_constant(name: str) -> Any:
    """json.loads hook: NaN and Infinity are not JSON, and no parameter takes them."""
    raise UsageError(f"parameters may not contain {name}: give finite numbers")


def _model_list(models: Sequence[str] | str | None, max_models: int | None) -> tuple[str, ...]:
    """The chosen ids in order, each once; more than `max_models` entries (repeats included) are refused
    before anything else is looked at, so a list of a thousand ids costs nothing."""
    if models is None:
        return ()
    if isinstance(models, str):  # one id, not its letters
        models = [models]
    if not isinstance(models, Sequence):
        raise UsageError(f"models must be a list of model ids, got {type(models).__name__}")
    if max_models is not None and len(models) > max_models:
        raise UsageError(f"pick at most {max_models} models (got {len(models)})")
    return tuple(dict.fromkeys(str(m).strip() for m in models if str(m).strip()))


def _params_mapping(params: Mapping[str, Any] | str | None) -> dict[str, dict[str, Any]]:
    if params is None or (isinstance(params, str) and not params.strip()):
        return {}
    example = '{"unsharp-mask": {"amount": 1.5}}'
    if isinstance(params, str):
        try:
            params = json.loads(params, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            raise UsageError(f"parameters are not valid JSON ({exc.msg}): give an object like {example}") from None
        except RecursionError:
            raise UsageError(f"parameters are nested too deeply: give an object like {example}") from None
    if not isinstance(params, Mapping):
        raise UsageError(f"parameters must map model ids to objects, like {example}")
    for model_id, values in params.items():
        if not isinstance(values, Mapping):
            raise UsageError(f"parameters for '{model_id}' must be an object, like {example}")
    return {str(k): dict(v) for k, v in params.items()}


@dataclass(frozen=True)
class CompareRequest:
    """A checked comparison: models with their resolved parameters, metrics, reference mode and runtime."""

    model_ids: tuple[str, ...]
    metric_ids: tuple[str, ...]
    recipe: Recipe | None = None
    with_reference: bool = False  # a ground-truth image comes with the request
    preview: int | None = 512  # long-side limit in px; None keeps full size
    tile: int | None = None  # None: automatic; 0: never tile
    backend: str | None = None  # a form for the models that offer it; None: each model's default
    precision: str | None = None  # None: auto
    device: str | None = None  # None: auto
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # resolved, per model id
    repeat: int = 1  # runs per model; latency is the median of those after the first

    @classmethod
    def build(
        cls,
        registry: Registry,
        models: Sequence[str] | str | None,
        metrics: str | Sequence[str] | None = None,  # None or "": defaults; a list: exactly these
        degrade: str | Recipe | None = None,
        with_reference: bool = False,
        preview: Any = 512,
        tile: Any = None,
        backend: str | None = None,
        precision: str | None = None,
        device: str | None = None,
        params: Mapping[str, Any] | str | None = None,
        repeat: Any = 1,
        max_models: int | None = MAX_MODELS,
    ) -> CompareRequest:
        """Parse and check every field; raise UsageError (one line) on the first problem."""
        model_ids = _model_list(models, max_models)
        if not model_ids:
            raise UsageError("pick at least one model")
        specs = [registry.get(model_id) for model_id in model_ids]
        recipe = Recipe.parse(degrade) if isinstance(degrade, str) and degrade.strip() else None
        if isinstance(degrade, Recipe):
            degrade.check()
            recipe = degrade
        if recipe is not None and with_reference:
            raise UsageError("give either a degradation recipe or a ground-truth image, not both")
        if metrics is None or isinstance(metrics, str):  # None or "" -> the defaults for this reference mode
            metric_specs = parse_metric_list(metrics, has_reference=bool(recipe) or with_reference)
        else:  # an explicit list, possibly empty
            metric_specs = [get_metric(str(metric_id)) for metric_id in metrics]
        raw_params = _params_mapping(params)
        stray = [model_id for model_id in raw_params if model_id not in model_ids]
        if stray:
            raise UsageError(f"parameters given for '{stray[0]}', which is not among the chosen models")
        resolved = {spec.id: spec.resolve_params(raw_params.get(spec.id)) for spec in specs}
        return cls(
            model_ids=model_ids,
            metric_ids=tuple(dict.fromkeys(spec.id for spec in metric_specs)),
            recipe=recipe,
            with_reference=with_reference,
            preview=preview_side(preview),
            tile=_tile(tile),
            backend=_choice(backend, "backend", FORMS),
            precision=_choice(precision, "precision", PRECISIONS),
            device=_choice(device, "device", DEVICES),
            params=resolved,
            repeat=_whole_number(repeat, "repeat", 1, MAX_REPEAT) or 1,
        )

    @property
    def metrics(self) -> list[MetricSpec]:
        return [get_metric(metric_id) for metric_id in self.metric_ids]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (stored with results so a run can be repeated)."""
        return {
            "models": list(self.model_ids),
            "metrics": list(self.metric_ids),
            "degrade": self.recipe.to_text() if self.recipe else None,
            "with_reference": self.with_reference,
            "preview": self.preview,
            "tile": self.tile,
            "backend": self.backend,
            "precision": self.precision,
            "device": self.device,
            "params": {model_id: dict(values) for model_id, values in self.params.items()},
            "repeat": self.repeat,
        }


def _tile(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if value in (0, "0", 0.0):
        return 0
    return _whole_number(value, "tile", *TILE_RANGE)
