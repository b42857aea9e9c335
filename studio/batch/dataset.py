"""Which images a batch runs on: a folder (its images, by name) or a text file listing them.

A folder is not searched recursively: a dataset's order and names must be obvious from one
listing, and a list file names images in nested folders when that is wanted. Files are only
listed here, never read: an unreadable image is an error recorded in its own cells at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studio.core.errors import UsageError
from studio.core.vocabulary import IMAGE_SUFFIXES


@dataclass(frozen=True)
class Dataset:
    """The images of a run in order, each under its key: the file name (folder) or the line (list)."""

    source: Path
    kind: str  # "folder" or "list"
    images: dict[str, Path]

    @property
    def keys(self) -> list[str]:
        return list(self.images)

    def describe(self) -> dict[str, object]:
        """What run.json records: where the images came from and their keys in order."""
        return {"source": str(self.source.resolve()), "kind": self.kind, "images": self.keys}


def load_dataset(path: Path) -> Dataset:
    """A folder's images (PNG, JPEG, WebP, BMP, TIFF by suffix; hidden files skipped) or a list file's."""
    if not path.exists():
        raise UsageError(f"no such dataset: {path} (give a folder of images or a text file listing them)")
    if path.is_dir():
        files = sorted(
            (child for child in path.iterdir() if _is_image_name(child) and child.is_file()),
            key=lambda child: child.name,
        )
        if not files:
            raise UsageError(f"no images in {path} (looked for {', '.join(IMAGE_SUFFIXES)}; folders are not searched)")
        return Dataset(path, "folder", {child.name: child for child in files})
    if path.suffix.lower() in IMAGE_SUFFIXES:
        raise UsageError(f"{path} is an image: give a folder of images or a text file listing them")
    return Dataset(path, "list", _listed(path))


def _is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _listed(path: Path) -> dict[str, Path]:
    """Paths one per line, relative to the list file's folder; blank lines and `#` comments skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a text file listing image paths (one per line)") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    images: dict[str, Path] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        if entry in images:
            raise UsageError(f"{path} line {number} lists '{entry}' a second time")
        images[entry] = path.parent / entry
    if not images:
        raise UsageError(f"{path} lists no images (one path per line; blank lines and # comments are skipped)")
    return images


def ground_truths(dataset: Dataset, folder: Path) -> dict[str, Path]:
    """Each image's ground truth: the file of the same name in `folder` (it may be missing: a cell error)."""
    if not folder.is_dir():
        raise UsageError(f"--pairs expects a folder of ground-truth images, got {folder}")
    return {key: folder / image.name for key, image in dataset.images.items()}


def check_output_names(dataset: Dataset) -> None:
    """--save-outputs writes outputs/<model>/<stem>.png: two images with one stem would overwrite each other."""
    seen: dict[str, str] = {}
    for key in dataset.images:
        stem = Path(key).stem
        if stem in seen:
            raise UsageError(
                f"'{seen[stem]}' and '{key}' would both be saved as {stem}.png: rename one or drop --save-outputs"
            )
        seen[stem] = key
