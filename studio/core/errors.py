"""Our exceptions. Each has a one-line message meant for a person, and each also
inherits the built-in it refines (as huggingface_hub does), so callers that catch
ValueError or FileNotFoundError keep working."""

from __future__ import annotations


class StudioError(Exception):
    """Base of every error we raise on purpose. `exit_code` is what the CLI returns."""

    exit_code = 1

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else self.__class__.__name__


class ServerFaultError(StudioError):
    """The server's own resources failed (its database, its disk). The command line's user runs the machine and
    reads the one line; a web visitor is shown an error id instead, since the text names the server's paths."""


class UsageError(StudioError, ValueError):
    """The user asked for something malformed (a flag, a parameter value)."""

    exit_code = 2


class RegistryError(StudioError, ValueError):
    """The model registry file is malformed; the message names entry and field."""

    exit_code = 2


class UnknownModelError(StudioError, KeyError):
    """No model with that id; the message suggests the closest one."""

    exit_code = 2


class ParameterError(UsageError):
    """A model parameter is unknown, of the wrong type or out of range."""


class MediaError(StudioError, ValueError):
    """An input image cannot be used: unknown format, truncated, too large."""

    exit_code = 2


class ImageTooLargeError(MediaError):
    """The image has more pixels than STUDIO_MAX_PIXELS allows."""


class WeightsError(StudioError, OSError):
    """Weights could not be obtained or verified."""


class WeightsNotAvailableError(WeightsError, FileNotFoundError):
    """The weights are not on this machine and cannot be fetched now."""


class ChecksumMismatchError(WeightsError):
    """A downloaded or mirrored file does not have the sha256 the registry pins."""


class UnpinnedRevisionError(WeightsError):
    """A Hub source names a branch while STUDIO_REQUIRE_PINNED=1."""


class BackendUnavailableError(StudioError, ImportError):
    """The runtime a model needs (ncnn, torch, onnxruntime, ...) is not installed."""


class EnhanceError(StudioError, RuntimeError):
    """A model failed while running on an image."""


class MemoryLimitError(UsageError):
    """A run estimated to need more memory than is free (or than STUDIO_MAX_MEMORY_MB allows): refused before it
    starts, the message naming a size that fits."""


class RateLimitedError(StudioError):
    """Too many runs or votes from one session or address in the last minute: refused, naming the wait."""

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TimeLimitError(UsageError):
    """A run with a model predicted to take longer than the server's time limit (STUDIO_RUN_TIMEOUT_S) without a
    point where it could stop: refused before it starts, the message naming a size that fits."""


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (its type's name when it has none): a user's one-line error."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def described(exc: BaseException) -> str:
    """'TypeName: first line of its message' (the type alone when it has none): an unexpected error in one line,
    for /readyz, the start-up prefetch and the live view."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
