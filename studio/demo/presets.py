"""Presets: one click picks models suited to a kind of job, by rules over the registry (task, scale,
style words, measured speed), preferring models that run now. Pure functions of plain values.

The Compare tab's preset buttons and examples use them, and so does `studio demo build`, which must pick
exactly the models an example's click picks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from studio.models.schema import ModelSpec
from studio.models.weights.store import CACHED, NOT_DOWNLOADED, READY

PRESET_SIZE = 6  # models a preset picks at most (MAX_MODELS is 8): a run of seconds to a minute on a CPU
PRESET_MINIMUM = 2  # a comparison needs two: below this many runnable picks, a preset adds models that download
NAMED_DOWNLOADS = 3  # a preset's note names at most this many of the models it left out because they download
FAST_SECONDS = 1.0  # "fast on CPU": predicted time for this image (512 px square when none) on this machine
ANIME_WORDS = ("anime", "illustration")


# Each preset is a rule over the registry (task, scale, the entry's own words, measured speed), so new entries
# join without editing this table.
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
BY_LABEL = {preset.label: preset for preset in PRESETS}


def counted(count: int, noun: str) -> str:
    """'1 model', '9 models': the labels count in words a user reads."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def is_anime(spec: ModelSpec) -> bool:
    words = f"{spec.id} {spec.name} {spec.description}".lower()
    return any(word in words for word in ANIME_WORDS)


def family(model_id: str) -> str:
    """Variants of one network share a family: 'realcugan-se-x2-denoise1' -> 'realcugan-se'."""
    return re.sub(r"-x\d+.*$", "", model_id)


def _matches(preset: Preset, spec: ModelSpec) -> bool:
    if spec.task != preset.task or (preset.scale is not None and spec.scale != preset.scale):
        return False
    if preset.style is None or spec.backend == "classical":  # classical filters: the baselines of every style
        return True
    return is_anime(spec) == (preset.style == "anime")


def preset_models(
    preset: Preset,
    specs: Sequence[ModelSpec],
    states: dict[str, str],
    seconds: Callable[[str], float | None],
) -> tuple[list[str], str]:
    """The models a preset picks and a line saying what it picked and left out.

    One model per family (variants of a network are alternatives, not competitors), at most
    PRESET_SIZE, from the models that run now (weights ready or cached). Models that download on
    first use are added only while fewer than PRESET_MINIMUM runnable ones fit: a download may fail
    (offline, a firewall) and a preset should not fill a run with failures; the note names those left
    out. `specs` are the choosable models in registry order; `seconds` predicts one model's time on
    the current input (the speed book), for "fast" presets, which keep only models measured fast
    here (and classical filters) and never download.
    """
    matching = [spec for spec in specs if _matches(preset, spec)]
    here = [spec for spec in matching if states.get(spec.id) in (READY, CACHED)]
    later = [spec for spec in matching if states.get(spec.id) == NOT_DOWNLOADED]
    notes = []
    if preset.fast:
        timed = [(seconds(spec.id), spec) for spec in here]
        quick = [(time or 0.0, spec) for time, spec in timed if time is None and spec.backend == "classical"]
        quick += [(time, spec) for time, spec in timed if time is not None and time <= FAST_SECONDS]
        here = [spec for _, spec in sorted(quick, key=lambda pair: pair[0])]
        unmeasured = sum(1 for time, spec in timed if time is None and spec.backend != "classical")
        if unmeasured:
            notes.append(f"{unmeasured} not measured here yet (run them once to include them)")
        later = []
    runnable = list(_one_per_family(here).values())[:PRESET_SIZE]
    families = _one_per_family(runnable)
    waiting = [spec for name, spec in _one_per_family(later).items() if name not in families]
    added = waiting[: max(0, PRESET_MINIMUM - len(runnable))]
    chosen = [*runnable, *added]
    if added:
        notes.append(f"{len(added)} download{'s' if len(added) > 1 else ''} on first use")
    if left := waiting[len(added) :]:
        notes.append(_left_out_note(left))
    line = f"**{preset.label}**: {counted(len(chosen), 'model')}, {preset.about}"
    return [spec.id for spec in chosen], line + (f"; {'; '.join(notes)}." if notes else ".")


def _left_out_note(left: Sequence[ModelSpec]) -> str:
    """'4 more models not downloaded yet (A, B, C, ...): pick them to fetch on first use' (a few named)."""
    names = ", ".join(spec.name for spec in left[:NAMED_DOWNLOADS]) + (", ..." if len(left) > NAMED_DOWNLOADS else "")
    them = "it" if len(left) == 1 else "them"
    return f"{counted(len(left), 'more model')} not downloaded yet ({names}): pick {them} to fetch on first use"


def _one_per_family(specs: Sequence[ModelSpec]) -> dict[str, ModelSpec]:
    """The first model of each family, in order."""
    picked: dict[str, ModelSpec] = {}
    for spec in specs:
        picked.setdefault(family(spec.id), spec)
    return picked
