"""The instant demo: the example images, the presets that suit them, and their precomputed results.

The example list and the preset rules sit here, below the front ends, because both the CLI (`studio demo
build`) and the Compare tab need them; the cache (`cache.py`) and its builder (`build.py`) keep each example's
comparison under STUDIO_DATA_DIR/demo, so clicking an example shows a full comparison with no model run.
"""
