"""Reading and writing clips: the only home of PyAV (imported lazily, inside the functions).

Rules, each for a reason:
- The container is sniffed from its first bytes and opened with that demuxer forced (MP4/MOV,
  Matroska/WebM, AVI) and only the file protocol allowed, so a playlist, a concat list or an
  HLS-in-AVI trick named `.mp4` never opens another file or URL.
- The frame size is checked from the header before any frame is decoded, and again on every
  frame (a header may lie); the frame count and the duration in the header are never trusted:
  decoding stops at the caps (`VideoLimits`) and the clip says which cap cut it.
- Frames keep their own timestamps (a variable frame rate survives) and are turned upright
  from the display matrix (phones record sideways and say so there).
- Output is H.264 (libx264, yuv420p, even sizes) in MP4, which browsers play; the source's
  audio is copied packet for packet, never re-encoded, up to the end of the video kept.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.config import Settings
from studio.core.errors import MediaError

# The demuxers we allow, by the magic bytes that announce them.
MP4_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot")
MATROSKA_MAGIC = b"\x1a\x45\xdf\xa3"
OPEN_OPTIONS = {"protocol_whitelist": "file"}  # nested opens (a demuxer's own) inherit this
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi")
ENCODER = "libx264"
ENCODER_OPTIONS = {"preset": "veryfast", "crf": "18"}  # near-transparent; veryfast keeps encoding off the critical path


@dataclass(frozen=True)
class VideoLimits:
    """Caps applied while decoding (STUDIO_MAX_FRAMES, STUDIO_MAX_VIDEO_SIDE, STUDIO_MAX_VIDEO_SECONDS)."""

    max_frames: int = 300
    max_side: int = 1920
    max_seconds: float = 120.0
    frames_from: str = "STUDIO_MAX_FRAMES"  # who set max_frames, named when it cuts a clip (--max-frames, ...)

    @classmethod
    def from_settings(cls, settings: Settings) -> VideoLimits:
        return cls(settings.max_frames, settings.max_video_side, settings.max_video_seconds)


@dataclass(frozen=True)
class ClipInfo:
    """What the header says about a clip; its frame count and duration are claims, not facts."""

    path: Path
    container: str  # the demuxer that read it: mov, matroska or avi
    codec: str
    width: int  # as coded: a clip recorded sideways is turned upright frame by frame (see read_frames)
    height: int
    fps: float  # the stream's average (or guessed) rate; frames keep their own timestamps
    claimed_frames: int | None
    claimed_seconds: float | None
    audio_codec: str | None  # None: no audio stream

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


@dataclass(frozen=True)
class Frame:
    """One decoded frame: upright RGB, its index and its presentation time in seconds from the start."""

    index: int
    time: float
    rgb: np.ndarray


@dataclass
class ReadReport:
    """What reading found on the way: the cap that cut the clip, corrupt packets skipped."""

    cut: str | None = None
    corrupt_packets: int = 0
    frames: int = 0
    last_time: float = 0.0
    origin: float = 0.0  # the first frame's time in the source's timeline: time 0 of the output
    notes: list[str] = field(default_factory=list)


def sniff_container(path: Path) -> str:
    """The demuxer for this file from its magic bytes, or a MediaError for anything else."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except FileNotFoundError:
        raise MediaError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise MediaError(f"expected a video file, got a folder: {path}") from None
    if not head:
        raise MediaError("the video file is empty")
    if head[4:8] in MP4_BOXES:
        return "mov"
    if head.startswith(MATROSKA_MAGIC):
        return "matroska"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return "avi"
    if head.lstrip().startswith((b"#EXTM3U", b"ffconcat", b"file ", b"#")):
        raise MediaError(
            "a playlist or concat list is not a video: upload the video file itself (MP4, MOV, MKV, WebM, AVI)"
        )
    raise MediaError("not a supported video: expected MP4, MOV, MKV, WebM or AVI")


def _open(path: Path, container: str) -> Any:
    import av

    try:
        return av.open(str(path), format=container, options=OPEN_OPTIONS, metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise MediaError(f"the video cannot be read ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _video_stream(container: Any) -> Any:
    streams = container.streams.video
    if not streams:
        raise MediaError("the file has no video stream")
    return streams[0]


def probe(path: str | Path, limits: VideoLimits) -> ClipInfo:
    """Open, check the container, the streams and the frame size (before decoding), and describe the clip."""
    path = Path(path)
    kind = sniff_container(path)
    with _open(path, kind) as container:
        stream = _video_stream(container)
        context = stream.codec_context
        width, height = context.width, context.height
        if not width or not height:
            raise MediaError("the video stream has no frame size: the file is damaged")
        check_side(width, height, limits.max_side)  # a quarter turn later does not change the long side
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate and 0 < float(rate) < 1000 else 0.0
        claimed = stream.frames or None
        seconds = None
        if stream.duration and stream.time_base:
            seconds = float(stream.duration * stream.time_base)
        elif container.duration:
            seconds = container.duration / 1_000_000
        audio = container.streams.audio
        return ClipInfo(
            path=path,
            container=kind,
            codec=context.name,
            width=width,
            height=height,
            fps=fps,
            claimed_frames=claimed,
            claimed_seconds=seconds,
            audio_codec=audio[0].codec_context.name if audio else None,
        )


def check_side(width: int, height: int, max_side: int) -> None:
    if max(width, height) > max_side:
        raise MediaError(f"video too large: {width}x{height} is over the {max_side} px limit (STUDIO_MAX_VIDEO_SIDE)")


def upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """Turn a frame counterclockwise by `rotation` degrees (a multiple of 90)."""
    turns = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, k=turns)) if turns else rgb


def read_frames(info: ClipInfo, limits: VideoLimits, report: ReadReport) -> Iterator[Frame]:
    """Decode frames in presentation order, upright, until the clip or a cap ends; `report` says what happened.

    A corrupt packet is skipped and counted; a clip with no decodable frame is a MediaError.
    """
    import av

    with _open(info.path, info.container) as container:
        stream = _video_stream(container)
        stream.thread_type = "AUTO"
        start: float | None = None
        for packet in container.demux(stream):
            try:
                decoded_frames = packet.decode()
            except av.error.FFmpegError:
                report.corrupt_packets += 1
                continue
            for decoded in decoded_frames:
                time = decoded.time
                if time is None or not math.isfinite(time):  # no timestamp: place it at the nominal rate
                    time = (start or 0.0) + report.frames / (info.fps or 25.0)
                if start is None:
                    start = report.origin = time
                report.cut = _cap_reached(report.frames, time - start, limits)
                if report.cut:
                    return
                rgb = upright(decoded.to_ndarray(format="rgb24"), _frame_rotation(decoded))
                check_side(rgb.shape[1], rgb.shape[0], limits.max_side)
                yield Frame(index=report.frames, time=time - start, rgb=rgb)
                report.frames += 1
                report.last_time = time - start
        if report.frames == 0:
            raise MediaError("no video frame could be decoded: the file is damaged or empty")


def _cap_reached(frames: int, time: float, limits: VideoLimits) -> str | None:
    """Which cap stops the clip before this frame, said the way the result reports it (None: keep going)."""
    if frames >= limits.max_frames:
        return f"cut at the {limits.max_frames}-frame limit ({limits.frames_from})"
    if time > limits.max_seconds:
        return f"cut at the {limits.max_seconds:g} s limit (STUDIO_MAX_VIDEO_SECONDS)"
    return None


def _frame_rotation(decoded: Any) -> int:
    """The frame's display-matrix rotation, counterclockwise, rounded to a quarter turn."""
    return round((decoded.rotation or 0) / 90.0) * 90 % 360


def even_size(width: int, height: int) -> tuple[int, int]:
    """H.264 in yuv420p needs even sides: round down (never below 2)."""
    return max(2, width - width % 2), max(2, height - height % 2)


class ClipWriter:
    """H.264 MP4 at the source's timing: `write(rgb, time)` per frame, `close()` flushes and copies the audio.

    `audio_from`: the clip whose audio is copied into this file (its stream must exist before the first frame).
    """

    def __init__(
        self, path: Path, width: int, height: int, fps: float, audio_from: ClipInfo | None = None, threads: int = 1
    ):
        import av

        self.path = path
        self.width, self.height = even_size(width, height)
        self._container = av.open(str(path), mode="w", format="mp4")
        rate = Fraction(fps).limit_denominator(1001) if fps and fps > 0 else Fraction(25)
        self._stream = self._container.add_stream(ENCODER, rate=rate, options=dict(ENCODER_OPTIONS))
        self._audio: tuple[ClipInfo, Any] | None = None
        if audio_from is not None and audio_from.audio_codec:
            with _open(audio_from.path, audio_from.container) as source:
                template = source.streams.audio[0]
                target = self._container.add_stream_from_template(template)
                target.time_base = template.time_base
            self._audio = (audio_from, target)
        self._stream.width, self._stream.height = self.width, self.height
        self._stream.pix_fmt = "yuv420p"
        self._stream.codec_context.thread_count = max(1, threads)
        self._time_base = Fraction(1, 90_000)  # fine enough for any source timestamp
        self._stream.codec_context.time_base = self._time_base
        self._last_pts = -1
        self.frames = 0
        self.last_time = 0.0

    def write(self, rgb: np.ndarray, time: float) -> None:
        import av

        if rgb.shape[1] != self.width or rgb.shape[0] != self.height:
            rgb = np.ascontiguousarray(rgb[: self.height, : self.width])
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        pts = max(round(time / self._time_base), self._last_pts + 1)  # strictly increasing
        frame.pts, frame.time_base = pts, self._time_base
        self._last_pts = pts
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames += 1
        self.last_time = time

    def close(self, until: float | None = None, origin: float = 0.0) -> int:
        """Flush the encoder, copy the source's audio, finish the file; returns the audio packets copied.

        `origin`: where the first frame sat in the source's timeline (frames are written from 0): the audio
        moves by the same amount so it stays in sync. `until`: no packet starting later is copied.
        """
        copied = 0
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            if self._audio is not None:
                copied = copy_audio(self._audio[0], self._audio[1], self._container, until, origin)
        finally:
            self._container.close()
        return copied

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # a half-written file is removed by the caller
            self._container.close()


def copy_audio(source: ClipInfo, target: Any, output: Any, until: float | None, origin: float = 0.0) -> int:
    """Mux the source's first audio stream into `target` (a stream of `output`) packet for packet.

    Packets keep their bytes; only their timestamps move by `origin` (the video's start), so sound and
    picture keep the distance they had. A packet that ends before the first frame is left out, and none
    that starts after `until` (seconds from the first frame) is copied.
    """
    import av

    copied = 0
    with _open(source.path, source.container) as container:
        audio = container.streams.audio[0]
        shift = round(origin / audio.time_base) if audio.time_base else 0
        for packet in container.demux(audio):
            if packet.dts is None or packet.size == 0:
                continue
            start = _seconds(packet) - origin
            if start + float((packet.duration or 0) * packet.time_base) < 0:
                continue
            if until is not None and start > until:
                break
            packet.stream = target
            if shift:
                packet.pts, packet.dts = packet.pts - shift, packet.dts - shift
            try:
                output.mux(packet)
            except av.error.FFmpegError:
                break
            copied += 1
    return copied


def _seconds(packet: Any) -> float:
    """When the packet starts in the source's timeline, in seconds (0 when it carries no timestamp)."""
    if packet.pts is None or packet.time_base is None:
        return 0.0
    return float(packet.pts * packet.time_base)
