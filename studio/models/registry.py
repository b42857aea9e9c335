"""model_registry.yaml -> frozen ModelSpec objects, with lookup and did-you-mean.

A user registry (STUDIO_REGISTRY or --registry) is merged over the built-in one:
an entry with an existing id replaces it, a new id is added.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from studio.core.config import Settings
from studio.core.errors import RegistryError, UnknownModelError
from studio.models.options import OPTIONS_BY_BACKEND
from studio.models.schema import ModelSpec


class Registry:
    """An ordered, read-only collection of ModelSpec keyed by id."""

    def __init__(self, specs: Iterable[ModelSpec]):
        self._specs: dict[str, ModelSpec] = {}
        for spec in specs:
            self._specs[spec.id] = spec

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._specs

    def ids(self) -> list[str]:
        return list(self._specs)

    def get(self, model_id: str) -> ModelSpec:
        """The spec for `model_id`; an unknown id raises with the closest known ids."""
        try:
            return self._specs[model_id]
        except KeyError:
            close = difflib.get_close_matches(model_id, self._specs, n=3, cutoff=0.5)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise UnknownModelError(f"unknown model '{model_id}'{hint} (see `studio models`)") from None

    def by_task(self, task: str | None = None) -> list[ModelSpec]:
        return [s for s in self if task is None or s.task == task]


def _entry_label(entry: Any, index: int) -> str:
    if isinstance(entry, dict) and isinstance(entry.get("id"), str):
        return f"model '{entry['id']}'"
    return f"entry #{index + 1}"


def _known_fields(entry: Any, loc: tuple) -> list[str]:
    """The fields allowed where an unknown one was found (entry level or its backend's options)."""
    if len(loc) == 1:
        return list(ModelSpec.model_fields)
    if len(loc) == 2 and loc[0] == "options" and isinstance(entry, dict):
        kind = OPTIONS_BY_BACKEND.get(str(entry.get("backend")))
        return list(kind.model_fields) if kind else []
    return []


def _format_validation(error: ValidationError, entry: Any = None) -> str:
    """The first problem as "field 'a.b': what is wrong" (an entry-wide check names no field)."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field"
        close = difflib.get_close_matches(str(first["loc"][-1]), _known_fields(entry, first["loc"]), n=1, cutoff=0.6)
        if close:
            message += f" (did you mean '{close[0]}'?)"
    return f"field '{field}': {message}" if field else message


def parse_registry_file(path: Path) -> list[ModelSpec]:
    """Validate one registry file; any problem raises RegistryError naming entry and field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(f"registry file not found: {path}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise RegistryError(f"{path}: not valid YAML{where}") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise RegistryError(f"{path}: expected a mapping with a 'models' list")
    unknown_top = set(data) - {"models", "version"}
    if unknown_top:
        raise RegistryError(f"{path}: unknown top-level field(s): {', '.join(sorted(unknown_top))}")

    specs: list[ModelSpec] = []
    seen: set[str] = set()
    for index, entry in enumerate(data["models"]):
        label = _entry_label(entry, index)
        try:
            spec = ModelSpec.model_validate(entry, context={"base_dir": path.parent})
        except ValidationError as exc:
            raise RegistryError(f"{path.name}: {label}: {_format_validation(exc, entry)}") from None
        if spec.id in seen:
            raise RegistryError(f"{path.name}: {label}: duplicate id")
        seen.add(spec.id)
        specs.append(spec)
    return specs


def load_registry(settings: Settings | None = None) -> Registry:
    """The built-in registry with every user registry merged over it, in order."""
    settings = settings or Settings.from_env()
    merged: dict[str, ModelSpec] = {}
    for path in settings.registry_files:
        for spec in parse_registry_file(path):
            merged[spec.id] = spec
    return Registry(merged.values())
