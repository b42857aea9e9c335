"""The validation curve of a training run: a CSV and a PNG line plot (drawn with Pillow, no plotting library)."""

from __future__ import annotations

import csv
from pathlib import Path

from PIL import Image, ImageDraw

from studio.training.loop import Curve

FIELDS = ("step", "loss", "psnr", "ssim", "seconds")
WIDTH, HEIGHT, MARGIN = 720, 420, 56
COLOURS = {"psnr": (31, 119, 180), "ssim": (214, 39, 40)}
LEAST_SPAN = {"psnr": 0.2, "ssim": 0.002}  # dB, SSIM: the smallest axis span, read to its printed decimals


def write_csv(curve: Curve, path: Path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        for row in curve.rows:
            writer.writerow({key: f"{row[key]:.6g}" for key in FIELDS})


def _dashed(draw: ImageDraw.ImageDraw, y: float, left: int, right: int, colour: tuple[int, int, int]) -> None:
    for x in range(left, right, 12):
        draw.line((x, y, min(x + 6, right), y), fill=colour, width=1)


def _axis_range(values: list[float], least: float) -> tuple[float, float]:
    """The values with 8 % to spare, spanning at least `least` (a flat curve's ticks would all read the same)."""
    low, high = min(values), max(values)
    pad = max((high - low) * 0.08, (least - (high - low)) / 2)
    return low - pad, high + pad


def write_png(curve: Curve, path: Path, title: str, psnr_label: str) -> None:
    """PSNR (left axis, blue) and SSIM (right axis, red) against the step from 0, with a dashed line at the PSNR
    doing nothing scores (curve.floor), which the PSNR axis always includes."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    left, right, top, bottom = MARGIN, WIDTH - MARGIN, 48, HEIGHT - 44
    draw.rectangle((left, top, right, bottom), outline=(120, 120, 120))
    draw.text((left, 10), title, fill="black")
    rows = curve.rows
    if not rows:
        draw.text((left + 10, top + 10), "no validation yet", fill="black")
        image.save(path)
        return
    last_step = max(row["step"] for row in rows) or 1
    for key, side in (("psnr", left), ("ssim", right)):
        values = [row[key] for row in rows]
        if key == "psnr" and curve.floor is not None:
            values.append(curve.floor[1])
        low, high = _axis_range(values, LEAST_SPAN[key])
        points = [
            (left + (right - left) * row["step"] / last_step, bottom - (bottom - top) * (row[key] - low) / (high - low))
            for row in rows
        ]
        colour = COLOURS[key]
        if key == "psnr" and curve.floor is not None:
            name, level = curve.floor
            y = bottom - (bottom - top) * (level - low) / (high - low)
            _dashed(draw, y, left, right, (110, 110, 110))
            label = f"{name}: {level:.2f} dB"  # at the right end: the first points sit on the line's left
            draw.text((right - 6 - draw.textlength(label), y - 14), label, fill=(90, 90, 90))
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for x, y in points:
            draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=colour)
        label = psnr_label if key == "psnr" else "SSIM"
        fmt = "{:.2f}" if key == "psnr" else "{:.4f}"
        anchor_x = side - 50 if key == "psnr" else side + 4
        draw.text((anchor_x, top - 24), label, fill=colour)
        for fraction in (0.0, 0.5, 1.0):
            value = low + (high - low) * fraction
            y = bottom - (bottom - top) * fraction
            draw.text((anchor_x, y - 6), fmt.format(value), fill=colour)
    for fraction in (0.0, 0.5, 1.0):
        x = left + (right - left) * fraction
        draw.text((x - 10, bottom + 6), f"{round(last_step * fraction)}", fill="black")
    draw.text(((left + right) // 2 - 14, bottom + 22), "step", fill="black")
    image.save(path)
