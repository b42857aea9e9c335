"""The `options` of a registry entry: one typed schema per backend, unknown fields refused.

Options are fixed facts about how an entry runs (blob names, padding rules, the
operator's fixed arguments); tunable values are `params`, and the runtime choices
(precision, device) are passed to the loader, never written here. A misspelt
option is a registry error naming the file, the entry and the field, so nothing
falls back to a silent default. Every list of allowed words comes from
studio/core/vocabulary.py.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from studio.core.vocabulary import (
    CONVERT_ARCHITECTURES,
    FORMS,
    MACHINE_CLASSES,
    OPENCV_DNN_ALGORITHMS,
    PAD_MODES,
    PSF_KINDS,
    RESIDUALS,
    RESIZE_METHODS,
)

DEFAULT_TILE_OVERLAP = 16  # px of context around each tile, where an entry names none

ResizeMethod = Literal[RESIZE_METHODS]
PsfKind = Literal[PSF_KINDS]
PadMode = Literal[PAD_MODES]
Residual = Literal[RESIDUALS]
ConvertArchitecture = Literal[CONVERT_ARCHITECTURES]
OpenCVDnnAlgorithm = Literal[OPENCV_DNN_ALGORITHMS]


class Options(BaseModel):
    """What every backend's options share: `fastest`, the form to run by default per machine class.

    Whether the named form exists for the entry is checked by ModelSpec (it depends on
    the entry's backend and `convert`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    fastest: dict[str, str] = {}

    @field_validator("fastest", mode="before")
    @classmethod
    def _machine_classes(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError(
                f"options.fastest maps a machine class ({', '.join(MACHINE_CLASSES)}) to a form ({', '.join(FORMS)})"
            )
        for machine in value:
            if machine not in MACHINE_CLASSES:
                raise ValueError(f"unknown machine class '{machine}' (use {', '.join(MACHINE_CLASSES)})")
        return value


class ClassicalOptions(Options):
    """Fixed arguments of a classical operator; the rest of its arguments are the entry's params."""

    method: ResizeMethod | None = None  # resize: the OpenCV interpolation
    psf: PsfKind | None = None  # deconvolution: the kernel's shape
    sigma: float | None = Field(default=None, gt=0)  # Gaussian PSF sigma (px)
    length: float | None = Field(default=None, ge=1)  # motion PSF length (px)
    angle: float | None = None  # motion PSF angle (degrees)

    def operator_kwargs(self) -> dict[str, Any]:
        """The arguments this entry fixes, by name (unset ones are left to params)."""
        return self.model_dump(exclude_none=True, exclude={"fastest"})


class NeuralOptions(Options):
    """Options every network backend shares."""

    tile_overlap: int = Field(default=DEFAULT_TILE_OVERLAP, ge=0)  # px of context around each tile


class NcnnOptions(NeuralOptions):
    """How the reference ncnn programs feed a network (see studio/models/backends/ncnn.py)."""

    input: str = "data"  # input blob name
    output: str = "output"  # output blob name
    prepadding: int = Field(default=0, ge=0)  # border the network consumes (valid convolutions)
    multiple: int = Field(default=1, ge=1)  # the unpadded input is padded up to a multiple of this
    min_size: int = Field(default=1, ge=1)  # smallest input side the network accepts
    pad_mode: PadMode = "edge"
    residual: Residual | None = None  # added to the network's output
    pro: bool = False  # Real-CUGAN pro value range (0.7x + 0.15)
    tileable: bool = True  # False where global pooling makes tiles change the output
    vulkan: bool = True  # False keeps this network off a Vulkan GPU
    convert: ConvertArchitecture | None = None  # the architecture the ncnn weights convert onto (torch, onnx)


class OpenCVDnnOptions(NeuralOptions):
    algorithm: OpenCVDnnAlgorithm  # the cv2.dnn_superres model name


class OnnxOptions(NeuralOptions):
    tile_multiple: int = Field(default=1, ge=1)  # input sides must be a multiple of this
    min_size: int = Field(default=1, ge=1)
    tileable: bool = True


class TorchOptions(NeuralOptions):
    """Size rules come from the network (spandrel); `tileable: false` forbids tiling it. `architecture` names a
    network family whose memory was measured (engine/footprint.ACTIVATION_BYTES), as our trained entries do:
    without it a run is budgeted as the heaviest network measured."""

    tileable: bool = True
    architecture: str | None = None


OPTIONS_BY_BACKEND: dict[str, type[Options]] = {
    "classical": ClassicalOptions,
    "ncnn": NcnnOptions,
    "opencv-dnn": OpenCVDnnOptions,
    "onnx": OnnxOptions,
    "torch": TorchOptions,
}


def options_for_form(options: Options, form: str) -> Options:
    """The options a converted form (torch or ONNX from ncnn weights) runs with.

    Whether tiles change the output (global pooling) is a property of the network, so it
    carries over to both; sizes are the converted network's own business.
    """
    kind = OPTIONS_BY_BACKEND[form]
    if isinstance(options, kind):
        return options
    carried: dict[str, Any] = {"tile_overlap": getattr(options, "tile_overlap", DEFAULT_TILE_OVERLAP)}
    if "tileable" in kind.model_fields:
        carried["tileable"] = getattr(options, "tileable", True)
    return kind.model_validate(carried)
