"""The cells of a batch run (image x model) and which remain: pure, so any runner can share it.

A cell is the unit that is run, recorded and resumed. Cells are ordered image by image, so a
runner that decodes each image once (the local one) meets every model of an image together.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

ENGINES = ("local", "ray")  # this process, or a Ray cluster (ray_runner.py)


@dataclass(frozen=True, order=True)
class Cell:
    """One model on one image; `image` is the dataset's key for it (a name or a listed path)."""

    image: str
    model: str

    @property
    def key(self) -> tuple[str, str]:
        return self.image, self.model


def plan_cells(images: Sequence[str], models: Sequence[str]) -> list[Cell]:
    """Every image with every model, image-major, in the dataset's and the request's order."""
    return [Cell(image, model) for image in images for model in models]


def pending(cells: Iterable[Cell], finished: Collection[tuple[str, str]]) -> list[Cell]:
    """The cells not yet finished (a finished cell, ok or failed, is never run again)."""
    return [cell for cell in cells if cell.key not in finished]


def by_image(cells: Iterable[Cell]) -> list[tuple[str, list[str]]]:
    """(image, its models in order) for consecutive cells of one image: one decode per image."""
    groups: list[tuple[str, list[str]]] = []
    for cell in cells:
        if groups and groups[-1][0] == cell.image:
            groups[-1][1].append(cell.model)
        else:
            groups.append((cell.image, [cell.model]))
    return groups
