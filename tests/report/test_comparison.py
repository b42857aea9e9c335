"""One comparison (what the Compare tab's Download report writes) as a report: the batch report's page,
self-contained, with the input, the reference, every output, the table, the plot and the recipe.

The comparisons are real: classical models run in-process through the engine, as the app's handler does.
"""

from __future__ import annotations

import base64
import io
import re
from html import escape

import numpy as np
from PIL import Image

from studio.core.media import DecodedImage
from studio.engine.compare import run
from studio.engine.request import CompareRequest
from studio.models.loader import Loader
from studio.models.registry import load_registry
from studio.report.comparison import comparison_page
from tests.report.ratings import add_outputs, open_store, vote
from tests.report.test_html import parse

MODELS = ["lanczos-x2", "bicubic-x2", "unsharp-mask"]


def compare(settings, rgb: np.ndarray, models=MODELS, **fields):
    registry = load_registry(settings)
    request = CompareRequest.build(registry, models, **fields)
    image = DecodedImage(np.ascontiguousarray(rgb), source_format="PNG")
    return run(request, image, registry, Loader(settings), source="photo <1>.png")


def decoded(uri: str) -> np.ndarray:
    assert uri.startswith("data:image/jpeg;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB"))


def test_the_report_of_a_comparison_is_one_self_contained_page(settings, photo):
    results = compare(settings, photo[:96, :128], metrics=["psnr_y", "sharpness"], degrade="x2")
    text = comparison_page(results)
    page = parse(text)
    # Nothing from elsewhere: every src/href is inline, no stylesheet link, no URL of any kind.
    assert page.links and all(link.startswith("data:image/jpeg;base64,") for link in page.links)
    assert not re.search(r"https?://", text) and "<link" not in text and "@import" not in text
    assert not [attrs for name, attrs in page.tags if name == "script" and "src" in attrs]

    assert "<title>Comparison of photo &lt;1&gt;.png</title>" in text  # escaped
    rows = [attrs["data-model"] for name, attrs in page.tags if name == "tr" and "data-model" in attrs]
    assert rows == MODELS
    assert [attrs["data-model"] for attrs in page.having("g", "point")] == MODELS
    assert "PSNR-Y: higher is better" in text and "latency ms, first run after loading" in text
    best = re.findall(r'<tr data-model="([^"]+)">(?:(?!</tr>).)*class="num best"', text)
    assert "unsharp-mask" not in best and best  # flagged (x1 against an x2 degradation): never the best
    assert "x1 output scored against a x2 degradation" in text

    # The flagged model, as the batch report shows it: marked on its row, hollow in the plot.
    assert "<td>unsharp-mask ⚑</td>" in text
    hollow = [attrs["data-model"] for attrs in page.having("g", "point") if "flagged" in attrs["class"].split()]
    assert hollow == ["unsharp-mask"] and "not comparable with the others (see the table): unsharp-mask" in text
    assert '<section id="failures">' not in text  # nothing failed

    # The slider picks any two of what the models received, the reference and the outputs, each once in the
    # strip, named as the batch report names them; it starts on the input against the first output.
    strip = [attrs for name, attrs in page.tags if name == "img" and attrs.get("src", "").startswith("data:")]
    labels = ["input (degraded: x2,seed=0)", "original (reference)", *MODELS]
    assert [attrs["alt"] for attrs in strip] == labels
    assert len(page.having("div", "slider")) == 1 and len(page.having("select", "left")) == 1
    assert '<option value="2" selected>lanczos-x2</option>' in text
    pictures = dict(zip(MODELS, [decoded(attrs["src"]) for attrs in strip[2:]], strict=True))
    assert decoded(strip[0]["src"]).shape == (48, 64, 3) and pictures["lanczos-x2"].shape == (96, 128, 3)
    assert np.abs(pictures["lanczos-x2"].astype(int) - results.rows[0].output.rgb).mean() < 3  # JPEG of the output
    assert not page.having("div", "detail")  # every picture fits a thumbnail whole: no crops

    for words in ("x2,seed=0", "psnr_y", "photo &lt;1&gt;.png", "enhance-studio", "cpu", "class_from"):
        assert words in text, words
    assert '<section id="ratings">' not in text  # no store asked for: the section is left out


def test_a_ground_truth_is_the_reference_and_failed_models_are_listed(settings, photo, monkeypatch):
    """With a ground truth the input is the upload itself; a model that fails is named with its error."""
    from studio.engine import compare as engine

    real, calls = engine.run_enhancer, {"n": 0}

    def second_fails(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the network broke")
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "run_enhancer", second_fails)
    registry = load_registry(settings)
    request = CompareRequest.build(registry, MODELS[:2], metrics=["psnr_y"], with_reference=True)
    small = DecodedImage(np.ascontiguousarray(photo[:96:2, :128:2]))
    truth = DecodedImage(np.ascontiguousarray(photo[:96, :128]))
    results = run(request, small, registry, Loader(settings), truth, source="photo.png")
    text = comparison_page(results)
    strip = [attrs["alt"] for name, attrs in parse(text).tags if name == "img" and attrs.get("alt")]
    assert strip == ["input", "ground truth (reference)", "lanczos-x2"]
    failures = text[text.index('<section id="failures">') : text.index('<section id="plot">')]
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", failures)
    assert results.rows[1].error and rows == [("photo.png", "bicubic-x2", escape(results.rows[1].error))]


def test_large_outputs_add_the_same_detailed_region_of_each_picture(settings, photo):
    results = compare(settings, photo[:200, :300], ["lanczos-x4", "bicubic-x4"], metrics=["sharpness"], preview=None)
    page = parse(comparison_page(results))
    details = page.having("div", "detail")
    assert len(details) == 1 and len(page.having("div", "slider")) == 2  # the whole pictures, then the detail
    crops = [attrs for name, attrs in page.tags if name == "img" and attrs.get("width") == "256"]
    assert [attrs["alt"] for attrs in crops] == ["input", "lanczos-x4", "bicubic-x4"]
    assert all(attrs["height"] == "256" for attrs in crops)
    text = comparison_page(results)
    region = re.search(r"The same 256x256 region of each picture \(at x (\d+), y (\d+) of the 1200x800", text)
    assert region, "the crop says where it is"
    x, y = int(region[1]), int(region[2])
    output = decoded(crops[1]["src"]).astype(int)  # lanczos-x4's crop: its own pixels at that place
    assert np.abs(output - results.rows[0].output.rgb[y : y + 256, x : x + 256]).mean() < 4
    enlarged = decoded(crops[0]["src"]).astype(int)  # the input's 64x64 region, each pixel 4x4
    assert np.abs(enlarged - np.kron(photo[y // 4 : y // 4 + 64, x // 4 : x // 4 + 64], np.ones((4, 4, 1)))).mean() < 4


def test_the_compared_models_ratings_come_from_the_store(settings, photo, tmp_path):
    db = open_store(tmp_path / "data")
    files = add_outputs(db, "photo", ("lanczos-x2", "bicubic-x2"))
    for _ in range(4):
        vote(db, files, ("lanczos-x2", "bicubic-x2"))
    results = compare(settings, photo[:96, :128], metrics=["psnr_y"], degrade="x2")
    text = comparison_page(results, lambda: db)
    section = text[text.index('<section id="ratings">') : text.index('<section id="recipe">')]
    assert "4 counted arena vote(s) between 2 of these 3 models" in section
    assert "No counted votes: unsharp-mask." in section
    ranked = re.findall(r'<tr data-model="([^"]+)">', section)
    assert ranked == ["lanczos-x2", "bicubic-x2"]
    assert "needs counted votes between at least 3" in section
