"""What a reader of a video run's table must know, in one line each: sizes changed, caps, skipped packets,
left-out values, scores that are not comparable."""

from __future__ import annotations

from studio.metrics import FULL_REFERENCE
from studio.video.io import ClipInfo, ReadReport
from studio.video.layout import MAX_WIDTH, Layout
from studio.video.quality import MetricMeans
from studio.video.results import VideoResults


def run_notes(
    results: VideoResults,
    info: ClipInfo,
    read: ReadReport,
    preview_size: tuple[int, int],
    layout: Layout | None,
    means_by_model: dict[str, MetricMeans],
) -> list[str]:
    """Everything a reader of the table must know: sizes changed, caps, skipped packets, left-out values."""
    notes = []
    recipe = results.request.recipe
    if preview_size != (0, 0) and results.source_size != preview_size:
        (w, h), (pw, ph) = results.source_size, preview_size
        notes.append(f"preview: frames {w}x{h} reduced to {pw}x{ph}")
    if recipe is not None:
        notes.append(f"reference mode: every frame degraded with {recipe.to_text()}")
        for row in results.rows:
            if row.ok and row.scale != recipe.scale:
                notes.append(
                    f"{row.model_id}: x{row.scale} output scored against a x{recipe.scale} degradation: "
                    f"not comparable with the x{recipe.scale} rows"
                )
    else:
        needing = [spec.id for spec in results.request.metrics if spec.kind == FULL_REFERENCE]
        if needing:
            notes.append(f"{', '.join(needing)} not scored: they need a reference (a degradation recipe)")
    if layout is not None:
        largest = max((row.output_size for row in results.rows if row.output_size), key=lambda s: s[0] * s[1])
        if layout.panel[0] < largest[0] - 1:
            width, height = layout.panel
            notes.append(f"comparison panels shown at {width}x{height} to keep the video within {MAX_WIDTH} px")
    if read.cut:
        notes.append(read.cut)
    if read.corrupt_packets:
        notes.append(f"{read.corrupt_packets} corrupt packets skipped")
    if info.audio_codec:
        notes.append(f"audio ({info.audio_codec}) copied without re-encoding")
    for model_id, model_means in means_by_model.items():
        for metric_id, count in model_means.non_finite.items():
            scored = model_means.counts.get(metric_id, 0) + count
            notes.append(
                f"{metric_id} of {model_id}: {count} of {scored} scored frames gave an infinite or undefined value "
                "(an identical or flat frame) and are left out of its mean"
            )
    for spec_id, reason in _unavailable(means_by_model).items():
        notes.append(f"{spec_id} not scored: {reason}")
    return notes


def _unavailable(means_by_model: dict[str, MetricMeans]) -> dict[str, str]:
    reasons: dict[str, str] = {}
    for means in means_by_model.values():
        reasons.update(means.unavailable)
    return reasons
