"""Our trained networks on real photos (no reference): `studio compare` on Debian opencv-doc's blurred and noisy
pictures, beside the classical filters, scored with NIQE and BRISQUE; writes benchmarks/trained-real.md and the
README's picture docs/trained-real.jpg.

    .venv/bin/python benchmarks/trained_real.py OPENCV_DOC_DATA_DIR

OPENCV_DOC_DATA_DIR is usr/share/doc/opencv-doc/examples/data of the unpacked package (`apt-get download
opencv-doc && dpkg -x opencv-doc_*.deb root`). The photos are read from there and never committed. It runs the
studio's own command line, as a user would, so the weights mirror and offline settings come from the environment.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
CASES = (  # photo, what is wrong with it, our model, the classical models beside it, crop (top, left, side)
    ("text_defocus.jpg", "out of focus (real)", "studio-dmcnn-deblur",
     ("richardson-lucy-gaussian", "wiener-gaussian", "unsharp-mask"), (150, 200, 200)),
    ("licenseplate_motion.jpg", "motion blur (real)", "studio-dmcnn-deblur",
     ("richardson-lucy-motion", "wiener-motion", "unsharp-mask"), (190, 230, 200)),
    ("text_motion.jpg", "motion blur, about 32 px (real)", "studio-dmcnn-deblur",
     ("richardson-lucy-motion", "wiener-motion", "unsharp-mask"), (100, 150, 200)),
    ("vtest.avi", "surveillance camera noise (real, frame 100)", "studio-dncnn-denoise",
     ("nl-means", "bilateral"), (250, 330, 200)),
    ("butterfly.jpg", "x2 upscale of a real photo", "studio-espcn-x2", ("bicubic-x2", "lanczos-x2"), (130, 170, 100)),
    ("butterfly.jpg", "x4 upscale of a real photo", "studio-espcn-x4", ("bicubic-x4", "lanczos-x4"), (70, 200, 50)),
)  # fmt: skip
METRICS = ("niqe", "brisque")
TILE = 200  # px of each picture in the montage


def _input(data: Path, name: str, scratch: Path) -> Path:
    """The photo, or frame 100 of a clip saved as PNG."""
    if not name.endswith(".avi"):
        return data / name
    capture = cv2.VideoCapture(str(data / name))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 100)
    ok, frame = capture.read()
    if not ok:
        raise SystemExit(f"cannot read a frame of {data / name}")
    path = scratch / (Path(name).stem + "-frame100.png")
    cv2.imwrite(str(path), frame)
    return path


def _compare(photo: Path, models: tuple[str, ...], out: Path) -> dict:
    command = [sys.executable, "-m", "studio", "compare", str(photo), "--metrics", ",".join(METRICS)]
    command += ["--preview", "0", "-o", str(out), "--format", "json"]
    for model in models:
        command += ["-m", model]
    subprocess.run(command, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    return json.loads((out / "results.json").read_text())


def _label(image: np.ndarray, text: str) -> np.ndarray:
    image = cv2.resize(image, (TILE, TILE), interpolation=cv2.INTER_NEAREST)
    bar = np.full((22, TILE, 3), 255, np.uint8)
    cv2.putText(bar, text[:30], (4, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([bar, image])


def main(data: Path) -> None:
    rows, strips = [], []
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        for index, (name, what, ours, classical, (top, left, side)) in enumerate(CASES):
            photo = _input(data, name, scratch)
            out = scratch / f"case{index}"
            result = _compare(photo, (ours, *classical), out)
            stem = photo.stem
            input_image = cv2.imread(str(out / f"{stem}_input.png"))
            tiles = [_label(input_image[top : top + side, left : left + side], f"{photo.name}: input")]
            scale = 1
            for row in result["rows"]:
                scores = {m: row.get(f"{m.upper()} ↓") for m in METRICS}
                if row is result["rows"][0] and row["scale"] == 1 and not row.get("error"):
                    # at scale 1 the "vs input" baseline is the input itself: its own score is score - delta
                    floor = {m: scores[m] - row[f"{m.upper()} Δ vs input"] for m in METRICS}
                    rows.append((photo.name, what, "(the input)", "", floor))
                rows.append((photo.name, what, row["model"], row.get("error") or "", scores))
                if row.get("error"):
                    continue
                scale = row["scale"]
                output = cv2.imread(str(out / f"{stem}_{row['model']}.png"))
                crop = output[top * scale : (top + side) * scale, left * scale : (left + side) * scale]
                tiles.append(_label(crop, row["model"]))
            strips.append(np.hstack(tiles + [np.full_like(tiles[0], 255)] * (5 - len(tiles))))
    montage = np.vstack(strips)
    cv2.imwrite(str(REPO / "docs" / "trained-real.jpg"), montage, [cv2.IMWRITE_JPEG_QUALITY, 88])
    lines = [
        "# Our trained networks on real photos",
        "",
        "Written by `benchmarks/trained_real.py` (Debian opencv-doc's pictures; no reference exists, so NIQE and",
        "BRISQUE, lower is better: how natural, not how faithful). Full size, each model's default form.",
        "Crops of each output: `docs/trained-real.jpg`.",
        "",
        "| photo | what | model | NIQE | BRISQUE |",
        "|---|---|---|---|---|",
    ]
    for photo, what, model, error, scores in rows:
        values = " | ".join(f"{scores[m]:.2f}" if scores[m] is not None else "" for m in METRICS)
        lines.append(f"| {photo} | {what} | {model}{' (failed: ' + error + ')' if error else ''} | {values} |")
    (REPO / "benchmarks" / "trained-real.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_dir():
        raise SystemExit("usage: trained_real.py OPENCV_DOC_DATA_DIR (usr/share/doc/opencv-doc/examples/data)")
    main(Path(sys.argv[1]))
