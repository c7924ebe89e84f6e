"""Which 24-fps Charades frames a clip reads, and which actions label it (docs/video.md).

Pure functions on 1-based frame numbers of the 24-fps timeline (frame ``n`` is at time
``(n - 1) / 24`` s). A clip is ``num_frames`` frames ``sampling_rate`` apart, i.e. it spans
``(num_frames - 1) * sampling_rate + 1`` frames (SlowFast 64x2: 127 frames; LFB 32x4: 125).

- Training: a start frame drawn uniformly from every start whose clip fits in the video.
- Testing: ``num_views`` starts evenly spaced from the first to the last start that fits, as
  PySlowFast's Charades loader (``round(i * (L - span) / (N - 1))``; one view: the centred start).
- A video shorter than one clip starts at frame 1 and repeats its last frame to fill the clip
  (frame numbers clamped to the last frame).
- Labels: an action ``(class, start_s, end_s)`` is active on frame ``n`` iff ``start_s < t < end_s``
  with ``t = (n - 1) / 24`` (strict on both sides; a segment with ``end < start`` labels no frame,
  one ending after the video is used as written).
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

from ag_detectron.errors import ConfigError, DatasetFormatError

__all__ = [
    "CHARADES_FPS",
    "frame_time",
    "clip_span",
    "check_clip_shape",
    "train_clip_start",
    "test_clip_starts",
    "clip_frame_numbers",
    "clip_center_sec",
    "active_classes",
    "clip_labels",
    "spatial_crop_offsets",
]

#: Frame rate of ``Charades_v1_rgb`` and of the SlowFast / LFB frame lists.
CHARADES_FPS = 24


def frame_time(frame_number: int, fps: float = CHARADES_FPS) -> float:
    """Time in seconds of a 1-based frame number: ``(n - 1) / fps``."""
    return (frame_number - 1) / fps


def check_clip_shape(num_frames: int, sampling_rate: int) -> None:
    """Raise ConfigError unless both are positive ints (INPUT.CLIP.NUM_FRAMES / SAMPLING_RATE)."""
    if int(num_frames) != num_frames or num_frames < 1:
        raise ConfigError(f"INPUT.CLIP.NUM_FRAMES={num_frames!r}; expected an int >= 1")
    if int(sampling_rate) != sampling_rate or sampling_rate < 1:
        raise ConfigError(f"INPUT.CLIP.SAMPLING_RATE={sampling_rate!r}; expected an int >= 1")


def clip_span(num_frames: int, sampling_rate: int) -> int:
    """Number of 24-fps frames covered by a clip, first to last sampled frame inclusive."""
    check_clip_shape(num_frames, sampling_rate)
    return (num_frames - 1) * sampling_rate + 1


def _check_video(video_frames: int, video_id: str) -> None:
    if video_frames < 1:
        raise DatasetFormatError(f"video {video_id!r}: {video_frames} frames; expected >= 1")


def train_clip_start(
    video_frames: int,
    num_frames: int,
    sampling_rate: int,
    rng: np.random.Generator,
    video_id: str = "?",
) -> int:
    """A random 1-based start frame, uniform over ``1 .. max(video_frames - span + 1, 1)``."""
    _check_video(video_frames, video_id)
    last_start = max(video_frames - clip_span(num_frames, sampling_rate) + 1, 1)
    return int(rng.integers(1, last_start + 1))


def test_clip_starts(
    video_frames: int, num_frames: int, sampling_rate: int, num_views: int, video_id: str = "?"
) -> List[int]:
    """1-based start frames of ``num_views`` evenly spaced temporal views (PySlowFast rule).

    ``delta = max(video_frames - span, 0)``; view ``i`` starts at ``1 + round(i * delta / (N - 1))``
    (Python's ``round``, half to even, as PySlowFast); a single view starts at
    ``1 + round(delta / 2)`` (centred), where PySlowFast would divide by zero.
    """
    _check_video(video_frames, video_id)
    if int(num_views) != num_views or num_views < 1:
        raise ConfigError(f"TEST.CLIP.NUM_ENSEMBLE_VIEWS={num_views!r}; expected an int >= 1")
    delta = max(video_frames - clip_span(num_frames, sampling_rate), 0)
    if num_views == 1:
        return [1 + int(round(delta / 2))]
    gap = delta / (num_views - 1)
    return [1 + int(round(gap * i)) for i in range(num_views)]


def clip_frame_numbers(
    start: int, num_frames: int, sampling_rate: int, video_frames: int, video_id: str = "?"
) -> Tuple[np.ndarray, int]:
    """The clip's 1-based frame numbers and how many of them are padding.

    Returns:
        ``(frames, num_padded)``: int64 array (num_frames,) ``start + i * sampling_rate`` with
        numbers past ``video_frames`` replaced by ``video_frames`` (the last frame repeated), and
        the number of replaced entries.

    Raises:
        DatasetFormatError: ``start`` is before frame 1 or after the video's last frame.
    """
    _check_video(video_frames, video_id)
    check_clip_shape(num_frames, sampling_rate)
    if not 1 <= start <= video_frames:
        raise DatasetFormatError(
            f"video {video_id!r}: clip start frame {start} outside the video's frames "
            f"1..{video_frames}"
        )
    frames = start + sampling_rate * np.arange(num_frames, dtype=np.int64)
    num_padded = int((frames > video_frames).sum())
    return np.minimum(frames, video_frames), num_padded


def clip_center_sec(frame_numbers: Sequence[int], fps: float = CHARADES_FPS) -> float:
    """Centre of the frames read, in seconds: midpoint of the first and last frame's times."""
    return (frame_time(int(frame_numbers[0]), fps) + frame_time(int(frame_numbers[-1]), fps)) / 2


def active_classes(
    actions: Sequence[Tuple[int, float, float]], frame_numbers: Sequence[int]
) -> List[int]:
    """Sorted classes with an action active on at least one of the frames (``start < t < end``)."""
    times = np.asarray([frame_time(int(n)) for n in frame_numbers], dtype=np.float64)
    found = set()
    for cls, start, end in actions:
        if np.any((times > start) & (times < end)):
            found.add(int(cls))
    return sorted(found)


def clip_labels(
    actions: Sequence[Tuple[int, float, float]],
    frame_numbers: Sequence[int],
    num_classes: int,
    video_id: str = "?",
) -> np.ndarray:
    """float32 (num_classes,) multi-hot union of the actions active on the clip's frames.

    Raises:
        DatasetFormatError: an action class outside ``0 .. num_classes - 1`` (names the video).
    """
    out = np.zeros(num_classes, dtype=np.float32)
    for cls in active_classes(actions, frame_numbers):
        if not 0 <= cls < num_classes:
            raise DatasetFormatError(
                f"video {video_id!r}: action class {cls} outside the {num_classes} classes"
            )
        out[cls] = 1.0
    return out


def spatial_crop_offsets(
    height: int, width: int, crop_size: int, spatial_index: int, num_crops: int
) -> Tuple[int, int]:
    """``(y0, x0)`` of a test crop of ``crop_size`` (PySlowFast ``uniform_crop``).

    One crop: the centre (``ceil((side - crop) / 2)``). Three crops: index 0 / 1 / 2 = left / centre
    / right for a landscape frame, top / centre / bottom for a portrait one (the longer side moves).
    """
    if num_crops not in (1, 3):
        raise ConfigError(f"TEST.CLIP.NUM_SPATIAL_CROPS={num_crops!r}; expected 1 or 3")
    if not 0 <= spatial_index < num_crops:
        raise ConfigError(f"spatial view {spatial_index} outside 0..{num_crops - 1}")
    if height < crop_size or width < crop_size:
        raise DatasetFormatError(
            f"frame {height}x{width} smaller than the crop {crop_size}x{crop_size}"
        )
    y0 = -(-(height - crop_size) // 2)
    x0 = -(-(width - crop_size) // 2)
    index = 1 if num_crops == 1 else spatial_index
    if index != 1:
        if height > width:
            y0 = 0 if index == 0 else height - crop_size
        else:
            x0 = 0 if index == 0 else width - crop_size
    return y0, x0
