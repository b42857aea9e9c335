"""Shared by the ratings tests: a seeded round of fake models, and the app started on its data folder.

The fake model ids are words no page or API response would contain by chance, so finding one
in the page before a vote means a model's identity leaked.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from studio.core.config import Settings
from studio.core.media import encode
from studio.ratings.store import Database
from studio.services import Services
from tests.appserver import AppServer

FAKE_MODELS = ("zorblax-upscaler", "quimbofex-net", "fennivore-gan")
ROUND = "seeded round"


def data_env(home: Path) -> dict[str, str]:
    """The app's environment: offline, caches and the ratings data under `home` (fresh per module)."""
    return {
        "STUDIO_WEIGHTS_DIR": str(home / "weights"),
        "HF_HOME": str(home / "hf"),
        "STUDIO_DATA_DIR": str(home / "data"),
        "HF_HUB_OFFLINE": "1",
        "STUDIO_OFFLINE": "1",
    }


def open_store(home: Path) -> Database:
    """The database the app under `home` uses (the same path Services.ratings opens)."""
    return Services(Settings.from_env(data_env(home))).ratings


def fake_outputs(image: np.ndarray) -> dict[str, np.ndarray]:
    """Three visibly different 'enhancements'; the first is twice the size (as an x2 model's would be)."""
    big = cv2.resize(image, (image.shape[1] * 2, image.shape[0] * 2), interpolation=cv2.INTER_CUBIC)
    blurred = cv2.GaussianBlur(image, (0, 0), 2.0)
    noise = np.random.default_rng(0).normal(0, 18, image.shape)
    noisy = np.clip(image.astype(float) + noise, 0, 255).astype(np.uint8)
    return dict(zip(FAKE_MODELS, (big, blurred, noisy), strict=True))


def seed_round(db: Database, photo: np.ndarray, items: int = 2, side: int = 96) -> list[str]:
    """A round of `items` crops of the photo, each with the three fake models' outputs and metrics."""
    from studio.ratings.store_items import add_item, create_round

    round_id = create_round(db, ROUND, "super-resolution", list(FAKE_MODELS), None)
    item_ids = []
    for index in range(items):
        crop = np.ascontiguousarray(photo[index * side : (index + 1) * side, 100 : 100 + side])
        outputs = fake_outputs(crop)
        metrics = {
            model: {"sharpness": 10.0 * rank + index, "colourfulness": 50.0 - rank}
            for rank, model in enumerate(FAKE_MODELS)
        }
        pngs = {model: encode(output, "png") for model, output in outputs.items()}
        item_ids.append(add_item(db, encode(crop, "png"), pngs, "super-resolution", f"crop-{index}", round_id, metrics))
    return item_ids


def start_app(home: Path) -> AppServer:
    return AppServer(data_env(home), home / "app.log").wait_ready(timeout=180)
