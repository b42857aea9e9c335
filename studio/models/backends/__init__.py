"""One module per runtime, all behind the Enhancer protocol in base.py.

Backend modules import their runtime (torch, ncnn, onnxruntime, cv2.dnn) lazily,
so listing models never pays for them and a missing runtime is reported as
"backend unavailable" for that model only.
"""

BACKEND_MODULES: dict[str, str] = {
    "classical": "studio.models.backends.classical",
    "ncnn": "studio.models.backends.ncnn",
    "opencv-dnn": "studio.models.backends.opencv_dnn",
    "torch": "studio.models.backends.torch",
    "onnx": "studio.models.backends.onnx",
}

# The third-party runtime each backend needs, checked with importlib.util.find_spec.
BACKEND_RUNTIMES: dict[str, str] = {
    "classical": "cv2",
    "ncnn": "ncnn",
    "opencv-dnn": "cv2",
    "torch": "spandrel",
    "onnx": "onnxruntime",
}
