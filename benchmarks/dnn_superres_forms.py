"""OpenCV DNN against the converted torch and ONNX forms of the dnn_superres entries, on the same inputs.

Round-robin: each round runs every form once on the same image, so load from other processes falls on
all forms alike; prints per form the median and best wall-clock ms, the median process CPU ms, and the
speed-up of the median over the first form. Settings come from the environment as for `studio`
(STUDIO_THREADS, STUDIO_WEIGHTS_MIRROR, ...):

    STUDIO_THREADS=1 python benchmarks/dnn_superres_forms.py espcn-x4 fsrcnn-x4 lapsrn-x4 --sizes 493x356,256,128
    STUDIO_THREADS=2 python benchmarks/dnn_superres_forms.py espcn-x2 --sizes 320x240 --rounds 31

Inputs are scikit-image's astronaut shrunk with INTER_AREA to each size (WxH, or one side for a square).
"""

import argparse
import os
import statistics
import time

import cv2
import numpy as np
from skimage import data

from studio.core.config import Settings
from studio.models.cache import EnhancerCache
from studio.models.loader import Loader
from studio.models.registry import load_registry

parser = argparse.ArgumentParser()
parser.add_argument("models", nargs="+")
parser.add_argument("--sizes", default="493x356,256,128")
parser.add_argument("--rounds", type=int, default=7)
parser.add_argument("--forms", default="opencv-dnn:fp32,torch:fp32,torch:bf16,onnx:fp32")
args = parser.parse_args()

settings = Settings.from_env()
registry = load_registry(settings)
loader = Loader(settings, EnhancerCache(8192))
forms = [tuple(form.split(":")) for form in args.forms.split(",")]


def photo(size: str) -> np.ndarray:
    width, _, height = size.partition("x")
    side = (int(width), int(height or width))
    return np.ascontiguousarray(cv2.resize(data.astronaut(), side, interpolation=cv2.INTER_AREA))


print(f"threads {settings.threads}, load average before {os.getloadavg()[0]:.2f}", flush=True)
for model_id in args.models:
    spec = registry.get(model_id)
    enhancers = {form: loader.load(spec, backend=form[0], precision=form[1], device="cpu") for form in forms}
    for size in args.sizes.split(","):
        image = photo(size)
        for enhancer in enhancers.values():
            enhancer.enhance(image)  # warm-up: first calls build kernels and caches
        wall: dict[tuple, list[float]] = {form: [] for form in forms}
        cpu: dict[tuple, list[float]] = {form: [] for form in forms}
        for _ in range(args.rounds):
            for form, enhancer in enhancers.items():
                started, started_cpu = time.perf_counter(), time.process_time()
                enhancer.enhance(image)
                wall[form].append((time.perf_counter() - started) * 1000)
                cpu[form].append((time.process_time() - started_cpu) * 1000)
        first = statistics.median(wall[forms[0]])
        cells = []
        for form in forms:
            median = statistics.median(wall[form])
            cells.append(
                f"{form[0]} {form[1]}: {median:.1f} ms (best {min(wall[form]):.1f}, "
                f"cpu {statistics.median(cpu[form]):.1f}) x{first / median:.2f}"
            )
        print(f"{model_id} {size} | " + " | ".join(cells), flush=True)
print(f"load average after {os.getloadavg()[0]:.2f}")
