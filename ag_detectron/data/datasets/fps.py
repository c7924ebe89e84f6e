"""Frame-rate conversion between Action Genome frames (native fps) and Charades frames (24 fps).

AG frame numbers are 1-based indices at each video's native frame rate; ``Charades_v1_rgb`` frames
are 1-based at 24 fps (docs/ag_format.md §8). The per-video fps comes from the sidecar JSON
``<AG root>/annotations/video_fps.json`` = ``{"<VIDEO_ID>": fps, ...}``, written by
``tools/dump_frames.py`` (read from each mp4 container) and by the synthetic-data generator.
"""

from __future__ import annotations

import json
import math
import os
from typing import Dict

from ag_detectron.errors import DatasetFormatError

__all__ = [
    "CHARADES_FPS",
    "VIDEO_FPS_FILE",
    "ag_frame_to_seconds",
    "seconds_to_charades_frame",
    "ag_frame_to_charades_frame",
    "load_video_fps",
]

CHARADES_FPS = 24.0
VIDEO_FPS_FILE = os.path.join("annotations", "video_fps.json")  # relative to the AG root


def ag_frame_to_seconds(frame_number: int, fps: float) -> float:
    """Time in seconds of a 1-based AG frame: ``t = (n_AG - 1) / fps``."""
    if frame_number < 1 or not (fps > 0 and math.isfinite(fps)):
        raise ValueError(f"expected a 1-based frame number and fps > 0, got {frame_number}, {fps}")
    return (frame_number - 1) / fps


def seconds_to_charades_frame(t: float, charades_fps: float = CHARADES_FPS) -> int:
    """1-based Charades frame at time ``t``: ``round(t * 24) + 1`` (halves round up)."""
    if t < 0 or not math.isfinite(t):
        raise ValueError(f"expected a time >= 0 in seconds, got {t}")
    return int(math.floor(t * charades_fps + 0.5)) + 1


def ag_frame_to_charades_frame(frame_number: int, fps: float) -> int:
    """1-based 24-fps Charades frame showing the same instant as AG frame ``frame_number`` at
    ``fps``."""
    return seconds_to_charades_frame(ag_frame_to_seconds(frame_number, fps))


def load_video_fps(path: str) -> Dict[str, float]:
    """Read the ``{"VIDEO_ID": fps}`` sidecar; raise DatasetFormatError on a missing file or bad
    value."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            table = json.load(f)
    except FileNotFoundError:
        raise DatasetFormatError(
            f"{path}: per-video fps file not found; write it with tools/dump_frames.py"
        ) from None
    except json.JSONDecodeError as e:
        raise DatasetFormatError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(table, dict):
        raise DatasetFormatError(f"{path}: expected a JSON object {{video_id: fps}}")
    out = {}
    for vid, fps in table.items():
        if (
            isinstance(fps, bool)
            or not isinstance(fps, (int, float))
            or not (fps > 0 and math.isfinite(fps))
        ):
            raise DatasetFormatError(f"{path}: video {vid!r}: fps {fps!r}; expected a number > 0")
        out[vid] = float(fps)
    return out
