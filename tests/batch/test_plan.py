"""The plan of cells and the dataset listing: pure and file-listing rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.batch.dataset import check_output_names, ground_truths, load_dataset
from studio.batch.plan import Cell, by_image, pending, plan_cells
from studio.core.errors import UsageError


def test_cells_are_every_image_with_every_model_image_by_image():
    cells = plan_cells(["a.png", "b.png"], ["m1", "m2"])
    assert cells == [Cell("a.png", "m1"), Cell("a.png", "m2"), Cell("b.png", "m1"), Cell("b.png", "m2")]
    left = pending(cells, {("a.png", "m1"), ("b.png", "m2")})
    assert left == [Cell("a.png", "m2"), Cell("b.png", "m1")]
    assert by_image(left) == [("a.png", ["m2"]), ("b.png", ["m1"])]
    assert by_image(cells) == [("a.png", ["m1", "m2"]), ("b.png", ["m1", "m2"])]
    assert pending(cells, {cell.key for cell in cells}) == []


def test_a_folder_lists_its_images_by_name_not_recursively(tmp_path):
    for name in ("b.JPG", "a.png", "c.tiff", ".hidden.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.png").write_bytes(b"x")
    dataset = load_dataset(tmp_path)
    assert dataset.kind == "folder"
    assert dataset.keys == ["a.png", "b.JPG", "c.tiff"]
    assert dataset.images["a.png"] == tmp_path / "a.png"


def test_a_list_file_names_paths_relative_to_itself(tmp_path):
    (tmp_path / "lists").mkdir()
    listing = tmp_path / "lists" / "set.txt"
    listing.write_text("# a comment\n\n  ../img/a.png \nb.png\n/abs/c.png\n", encoding="utf-8")
    dataset = load_dataset(listing)
    assert dataset.kind == "list"
    assert dataset.keys == ["../img/a.png", "b.png", "/abs/c.png"]
    assert dataset.images["../img/a.png"] == tmp_path / "lists" / "../img/a.png"
    assert dataset.images["/abs/c.png"] == Path("/abs/c.png")


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda root: root / "missing", "no such dataset: {root}/missing (give a folder"),
        (lambda root: (root / "empty").mkdir() or root / "empty", "no images in {root}/empty (looked for"),
        (lambda root: _text(root / "l.txt", "# only\n\n"), "{root}/l.txt lists no images"),
        (lambda root: _text(root / "l.txt", "a.png\na.png\n"), "{root}/l.txt line 2 lists 'a.png' a second time"),
        (lambda root: _text(root / "one.png", "x"), "{root}/one.png is an image: give a folder"),
        (lambda root: _bytes(root / "l.bin", b"\xff\xfe\x00"), "{root}/l.bin is not a text file listing"),
    ],
)
def test_bad_datasets_are_refused_in_one_line(tmp_path, setup, message):
    with pytest.raises(UsageError) as caught:
        load_dataset(setup(tmp_path))
    assert str(caught.value).startswith(message.format(root=tmp_path))
    assert "\n" not in str(caught.value)


def test_ground_truths_take_the_same_file_name_and_stems_must_differ_to_save(tmp_path):
    listing = _text(tmp_path / "l.txt", "x/a.png\ny/a.jpg\n")
    dataset = load_dataset(listing)
    gt = tmp_path / "gt"
    gt.mkdir()
    assert ground_truths(dataset, gt) == {"x/a.png": gt / "a.png", "y/a.jpg": gt / "a.jpg"}
    with pytest.raises(UsageError, match="--pairs expects a folder"):
        ground_truths(dataset, tmp_path / "nope")
    with pytest.raises(UsageError, match=r"'x/a.png' and 'y/a.jpg' would both be saved as a.png"):
        check_output_names(dataset)


def _text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_the_batch_projection_is_the_arithmetic_it_states():
    """benchmarks/batch.md: 10 models (the measured ones repeated), pools of pool_shape(cores, 10), slowest ends."""
    from studio.batch.bench import projection

    row = projection({"a": 1.0, "b": 3.0}, nodes=4, cpus_per_node=2, overhead_s=2.0)
    # cores 8 -> 1 actor per model with 0.8 of a CPU; work 100 x (5 x 1 + 5 x 3) = 2000 core-s
    assert row["actors per model"] == 1 and row["work (core-s)"] == 2000
    assert row["ideal (s)"] == 2000 / 8 + 2.0
    assert row["with per-model pools (s)"] == 100 * 3 / 0.8 + 2.0
    assert row["cells/min (pools)"] == round(60 * 1000 / (375 + 2.0))
