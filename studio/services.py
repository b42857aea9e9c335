"""The long-lived objects one process shares: settings, registry, loader (and its cache).

app.py and the CLI build one of these; the UI receives it rather than reaching
for globals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from studio.core.config import Settings
from studio.models.loader import Loader
from studio.models.registry import Registry, load_registry


@dataclass
class Services:
    settings: Settings
    registry: Registry = field(init=False)
    loader: Loader = field(init=False)

    def __post_init__(self) -> None:
        self.registry = load_registry(self.settings)
        self.loader = Loader(self.settings)

    @classmethod
    def from_env(cls) -> Services:
        return cls(Settings.from_env())
