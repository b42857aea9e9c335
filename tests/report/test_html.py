"""`studio report` on a real batch run: one self-contained page with the table, the plot and a slider per image."""

from __future__ import annotations

import json
from html.parser import HTMLParser

from tests.batch.data import MODELS, not_an_image
from tests.cli.helpers import stderr_lines, studio
from tests.report.runs import IMAGES, make_run


class Page(HTMLParser):
    """Every src/href, and the tags by class, of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self.tags.append((tag, values))
        self.links += [values[name] for name in ("src", "href") if name in values]

    def having(self, tag: str, css: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.tags if name == tag and css in attrs.get("class", "").split()]


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    return page


def test_a_run_with_outputs_gives_one_offline_page(tmp_path):
    run_dir = make_run(tmp_path, "--save-outputs")
    out = tmp_path / "report.html"
    result = studio("report", str(run_dir), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"report of 3 images × 2 models: {out}"
    text = out.read_text(encoding="utf-8")
    page = parse(text)
    assert page.links and all(link.startswith(("data:image/jpeg;base64,", "#")) for link in page.links)
    assert "http://" not in text and "https://" not in text and "<link" not in text
    rows = [attrs["data-model"] for name, attrs in page.tags if name == "tr" and "data-model" in attrs]
    assert rows == list(MODELS)
    points = [attrs["data-model"] for attrs in page.having("g", "point")]
    assert points == list(MODELS)
    assert "PSNR-Y mean: higher is better" in text and "lower is better" in text
    assert len(page.having("div", "slider")) == len(IMAGES)
    ranges = [attrs for name, attrs in page.tags if name == "input" and attrs.get("type") == "range"]
    assert len(ranges) == len(IMAGES)
    strips = [attrs["alt"] for name, attrs in page.tags if name == "img" and attrs.get("src", "").startswith("data:")]
    assert strips == ["input (degraded: x2,seed=0)", "original (reference)", *MODELS] * len(IMAGES)
    assert "cpu" in text and "enhance-studio" in text and "x2,seed=0" in text
    assert not list(tmp_path.glob(".*partial"))


def test_a_run_without_outputs_says_so_and_still_has_table_and_plot(tmp_path):
    run_dir = make_run(tmp_path)
    result = studio("report", str(run_dir))
    assert result.returncode == 0, result.stderr
    text = (run_dir / "report.html").read_text(encoding="utf-8")
    page = parse(text)
    assert "Outputs were not saved in this run" in text
    assert page.links == [] and page.having("div", "slider") == []
    assert [attrs["data-model"] for attrs in page.having("g", "point")] == list(MODELS)


def test_a_missing_input_image_is_named_and_text_is_escaped(tmp_path):
    run_dir = make_run(tmp_path, "--save-outputs")
    (tmp_path / "ds" / "coffee.png").unlink()
    recorded = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    recorded["machine"]["cpu"] = "<script>alert(1)</script>"
    (run_dir / "run.json").write_text(json.dumps(recorded), encoding="utf-8")
    assert studio("report", str(run_dir), "-o", str(tmp_path / "r.html")).returncode == 0
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert f"input (degraded: x2,seed=0): {tmp_path / 'ds' / 'coffee.png'} cannot be read" in text
    assert len(parse(text).having("div", "slider")) == len(IMAGES)  # the two outputs still compare


def test_an_image_every_model_failed_on_shows_its_errors_and_no_slider(tmp_path):
    (tmp_path / "ds").mkdir()
    not_an_image(tmp_path / "ds" / "notes.png")
    run_dir = make_run(tmp_path, "--save-outputs", exit_code=1)
    assert studio("report", str(run_dir), "-o", str(tmp_path / "r.html")).returncode == 0
    text = (tmp_path / "r.html").read_text(encoding="utf-8")
    page = parse(text)
    sections = [attrs["id"] for attrs in page.having("section", "image")]
    assert sections == [f"image-{n}" for n in range(1, len(IMAGES) + 2)]
    failed = text[text.index('id="image-3"') : text.index('id="image-4"')]  # notes.png sorts third
    assert "<h3>notes.png</h3>" in failed and "slider" not in failed and "nothing to compare" in failed
    assert failed.count("not a supported image") == 3  # the input's note and each model's error
    assert len(page.having("div", "slider")) == len(IMAGES)
    assert [attrs["data-model"] for attrs in page.having("g", "point")] == list(MODELS)


def test_bad_run_folders_are_one_line_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "nojournal").mkdir()
    (tmp_path / "nojournal" / "run.json").write_text(json.dumps({"request": {"models": []}}), encoding="utf-8")
    (tmp_path / "nojournal" / "cells.jsonl").write_text("", encoding="utf-8")
    cases = {
        tmp_path / "missing": "no such run folder",
        empty: "holds no batch run (no run.json)",
        tmp_path / "nojournal": "has no finished cells",
    }
    for run_dir, message in cases.items():
        result = studio("report", str(run_dir), "-o", str(tmp_path / "r.html"))
        assert result.returncode == 2
        lines = stderr_lines(result)
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert not (tmp_path / "r.html").exists()
