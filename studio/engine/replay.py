"""Repeating a run from its results.json: what was asked, on which file, and what actually ran.

`studio compare --from results.json` reads one with `load_recorded`; the files it names
(input, ground truth) are looked for next to the JSON, since a run folder is what people
keep and share: `studio compare -o` copies them there, and the web app's zip holds them,
each byte for byte under its own name (the prepared `input.png` beside them is what the
models ran on, after preview and degradation, not the source).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.errors import UsageError

# The request fields a results.json records (CompareRequest.to_dict) and `--from` reuses.
REQUEST_FIELDS = (
    "models",
    "metrics",
    "degrade",
    "with_reference",
    "preview",
    "tile",
    "backend",
    "precision",
    "device",
    "params",
    "repeat",
)


def pixels_sha256(rgb: np.ndarray) -> str:
    """A fingerprint of decoded pixels (not file bytes: a re-saved PNG of the same pixels matches)."""
    digest = hashlib.sha256(f"{rgb.shape}:{rgb.dtype}".encode())
    digest.update(np.ascontiguousarray(rgb).tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Recorded:
    """What a results.json says about its run."""

    path: Path
    request: dict[str, Any]
    source: str | None = None
    reference_source: str | None = None
    source_sha256: str | None = None
    machine_class: str | None = None
    forms: dict[str, tuple[str, str]] = field(default_factory=dict)  # model id -> (backend, precision) as run

    def beside(self, name: str | None) -> Path | None:
        """`name` (a recorded file name) in the JSON's folder, when it is there."""
        if not name:
            return None
        candidate = self.path.parent / Path(name).name
        return candidate if candidate.is_file() else None


def load_recorded(path: Path) -> Recorded:
    """Read and check a results.json written by `studio compare -o` (or the app's download)."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"--from: {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--from: cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"--from: {path} is not JSON ({exc.msg}, line {exc.lineno})") from None
    request = payload.get("request") if isinstance(payload, dict) else None
    if not isinstance(request, dict) or not isinstance(request.get("models"), list):
        raise UsageError(f"--from: {path} records no request (not a results.json from this version of studio)")
    unknown = sorted(set(request) - set(REQUEST_FIELDS))
    if unknown:
        raise UsageError(f"--from: {path} records unknown request fields: {', '.join(unknown)}")
    rows = payload.get("rows") if isinstance(payload.get("rows"), list) else []
    forms = {
        str(row["model"]): (str(row.get("backend") or ""), str(row.get("precision") or ""))
        for row in rows
        if isinstance(row, dict) and row.get("model") and not row.get("error")
    }
    machine = payload.get("machine") if isinstance(payload.get("machine"), dict) else {}
    return Recorded(
        path=path,
        request=request,
        source=_text(payload.get("source")),
        reference_source=_text(payload.get("reference_source")),
        source_sha256=_text(payload.get("source_sha256")),
        machine_class=_text(machine.get("class")),
        forms=forms,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
