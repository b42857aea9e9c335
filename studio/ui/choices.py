"""What the page and the API offer to pick, derived from the product's vocabulary (never retyped)."""

from __future__ import annotations

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


# The presets (one click picks suitable models) and the examples (an image and its preset) are in studio/demo/:
# `studio demo build` needs them too, and the CLI never imports the UI.
