"""The "Estimate blur" action of the Model parameters area: measure the uploaded image's blur
(studio.core.blur_estimate), show the kernel and the numbers, and fill the chosen deconvolution models'
parameters, in the params state the run reads and in their visible controls.

The estimate is made on the image the run will see (the preview limit applied), so the lengths fit the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr
import numpy as np

from studio.core.blur_estimate import NOISE_TARGET, BlurEstimate, estimate_blur
from studio.core.config import Settings
from studio.core.errors import StudioError
from studio.core.media import decode
from studio.core.resize import limit_long_side
from studio.core.vocabulary import PSF_KINDS
from studio.engine.request import preview_side
from studio.models.options import ClassicalOptions
from studio.models.schema import ModelSpec, ParamSpec

FILLED = ("sigma", "length", "angle", "balance")  # the deconvolution parameters an estimate sets
KERNEL_SIDE = 160  # px: a kernel is enlarged (nearest neighbour) to about this size
KIND_WORDS = {"motion": "motion", "gaussian": "Gaussian"}


def psf_kind(spec: ModelSpec) -> str | None:
    """'motion' or 'gaussian' for a deconvolution entry whose kernel shape is a parameter; else None."""
    options = spec.options
    if not isinstance(options, ClassicalOptions) or options.psf not in PSF_KINDS:
        return None
    return options.psf if any(name in spec.params for name in FILLED[:3]) else None


def snapped(param: ParamSpec, value: float) -> float | int:
    """`value` as its slider can hold it: inside [min, max], on the step grid counted from min."""
    low = param.min if param.min is not None else value
    high = param.max if param.max is not None else value
    value = min(max(value, low), high)
    if param.step:
        value = min(low + round((value - low) / param.step) * param.step, high)
    value = round(value, 10)  # 0.0001 + 6 * 0.001 is 0.006100000000000001
    return round(value) if param.type == "int" else value


def filled_values(specs: Sequence[ModelSpec], estimate: BlurEstimate) -> dict[str, dict[str, float | int]]:
    """{model id: {parameter: value}} for each deconvolution entry, from the estimate of its PSF kind."""
    values: dict[str, dict[str, float | int]] = {}
    for spec in specs:
        kind = psf_kind(spec)
        if kind is None:
            continue
        wanted = estimate.params(kind)
        values[spec.id] = {name: snapped(spec.params[name], wanted[name]) for name in wanted if name in spec.params}
    return values


def kernel_picture(kernels: Sequence[np.ndarray]) -> np.ndarray:
    """The kernels side by side, each scaled to its peak and enlarged without smoothing, as an RGB image."""
    pictures = []
    for kernel in kernels:
        zoom = max(1, KERNEL_SIDE // max(kernel.shape))
        picture = np.kron((kernel / kernel.max() * 255).astype(np.uint8), np.ones((zoom, zoom), np.uint8))
        pictures.append(picture)
    height = max(p.shape[0] for p in pictures)
    gap = np.full((height, 12), 255, np.uint8)  # white: the kernels sit on black
    padded = []
    for picture in pictures:
        top = (height - picture.shape[0]) // 2
        padded += [np.pad(picture, ((top, height - picture.shape[0] - top), (0, 0))), gap]
    canvas = np.concatenate(padded[:-1], axis=1)
    return np.repeat(canvas[..., None], 3, axis=2)


def summary(estimate: BlurEstimate, kinds: Sequence[str], values: dict, names: dict[str, str], note: str) -> str:
    """The numbers, what they were measured on, and what was filled, as Markdown."""
    shapes = {
        "gaussian": f"Gaussian **sigma {estimate.sigma:.2f} px** (edge widths)",
        "motion": f"motion **{estimate.length:g} px at {estimate.angle:g}°** (cepstrum)",
    }
    found = [*(shapes[kind] for kind in kinds), f"noise {estimate.noise:.2f} grey levels"]
    filled = [
        f"- {names[model_id]}: {', '.join(f'{name} {value:g}' for name, value in settings.items())}"
        for model_id, settings in values.items()
    ]
    return "\n\n".join(
        [
            f"Estimated on {note}: " + " · ".join(found) + ".",
            "\n".join(filled),
            f"Angles turn counter-clockwise from horizontal; the balance keeps the noise under {NOISE_TARGET:g} grey "
            "levels after deconvolution.",
        ]
    )


def estimate_for(
    specs: Sequence[ModelSpec],
    max_pixels: int | None,
    path: str | None,
    preview_on: bool = False,
    preview: float | None = None,
) -> tuple[BlurEstimate, dict[str, dict[str, float | int]], str]:
    """Decode the upload, limit it as the run will, estimate: (estimate, values per model, where it was measured)."""
    if not path:
        raise gr.Error("Upload an image first: the blur is estimated from it.")
    try:
        side = preview_side(preview) if preview_on else None
        rgb = decode(path, max_pixels or Settings.max_pixels).rgb
        limited = limit_long_side(rgb, side) if side else rgb
        motion_lengths = [s.params["length"].max for s in specs if psf_kind(s) == "motion" and "length" in s.params]
        estimate = estimate_blur(limited, max_length=max(filter(None, motion_lengths), default=60.0))
    except StudioError as exc:
        raise gr.Error(str(exc)) from None
    width, height = estimate.size
    note = f"{width}x{height}"
    if limited.shape != rgb.shape:
        note += f" (the run's preview of the {rgb.shape[1]}x{rgb.shape[0]} upload)"
    return estimate, filled_values(specs, estimate), note


@dataclass(frozen=True, eq=False)
class EstimateArea:
    """The button, the kernel and the numbers, for the deconvolution entries `specs` (inside the parameter render)."""

    specs: tuple[ModelSpec, ...]
    kinds: tuple[str, ...]  # the PSF kinds among specs, in PSF_KINDS order
    button: gr.Button
    kernel: gr.Image
    numbers: gr.Markdown

    def wire(
        self,
        controls: dict[tuple[str, str], Any],
        params_state: gr.State,
        upload: gr.File,
        max_pixels: int | None,
        preview_inputs: Sequence[Any] = (),
    ) -> None:
        """Click: estimate, then fill `params_state` and the controls drawn for the specs' parameters.

        `controls` maps (model id, parameter) to its control; `preview_inputs` are the preview checkbox and slider
        (the run's size limit), or nothing to estimate at full size.
        """
        ids = {spec.id for spec in self.specs}
        targets = [key for key in controls if key[0] in ids and key[1] in FILLED]
        names = {spec.id: spec.name for spec in self.specs}

        def on_estimate(path, current, *preview_values) -> list[Any]:
            estimate, values, note = estimate_for(self.specs, max_pixels, path, *preview_values)
            state = dict(current or {})
            for model_id, filled in values.items():
                state[model_id] = {**state.get(model_id, {}), **filled}
            picture = kernel_picture([estimate.kernel(kind) for kind in self.kinds])
            filled = [values.get(model_id, {}).get(name) for model_id, name in targets]
            updates = [gr.skip() if value is None else gr.update(value=value) for value in filled]
            shown = gr.update(value=picture, visible=True)
            return [state, shown, summary(estimate, self.kinds, values, names, note), *updates]

        self.button.click(
            on_estimate,
            [upload, params_state, *preview_inputs],
            [params_state, self.kernel, self.numbers, *(controls[key] for key in targets)],
            api_name="estimate_blur",
        )


def build_estimate(specs: Sequence[ModelSpec]) -> EstimateArea:
    """Lay out the estimate for the deconvolution entries `specs`; wire it once their controls exist.

    Unkeyed: a new choice of models starts a fresh box (the values it filled stay in the controls and the state).
    """
    kinds = tuple(kind for kind in PSF_KINDS if any(psf_kind(spec) == kind for spec in specs))
    # A small button beside its text (not a grey block the height of the kernel); the kernel appears once estimated.
    with gr.Column(elem_id="blur-estimate-box"):
        with gr.Row(equal_height=False):
            button = gr.Button(
                "Estimate blur", variant="secondary", size="sm", scale=0, min_width=130, elem_id="estimate-blur"
            )
            numbers = gr.Markdown(
                f"Measures the upload's {' and '.join(KIND_WORDS[k] for k in kinds)} blur and fills "
                f"{', '.join(spec.name for spec in specs)}.",
                elem_id="blur-estimate",
            )
        kernel = gr.Image(
            label=f"Estimated kernel ({', '.join(KIND_WORDS[kind] for kind in kinds)})",
            interactive=False,
            visible=False,
            height=KERNEL_SIDE + 40,
            format="png",
            elem_id="blur-kernel",
        )
    return EstimateArea(tuple(specs), kinds, button, kernel, numbers)
