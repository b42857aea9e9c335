"""Where a video run writes: the file the user named, one file per model, partial files until the end.

`OUT.mp4` is what was asked for: the comparison when a layout is chosen, else the enhanced clip when
there is one model. Each model's own clip is `OUT-<model id>.mp4` (with one model and no layout, that
is `OUT.mp4` itself). Files are written under hidden partial names and renamed only when the run ends,
so a cancelled, failed or interrupted run leaves nothing half-written behind.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from studio.core.errors import UsageError
from studio.core.files import writable_folder

COMPARISON = ""  # the key of the comparison file among the per-model keys


@dataclass
class OutputPlan:
    finals: dict[str, Path]  # model id (or COMPARISON) -> final path
    written: set[str] = field(default_factory=set)

    def final(self, key: str) -> Path:
        return self.finals[key]

    def partial(self, key: str) -> Path:
        """The hidden file written while the run goes on (the same folder, so the rename is atomic)."""
        path = self.finals[key]
        self.written.add(key)
        return path.with_name(f".{path.name}.{os.getpid()}.partial")

    def commit(self, key: str) -> None:
        os.replace(self.partial(key), self.finals[key])

    def discard(self) -> None:
        for key in self.written:
            with contextlib.suppress(FileNotFoundError):
                self.partial(key).unlink()


def plan_outputs(output: Path, model_ids: list[str], layout: str | None, source: Path | None = None) -> OutputPlan:
    """The final paths for these models (see the module notes); the folder is checked before any work.

    A final path that is the source itself is refused: the run would replace the clip it reads.
    """
    if output.suffix.lower() != ".mp4":
        raise UsageError(f"the output must be an .mp4 file, got '{output.name}'")
    writable_folder(output.parent)
    finals: dict[str, Path] = {}
    if layout:
        finals[COMPARISON] = output
    for model_id in model_ids:
        alone = len(model_ids) == 1 and not layout
        finals[model_id] = output if alone else output.with_name(f"{output.stem}-{model_id}.mp4")
    if source is not None and source.exists():
        for path in finals.values():
            if path.exists() and path.resolve() == source.resolve():
                raise UsageError(f"the output {path} is the input video itself: choose another output name")
    return OutputPlan(finals)
