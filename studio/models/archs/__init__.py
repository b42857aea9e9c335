"""Network architectures spandrel does not ship, registered with it on first use."""

from __future__ import annotations

from typing import Any


def load_spandrel(state_dict: dict[str, Any]) -> Any:
    """spandrel's model descriptor for `state_dict`, with our architectures registered first.

    Every place that hands weights to spandrel goes through here, so a converted
    waifu2x (or dnn_superres) network loads in any process, whichever form asked for it first.
    """
    import spandrel

    from studio.models.archs import baselines, opencv_sr, waifu2x

    waifu2x.register()
    baselines.register()
    opencv_sr.register()
    return spandrel.ModelLoader("cpu").load_from_state_dict(state_dict)
