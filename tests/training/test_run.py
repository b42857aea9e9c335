"""One `studio train` run end to end in-process: what a Ctrl-C during the final evaluation leaves and says."""

from __future__ import annotations

import pytest
from PIL import Image

from studio.models.loader import Loader
from studio.models.registry import load_registry
from studio.training import run as training_run
from studio.training.loop import TrainConfig
from studio.training.request import TrainRequest


def test_ctrl_c_during_the_evaluation_keeps_the_weights_and_says_how_to_finish(settings, photo, tmp_path, monkeypatch):
    folder = tmp_path / "photos"
    folder.mkdir()
    for index in range(6):
        Image.fromarray(photo[40 * index : 40 * index + 64, 30 : 30 + 64]).save(folder / f"crop{index}.png")

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training_run, "evaluate", interrupted)
    config = TrainConfig("dncnn", "denoise", steps=2, patch=16, batch=2, data=str(folder), hyper={"depth": 3})
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt, match="^interrupted during the evaluation: the trained weights are saved"):
        training_run.run_training(TrainRequest(config, out=out), settings, load_registry(settings), Loader(settings))
    assert (out / "dncnn-denoise.safetensors").is_file() and (out / "checkpoint.pt").is_file()
    assert not (out / "dncnn-denoise.md").exists()  # the card waits for the evaluation --resume runs
