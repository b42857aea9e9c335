"""The fixed word lists of the product, written once: every schema, flag, dropdown and
check derives its choices from these tuples."""

from __future__ import annotations

TASKS = ("super-resolution", "denoise", "deblur", "sharpen", "restore", "contrast")
BACKENDS = ("classical", "torch", "onnx", "ncnn", "opencv-dnn")
FORMS = ("ncnn", "torch", "onnx", "opencv-dnn")  # the backends a user may pick for models that offer several
PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")  # int8: the ONNX form quantized (never chosen by auto)
DEVICES = ("auto", "cpu", "cuda", "vulkan")
# Vulkan device types, indexed by the code ncnn.GpuInfo.type() returns (ncnn's order, not VkPhysicalDeviceType's);
# only the first three are GPUs. Software rasterizers report "cpu" (or a GPU type by mistake): known by name too.
VULKAN_DEVICE_TYPES = ("discrete", "integrated", "virtual", "cpu")
VULKAN_GPU_TYPES = ("discrete", "integrated", "virtual")  # in the order a GPU is preferred
SOFTWARE_VULKAN_DEVICES = ("llvmpipe", "lavapipe", "swiftshader")  # names of CPU rasterizers (lower case)
# What a model's fastest form depends on: a plain CPU, a CPU with fast bf16 (AVX-512 BF16 / AMX), a CUDA GPU.
MACHINE_CLASSES = ("cpu", "cpu-bf16", "cuda")
OUTPUT_FORMATS = ("png", "jpeg", "webp")
TRAIN_ARCHITECTURES = ("espcn", "dae", "deblurnet", "dmcnn", "dncnn")  # `studio train`: our own networks
TRAIN_TASKS = ("deblur", "denoise", "sr")  # what `studio train` trains for (sr: super-resolution)
TRAIN_DOWNSCALES = ("matlab", "mixed")  # studio train --downscale: how super-resolution inputs are made
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")  # what a folder of images holds
HF_LOGINS = ("off", "ratings", "all")  # STUDIO_HF_LOGIN: who must sign in with Hugging Face (on a Space)
LOG_FORMATS = ("plain", "json")  # the web server's log: plain lines, or one JSON object per line

# Registry `options` values (studio/models/options.py) and the code that acts on them.
RESIZE_METHODS = ("bicubic", "lanczos", "bilinear", "nearest")  # classical `resize`: OpenCV interpolations
PSF_KINDS = ("gaussian", "motion")  # classical deconvolution kernels
PAD_MODES = ("edge", "reflect")  # how the ncnn backend pads a network's input (numpy.pad modes)
RESIDUALS = ("nearest",)  # ncnn: what is added to the network's output (Real-CUGAN x4: nearest-upsampled input)
# The spandrel architectures an ncnn model converts onto (studio/models/convert/ncnn_to_torch.py).
CONVERT_ARCHITECTURES = ("compact", "esrgan", "realcugan", "waifu2x-upconv7", "waifu2x-cunet")
OPENCV_DNN_ALGORITHMS = ("edsr", "espcn", "fsrcnn", "lapsrn")  # cv2.dnn_superres model names
OPENCV_DNN_LUMA = ("espcn", "fsrcnn", "lapsrn")  # those dnn_superres runs on luma only (EDSR: all three channels)
