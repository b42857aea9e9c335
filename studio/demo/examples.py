"""The example images, the models each one's click picks, and the key of its precomputed results.

The Compare tab and `studio demo build` both plan the examples here, with the same rule and the same
states, so the page finds exactly the entry the build made: an entry is fresh while its key (the registry
files, the image, the chosen models, the request, the tool version, the cache format) is unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from studio.core.config import PROJECT_DIR, Settings
from studio.core.errors import UsageError
from studio.demo.presets import BY_LABEL, preset_models
from studio.engine.provenance import tool_info
from studio.engine.request import CompareRequest
from studio.metrics import DEFAULT_WITHOUT_REFERENCE
from studio.models.loader import fetch_problem, model_state
from studio.models.weights.store import NOT_DOWNLOADED, UNAVAILABLE
from studio.services import Services

ASSETS_DIR = PROJECT_DIR / "assets"  # a clone's; an installed wheel has none, and then no examples
# Each example: an image of assets/ and the preset that suits it (clicking one loads both), in the page's order.
EXAMPLES = {
    "astronaut-lowres.jpg": "photo x4",
    "anime-frame.png": "anime x2",
    "text-motion-blurred.png": "deblur",
    "coffee-noisy.png": "denoise",
}
DEMO_PREVIEW = 512  # the Compare form's default preview long side: what a Run of the clicked example uses
FORMAT_VERSION = 1  # of the cache's files: raise it when cache.py or build.py write something else


@dataclass(frozen=True)
class PlannedExample:
    """One example as this process would run it: its image, preset, models, request and cache key."""

    name: str  # the file name in assets/
    path: Path
    preset: str
    models: tuple[str, ...]
    request: CompareRequest | None  # None when its preset picks no model here
    key: str

    @property
    def folder_name(self) -> str:
        """Its folder under STUDIO_DATA_DIR/demo: the image's stem and the key, so a new key is a new folder."""
        return f"{Path(self.name).stem}-{self.key[:16]}"


def run_states(services: Services, states: dict[str, str]) -> dict[str, str]:
    """The weight states, with 'not downloaded' made 'unavailable: why' where nothing can fetch them now."""
    result = dict(states)
    for spec in services.registry:
        if states.get(spec.id) == NOT_DOWNLOADED:
            problem = fetch_problem(spec, services.settings)
            if problem:
                result[spec.id] = f"{UNAVAILABLE}: {problem}"
    return result


def current_states(services: Services) -> dict[str, str]:
    """What the Compare tab's lists are built from: each model's state here, without network access."""
    return run_states(services, {spec.id: str(model_state(spec, services.loader.store)) for spec in services.registry})


def registry_digest(settings: Settings) -> str:
    """sha256 over every registry file this process merged (built-in, trained, user), name and bytes, in order."""
    digest = hashlib.sha256()
    for path in settings.registry_files:
        digest.update(path.name.encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError as exc:
            raise UsageError(f"cannot read the registry file {path}: {exc.strerror or exc}") from None
        digest.update(b"\0")
    return digest.hexdigest()


def demo_request(services: Services, models: Iterable[str]) -> CompareRequest:
    """The request a Run of the clicked example makes from the form's defaults: its models, the default metrics
    without a reference, the default preview, automatic backend, precision and device, default parameters."""
    return CompareRequest.build(
        services.registry, list(models), metrics=list(DEFAULT_WITHOUT_REFERENCE), preview=DEMO_PREVIEW
    )


def entry_key(registry: str, image: bytes, request: CompareRequest | None) -> str:
    """The content hash an entry is stored under: anything that changes the results changes it."""
    payload = {
        "format": FORMAT_VERSION,
        "tool": tool_info()["version"],
        "registry": registry,
        "image": hashlib.sha256(image).hexdigest(),
        "request": request.to_dict() if request is not None else None,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def plan_examples(
    services: Services, states: dict[str, str], names: Iterable[str] | None = None, folder: Path = ASSETS_DIR
) -> list[PlannedExample]:
    """The examples whose image is in `folder` (all of EXAMPLES, or `names`), each with the models its preset
    picks from `states` (the Compare tab's run states) and its key. An unknown name is a UsageError."""
    wanted = list(EXAMPLES) if names is None else list(dict.fromkeys(names))
    unknown = [name for name in wanted if name not in EXAMPLES]
    if unknown:
        raise UsageError(f"unknown example '{unknown[0]}' (the examples: {', '.join(EXAMPLES)})")
    registry = registry_digest(services.settings)
    specs = list(services.registry)
    planned = []
    for name in wanted:
        path = folder / name
        try:
            image = path.read_bytes()
        except FileNotFoundError:
            continue  # an installed wheel, or a trimmed clone: that example is left out
        except OSError as exc:
            raise UsageError(f"cannot read the example {path}: {exc.strerror or exc}") from None
        models, _ = preset_models(BY_LABEL[EXAMPLES[name]], specs, states, lambda _: None)
        request = demo_request(services, models) if models else None
        key = entry_key(registry, image, request)
        planned.append(PlannedExample(name, path, EXAMPLES[name], tuple(models), request, key))
    return planned
