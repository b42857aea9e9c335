"""Where and with what a comparison ran: the tool's version and the machine, recorded in every export.

A number in results.json is only reproducible with these: the machine class decides the default
backend and precision, and the thread count moves every latency.
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from typing import Any

from studio.core.config import Settings
from studio.models.backends.devices import cpu_has_fast_bf16, machine_class
from studio.models.fingerprint import cpu_model

TOOL_NAME = "enhance-studio"
# Runtimes whose version changes outputs or timings; recorded only when the run imported them.
RUNTIMES = {
    "numpy": "numpy",
    "cv2": "opencv-contrib-python-headless",
    "ncnn": "ncnn",
    "torch": "torch",
    "onnxruntime": "onnxruntime",
}


def tool_info() -> dict[str, str]:
    """{"name", "version"} of the installed package ("unknown" when run from a tree that is not installed)."""
    try:
        version = metadata.version(TOOL_NAME)
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {"name": TOOL_NAME, "version": version}


def resolved_class(forced: str) -> tuple[str, str]:
    """(machine class, how it was found) without importing torch just to say so.

    Detection asks torch whether a CUDA GPU exists (seconds to import); a run of classical models
    never loads torch and does not depend on the class, so then the class comes from the CPU flags.
    """
    if forced != "auto":
        return forced, "forced (STUDIO_MACHINE_CLASS)"
    if "torch" in sys.modules:
        return machine_class(forced), "detected (CPU flags and torch)"
    return ("cpu-bf16" if cpu_has_fast_bf16() else "cpu"), "CPU flags (torch not loaded: GPU not probed)"


def machine_info(settings: Settings) -> dict[str, Any]:
    """The machine a run used: class, CPU, threads, OS, Python, and the versions of the loaded runtimes."""
    cls, how = resolved_class(settings.machine_class)
    runtimes = {}
    for module, package in RUNTIMES.items():
        if module in sys.modules:
            try:
                runtimes[module] = metadata.version(package)
            except metadata.PackageNotFoundError:
                runtimes[module] = getattr(sys.modules[module], "__version__", "unknown")
    return {
        "class": cls,
        "class_from": how,
        "cpu": cpu_model(),
        "threads": settings.threads,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "runtimes": runtimes,
    }
