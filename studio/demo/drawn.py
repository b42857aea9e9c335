"""The drawn examples of assets/, made again pixel for pixel by `studio demo assets` (README there).

An anime-style frame (flat colours, dark outlines, drawn at twice its size and reduced, as a cel is
rendered) for the x2 anime upscalers, and a text chart with a horizontal 9 px motion blur (the PSF the
Wiener and Richardson-Lucy motion entries assume by default) for the deblurring models.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from studio.core.degrade import Recipe, degrade
from studio.core.media import encode

ANIME_FRAME = "anime-frame.png"
MOTION_TEXT = "text-motion-blurred.png"
ANIME_SIZE = (200, 150)  # width, height of the frame
TEXT_SIZE = (320, 200)
MOTION = Recipe(blur="motion", motion_length=9, motion_angle=0, noise=1.0, seed=7)  # noise: a photo's grain
OUTLINE = (28, 24, 36)  # the dark line colour (RGB)


def anime_frame() -> np.ndarray:
    """A 200x150 RGB cel: sky, a hill, a sun and a character's face with big eyes, in flat colours and outlines."""
    width, height = ANIME_SIZE[0] * 2, ANIME_SIZE[1] * 2
    frame = np.zeros((height, width, 3), np.uint8)
    frame[:] = (140, 200, 245)  # sky
    line, smooth = 5, cv2.LINE_AA
    cv2.circle(frame, (330, 62), 34, (255, 214, 90), -1, smooth)
    cv2.circle(frame, (330, 62), 34, OUTLINE, line, smooth)
    cv2.ellipse(frame, (90, 330), (260, 110), 0, 180, 360, (110, 190, 100), -1, smooth)
    cv2.ellipse(frame, (90, 330), (260, 110), 0, 180, 360, OUTLINE, line, smooth)
    hair = np.array([[110, 150], [130, 60], [200, 30], [272, 62], [292, 150], [250, 110], [150, 110]], np.int32)
    cv2.circle(frame, (200, 160), 82, (255, 224, 200), -1, smooth)  # face
    cv2.circle(frame, (200, 160), 82, OUTLINE, line, smooth)
    cv2.fillPoly(frame, [hair], (120, 70, 160), smooth)
    cv2.polylines(frame, [hair], True, OUTLINE, line, smooth)
    for x in (168, 232):  # eyes: white, iris, pupil, highlight
        cv2.ellipse(frame, (x, 170), (18, 24), 0, 0, 360, (255, 255, 255), -1, smooth)
        cv2.ellipse(frame, (x, 174), (12, 18), 0, 0, 360, (60, 110, 210), -1, smooth)
        cv2.circle(frame, (x, 178), 7, OUTLINE, -1, smooth)
        cv2.circle(frame, (x - 5, 166), 4, (255, 255, 255), -1, smooth)
        cv2.ellipse(frame, (x, 170), (18, 24), 0, 0, 360, OUTLINE, 4, smooth)
    cv2.ellipse(frame, (200, 208), (14, 8), 0, 10, 170, OUTLINE, 4, smooth)  # smile
    cv2.ellipse(frame, (150, 200), (12, 6), 0, 0, 360, (250, 170, 170), -1, smooth)  # cheeks
    cv2.ellipse(frame, (250, 200), (12, 6), 0, 0, 360, (250, 170, 170), -1, smooth)
    return cv2.resize(frame, ANIME_SIZE, interpolation=cv2.INTER_AREA)


def text_chart() -> np.ndarray:
    """A sharp 320x200 chart of printed lines in several sizes, black on off-white."""
    chart = np.full((TEXT_SIZE[1], TEXT_SIZE[0], 3), 246, np.uint8)
    lines = [  # (text, baseline y, scale, thickness)
        ("Enhance Studio", 32, 0.9, 2),
        ("Motion blur test chart", 62, 0.6, 2),
        ("The quick brown fox jumps", 90, 0.55, 1),
        ("over the lazy dog 0123456789", 115, 0.55, 1),
        ("Wiener / Richardson-Lucy", 140, 0.5, 1),
        ("PSF: 9 px, 0 deg (horizontal)", 163, 0.45, 1),
        ("small print: ABCDEFGHIJKLMNOP", 185, 0.4, 1),
    ]
    for text, y, scale, thickness in lines:
        cv2.putText(chart, text, (10, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 24), thickness, cv2.LINE_AA)
    return chart


def motion_text() -> np.ndarray:
    """The text chart blurred by MOTION (the project's own degradation, seeded)."""
    return degrade(text_chart(), MOTION)


DRAWN = {ANIME_FRAME: anime_frame, MOTION_TEXT: motion_text}


def write_drawn(folder: Path) -> list[Path]:
    """Write every drawn example into `folder` as PNG; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in DRAWN.items():
        path = folder / name
        path.write_bytes(encode(draw(), "png"))
        written.append(path)
    return written
