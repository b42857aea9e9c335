"""The fixed word lists of the product, written once: every schema, flag, dropdown and
check derives its choices from these tuples."""

from __future__ import annotations

TASKS = ("super-resolution", "denoise", "deblur", "sharpen", "restore", "contrast")
BACKENDS = ("classical", "torch", "onnx", "ncnn", "opencv-dnn")
FORMS = ("ncnn", "torch", "onnx")  # the backends a user may pick for models that offer several
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
DEVICES = ("auto", "cpu", "cuda", "vulkan")
# What a model's fastest form depends on: a plain CPU, a CPU with fast bf16 (AVX-512 BF16 / AMX), a CUDA GPU.
MACHINE_CLASSES = ("cpu", "cpu-bf16", "cuda")
OUTPUT_FORMATS = ("png", "jpeg", "webp")
