"""Short test clips made with PyAV inside the tests (no video file is committed).

Every clip shows a bright square moving over a gradient, so consecutive frames differ (flicker has a
baseline) and a quarter turn is visible (the square starts at the top left).
"""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import numpy as np

# container -> (PyAV format, video codec, audio codec)
CONTAINERS = {
    "mp4": ("mp4", "libx264", "aac"),
    "mov": ("mov", "libx264", "aac"),
    "mkv": ("matroska", "libx264", "aac"),
    "webm": ("webm", "libvpx-vp9", "libopus"),
    "avi": ("avi", "mpeg4", "mp3"),
}


def pattern(index: int, width: int, height: int) -> np.ndarray:
    """Frame `index`: a textured gradient with a white square moving right (top left at index 0).

    The texture (seeded, the same in every frame) gives sharpening filters something to change.
    """
    row = np.linspace(40, 200, width, dtype=np.float32)
    texture = np.random.default_rng(7).integers(-24, 25, (height, width, 1)).astype(np.float32)
    texture = np.repeat(np.kron(texture[::4, ::4], np.ones((4, 4, 1), np.float32))[:height, :width], 3, axis=2)
    image = np.clip(row[None, :, None] + texture, 0, 255).astype(np.uint8)
    image[..., 2] = (index * 7) % 256
    side = max(4, height // 4)
    left = (index * 3) % max(1, width - side)
    image[:side, left : left + side] = 255
    return image


def make_clip(
    path: Path,
    frames: int = 30,
    size: tuple[int, int] = (96, 64),
    fps: int = 30,
    audio: bool = False,
    vfr: bool = False,
    rotation: int | None = None,
    container: str = "mp4",
    video_start_ms: int = 0,
) -> Path:
    """Write a clip; `vfr` alternates 20 ms and 60 ms between frames; `rotation` sets the display matrix;
    `video_start_ms` starts the picture that late in the timeline (the audio always starts at 0)."""
    import av

    form, video_codec, audio_codec = CONTAINERS[container]
    width, height = size
    time_base = Fraction(1, 1000)
    with av.open(str(path), "w", format=form) as output:
        video = output.add_stream(video_codec, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.time_base = time_base
        if rotation is not None:
            video.set_display_rotation(rotation)
        sound = None
        if audio:
            sound = output.add_stream(audio_codec, rate=48000)
            sound.layout = "mono"
        millis = video_start_ms
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(pattern(index, width, height), format="rgb24")
            frame.pts, frame.time_base = millis, time_base
            millis += (20 if index % 2 else 60) if vfr else round(1000 / fps)
            for packet in video.encode(frame):
                output.mux(packet)
        for packet in video.encode(None):
            output.mux(packet)
        if sound is not None:
            _write_tone(sound, output, millis / 1000)
    return path


def _write_tone(stream, output, seconds: float) -> None:
    import av

    rate, chunk = 48000, stream.codec_context.frame_size or 960
    total = int(rate * seconds)
    fmt = stream.codec_context.format.name if stream.codec_context.format else "s16"
    for start in range(0, total, chunk):
        t = np.arange(start, start + chunk) / rate
        wave = 0.2 * np.sin(2 * np.pi * 440 * t)
        if fmt.startswith("flt"):
            samples = wave.astype(np.float32)[None]
        else:
            samples = (wave * 32767).astype(np.int16)[None]
            fmt = "s16p" if fmt.endswith("p") else "s16"
        frame = av.AudioFrame.from_ndarray(samples, format=fmt, layout="mono")
        frame.sample_rate, frame.pts = rate, start
        for packet in stream.encode(frame):
            output.mux(packet)
    for packet in stream.encode(None):
        output.mux(packet)


def claim_frames(avi: Path, count: int) -> Path:
    """Rewrite an AVI's header so it claims `count` frames (main header and stream header)."""
    data = bytearray(avi.read_bytes())
    main = data.index(b"avih") + 8
    struct.pack_into("<I", data, main + 16, count)  # dwTotalFrames
    stream = data.index(b"strh") + 8
    struct.pack_into("<I", data, stream + 32, count)  # dwLength
    avi.write_bytes(bytes(data))
    return avi


def corrupt_middle(path: Path, share: float = 0.5, length: int = 400) -> Path:
    """Overwrite `length` bytes in the middle of the file with noise (seeded): damaged packets mid-stream."""
    data = bytearray(path.read_bytes())
    start = int(len(data) * share)
    data[start : start + length] = np.random.default_rng(0).integers(0, 256, length, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def audio_packets(path: Path) -> list[bytes]:
    """The bytes of every audio packet of the first audio stream, in order."""
    return [data for data, _ in timed_audio_packets(path)]


def timed_audio_packets(path: Path) -> list[tuple[bytes, float]]:
    """(bytes, start in seconds) of every audio packet of the first audio stream, in order."""
    import av

    with av.open(str(path)) as clip:
        if not clip.streams.audio:
            return []
        return [
            (bytes(packet), float(packet.pts * packet.time_base))
            for packet in clip.demux(clip.streams.audio[0])
            if packet.size
        ]


def video_facts(path: Path) -> dict:
    """Codec, size, frame count and timestamps of the first video stream, decoded."""
    import av

    with av.open(str(path)) as clip:
        stream = clip.streams.video[0]
        times = [frame.time for frame in clip.decode(stream)]
        return {
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt,
            "width": stream.codec_context.width,
            "height": stream.codec_context.height,
            "frames": len(times),
            "times": times,
            "audio": [s.codec_context.name for s in clip.streams.audio],
        }
