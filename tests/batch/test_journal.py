"""The journal survives a torn write, refuses damage, and a resume must ask for the recorded run."""

from __future__ import annotations

import json

import pytest

from studio.batch.journal import Journal, check_same_settings, read_journal, write_json
from studio.batch.plan import Cell
from studio.batch.progress import ProgressMeter
from studio.core.errors import UsageError


def _record(image: str, model: str = "m") -> dict:
    return {"image": image, "model": model, "metrics": {"psnr_y": float("inf")}, "error": None}


def test_appended_cells_read_back_exactly(tmp_path):
    path = tmp_path / "cells.jsonl"
    with Journal(path) as journal:
        journal.append(_record("a.png"))
        journal.append(_record("b.png"))
    with Journal(path) as journal:  # a resumed run appends to the same file
        journal.append(_record("c.png"))
    cells = read_journal(path)
    assert list(cells) == [("a.png", "m"), ("b.png", "m"), ("c.png", "m")]
    assert cells[("a.png", "m")] == _record("a.png")  # infinity included


@pytest.mark.parametrize("torn", ['{"image": "c.png", "mod', '{"image": "c.png", "model": "m"}', "{broken"])
def test_a_torn_last_line_is_dropped_and_cut_off(tmp_path, torn):
    """A crash mid-write leaves a line without its newline (or a garbled last line): that cell runs again."""
    path = tmp_path / "cells.jsonl"
    good = json.dumps(_record("a.png")) + "\n"
    path.write_text(good + torn + ("\n" if torn == "{broken" else ""), encoding="utf-8")
    assert list(read_journal(path)) == [("a.png", "m")]
    assert path.read_text(encoding="utf-8") == good  # appends continue from a clean line
    with Journal(path) as journal:
        journal.append(_record("c.png"))
    assert list(read_journal(path)) == [("a.png", "m"), ("c.png", "m")]


def test_a_damaged_line_before_the_end_is_refused(tmp_path):
    path = tmp_path / "cells.jsonl"
    path.write_text(json.dumps(_record("a.png")) + "\nnot json\n" + json.dumps(_record("b.png")) + "\n")
    with pytest.raises(UsageError, match=r"cells.jsonl line 2 is damaged"):
        read_journal(path)


def test_a_resume_must_ask_for_the_recorded_settings(tmp_path):
    recorded = {"models": ["a", "b"], "degrade": "x2,seed=0", "params": {"a": {"k": 1.5}}, "pairs": None}
    check_same_settings(recorded, dict(recorded), tmp_path)
    with pytest.raises(UsageError) as caught:
        check_same_settings(recorded, {**recorded, "degrade": "x4,seed=0"}, tmp_path)
    assert str(caught.value) == (
        f"{tmp_path} holds a run with degrade x2,seed=0, not x4,seed=0: "
        "resume with the same settings or choose another -o"
    )
    with pytest.raises(UsageError, match="holds a run with models a,b, not a: "):
        check_same_settings(recorded, {**recorded, "models": ["a"]}, tmp_path)


def test_write_json_replaces_the_file_whole(tmp_path):
    path = tmp_path / "run.json"
    write_json(path, {"state": "running"})
    write_json(path, {"state": "finished"})
    assert json.loads(path.read_text()) == {"state": "finished"}
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_progress_counts_cells_and_estimates_the_time_left():
    ticks = iter([0.0, 1.0, 2.0, 4.0])
    seen = []
    meter = ProgressMeter(total=4, before=2, report=seen.append, clock=lambda: next(ticks))
    meter.cell_done(Cell("a.png", "m1"))
    meter.cell_done(Cell("a.png", "m2"))
    last = meter.cell_done(Cell("b.png", "m1"))
    assert [p.done for p in seen] == [1, 2, 3]
    assert last.rate == pytest.approx(0.75) and last.seconds_left == pytest.approx(1 / 0.75)
    assert last.fraction == 0.75
    assert last.text() == "cells 5/6 (2 from before) · 0.8 cells/s · about 1 s left · b.png × m1"
