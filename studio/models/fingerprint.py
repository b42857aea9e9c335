"""What identifies this machine for speed decisions: CPU model and flags, threads, class, library versions.

Auto-tuning results are only valid where they were measured: another CPU, another thread count or another
version of ncnn, torch or ONNX Runtime can change which form is fastest. The tuning book files its decisions
under the hash of this fingerprint, so any change starts a fresh set of measurements instead of reusing stale
ones. Reading it imports nothing heavy (versions come from package metadata).
"""

from __future__ import annotations

import hashlib
import json
import platform
from functools import lru_cache
from importlib import metadata
from pathlib import Path

# CPU features that change which kernels the runtimes use (and so which form wins).
SPEED_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "avx_vnni", "neon")
# Libraries whose version changes speed: their kernels are what is measured.
SPEED_PACKAGES = ("ncnn", "torch", "onnxruntime", "opencv-contrib-python-headless", "spandrel", "numpy")


@lru_cache(maxsize=1)
def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        return ""


@lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what the platform reports."""
    for line in _cpuinfo().splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Model", "Hardware") and value.strip():
            return value.strip()
    return platform.processor() or platform.machine() or "unknown"


@lru_cache(maxsize=1)
def cpu_flags() -> tuple[str, ...]:
    """The speed-relevant flags this CPU reports (SPEED_FLAGS order)."""
    words: set[str] = set()
    for line in _cpuinfo().splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            words.update(value.split())
    return tuple(flag for flag in SPEED_FLAGS if flag in words)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def machine_fingerprint(machine_class: str, threads: int) -> dict[str, object]:
    """The facts a measured speed depends on (shown in `studio tune` and benchmarks, hashed for the book)."""
    return {
        "cpu": cpu_model(),
        "flags": list(cpu_flags()),
        "class": machine_class,
        "threads": threads,
        "versions": {package: _version(package) for package in SPEED_PACKAGES},
    }


def fingerprint_id(fingerprint: dict[str, object]) -> str:
    """A short stable id for a fingerprint (the tuning book's key)."""
    text = json.dumps(fingerprint, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
