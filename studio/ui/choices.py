"""What the page and the API offer to pick, derived from the product's vocabulary (never retyped)."""

from __future__ import annotations

from dataclasses import dataclass

from studio.core.vocabulary import DEVICES, FORMS, OUTPUT_FORMATS, PRECISIONS, TASKS
from studio.metrics import METRICS

AUTO = "auto"
BACKEND_CHOICES = [AUTO, *FORMS]  # a form for the models that offer several; auto: each model's fastest
PRECISION_CHOICES = [AUTO, *(p for p in PRECISIONS if p != AUTO)]
DEVICE_CHOICES = [AUTO, *(d for d in DEVICES if d != AUTO)]  # auto: a CUDA or real Vulkan GPU if any, else CPU
FORMAT_CHOICES = list(OUTPUT_FORMATS)
METRIC_IDS = list(METRICS)
TASK_ORDER = TASKS  # one model list per task, in the vocabulary's order (tasks without models are left out)

# Reference modes of the Compare tab
NO_REFERENCE, SYNTHETIC, GROUND_TRUTH = "none", "synthetic degradation", "ground truth upload"
REFERENCE_MODES = [NO_REFERENCE, SYNTHETIC, GROUND_TRUTH]
DEGRADE_SCALES = [1, 2, 3, 4]
BLURS = ["none", "gauss", "motion"]
DEFAULT_MODELS = ("lanczos-x4", "realesr-animevideov3-x4")  # preselected super-resolution models


# Presets: one click picks suitable models across the task lists. Each is a rule over the registry
# (task, scale, the entry's own words, measured speed), so new entries join without editing this table.
@dataclass(frozen=True)
class Preset:
    label: str
    task: str
    scale: int | None = None  # None: any scale
    style: str | None = None  # "anime": networks whose id, name or description mention anime or illustrations;
    #                           "photo": the other networks (classical filters are every style's baselines)
    fast: bool = False  # only forms measured to run this image within FAST_SECONDS here (plus classical filters)
    about: str = ""


PRESETS = (
    Preset("photo x4", "super-resolution", 4, "photo", about="x4 upscalers for photos, with the classical baselines"),
    Preset("anime x2", "super-resolution", 2, "anime", about="x2 upscalers for anime and illustrations"),
    Preset("deblur", "deblur", about="deconvolution filters and deblurring networks"),
    Preset("denoise", "denoise", about="classical and neural denoisers"),
    Preset("fast on CPU", "super-resolution", 4, fast=True, about="x4 upscalers measured fast on this machine"),
)
FAST_SECONDS = 1.0  # "fast on CPU": predicted time for this image (512 px square when none) on this machine
ANIME_WORDS = ("anime", "illustration")

# Examples: an image of assets/ and the preset that suits it (clicking one loads both).
EXAMPLES = {"astronaut-lowres.jpg": "photo x4", "coffee-noisy.png": "denoise", "text-blurred.png": "deblur"}
