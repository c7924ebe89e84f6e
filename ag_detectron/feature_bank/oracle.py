"""The oracle bank: Action Genome's ground-truth scene graphs placed on the 24-fps timeline.

Each annotated AG frame of a video becomes one entry with ``C[i, j] = 1`` for every annotated
(object class i, predicate j) of the frame (flattened object-major like
:func:`~.scene_graph.confidence_matrix`). AG frame numbers count frames at the video's **native**
fps, so the entry's time is found with that fps (``t = (n_AG - 1) / fps``), snapped to the
1-based 24-fps Charades frame ``n_24 = round(t * 24) + 1`` and stored at ``(n_24 - 1) / 24`` s.
Two AG frames that land on the same 24-fps frame are merged (element-wise max) and counted.

**Label leakage.** AG annotated frames exist only inside action intervals and only the objects
involved in the action are boxed, so the oracle bank tells the classifier where actions happen and
which object they involve. Its mAP is an upper bound that includes this leakage, never a model
result (docs/feature_bank.md).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Optional, Tuple

import numpy as np

from ag_detectron.data.datasets.fps import (
    CHARADES_FPS,
    ag_frame_to_seconds,
    seconds_to_charades_frame,
)

from .errors import FeatureBankError
from .scene_graph import scene_graph_provenance
from .writer import FeatureBankWriter

__all__ = ["OracleVideo", "oracle_entries", "write_oracle_bank", "oracle_provenance"]

_GROUPS = ("attention", "spatial", "contacting")


class OracleVideo(NamedTuple):
    """One video's oracle entries.

    Attributes:
        times: ``(n,)`` float64 seconds on the 24-fps timeline, increasing.
        charades_frames: ``(n,)`` int64 1-based 24-fps frame of each entry.
        entries: ``(n, num_object_classes * P)`` float32, 0/1.
    """

    times: np.ndarray
    charades_frames: np.ndarray
    entries: np.ndarray


def oracle_provenance(num_predicates: int = 26, dtype: str = "float16"):
    """Provenance of an oracle bank (``rate=None``: irregular timestamps)."""
    return scene_graph_provenance("oracle", num_predicates, rate=None, dtype=dtype)


def _frame_matrix(
    frame: Mapping[str, Any], num_objects: int, num_pred: int, first_object_id: int
) -> np.ndarray:
    out = np.zeros((num_objects, num_pred), dtype=np.float32)
    annos = frame["annotations"]
    where = f"video {frame['video_id']} frame {frame['frame_number']}"
    for rel in frame.get("relations", []):
        cat = int(annos[rel["object"]]["category_id"])
        row = cat - first_object_id
        if not 0 <= row < num_objects:
            raise FeatureBankError(f"oracle: {where}: relation object has category {cat}")
        for group in _GROUPS:
            for j in rel.get(group, []):
                if not 0 <= int(j) < num_pred:
                    raise FeatureBankError(
                        f"oracle: {where}: predicate id {j} outside 0..{num_pred - 1} (were the "
                        f"frames loaded with a different number of predicates?)"
                    )
                out[row, int(j)] = 1.0
    return out.reshape(-1)


def oracle_entries(
    frames: Iterable[Mapping[str, Any]],
    video_fps: Mapping[str, float],
    *,
    num_predicates: int = 26,
    num_object_classes: int = 35,
    first_object_id: int = 1,
    fps_file: str = "video_fps.json",
) -> Tuple[Dict[str, OracleVideo], Counter]:
    """Oracle entries of every video in ``frames`` (module docstring).

    Args:
        frames: Action Genome per-frame dicts (``DatasetCatalog.get("ag_*")``): ``video_id``,
            ``frame_number`` (1-based, native fps), ``annotations`` (``category_id``),
            ``relations`` (object index and global predicate ids per group). A relation whose
            subject is -1 (frame without a person box) still counts: the pair was annotated.
        video_fps: ``{video_id: fps}`` (the ``annotations/video_fps.json`` sidecar).
        num_predicates: predicate ids of the frames (26, or 25 when loaded without
            ``other_relationship``).
        fps_file: named in the error for a video without an fps.

    Returns:
        ``({video_id: OracleVideo}, counts)``; counts: ``frames``, ``entries``,
        ``merged_frames`` (AG frames sharing a 24-fps frame with another), ``videos``.
    """
    per_video: Dict[str, Dict[int, np.ndarray]] = defaultdict(dict)
    counts: Counter = Counter()
    for frame in frames:
        vid = frame["video_id"]
        if vid not in video_fps:
            raise FeatureBankError(
                f"{fps_file}: no fps for video {vid!r}; the oracle bank needs each video's native "
                f"fps to place AG frame {frame['frame_number']} on the 24-fps timeline"
            )
        n24 = seconds_to_charades_frame(
            ag_frame_to_seconds(int(frame["frame_number"]), video_fps[vid])
        )
        mat = _frame_matrix(frame, num_object_classes, num_predicates, first_object_id)
        counts["frames"] += 1
        slots = per_video[vid]
        if n24 in slots:
            np.maximum(slots[n24], mat, out=slots[n24])
            counts["merged_frames"] += 1
        else:
            slots[n24] = mat
    out: Dict[str, OracleVideo] = {}
    dim = num_object_classes * num_predicates
    for vid, slots in per_video.items():
        order = sorted(slots)
        n24 = np.asarray(order, dtype=np.int64)
        entries = np.stack([slots[k] for k in order]) if order else np.zeros((0, dim), np.float32)
        out[vid] = OracleVideo((n24 - 1) / CHARADES_FPS, n24, entries)
        counts["entries"] += len(order)
    counts["videos"] = len(out)
    return out, counts


def write_oracle_bank(
    writer: FeatureBankWriter,
    frames: Iterable[Mapping[str, Any]],
    video_fps: Mapping[str, float],
    videos: Optional[Iterable[str]] = None,
    durations: Optional[Mapping[str, float]] = None,
    fps_file: str = "video_fps.json",
) -> Counter:
    """Write the oracle bank's shards (consolidate afterwards).

    Args:
        writer: a writer whose provenance is :func:`oracle_provenance`.
        frames, video_fps, fps_file: as :func:`oracle_entries`.
        videos: every video the bank must cover (e.g. all Charades ids); a video without AG
            frames gets an empty shard (its windows are all padding), counted as
            ``videos_without_frames``. Default: the videos of ``frames``.
        durations: ``{video_id: seconds}`` (Charades ``length``); default: the writer's rule. A
            video whose last annotated frame lies after its length gets that frame's time as
            its duration, counted as ``durations_extended``.
    """
    prov = writer.provenance
    if prov.kind != "oracle":
        raise FeatureBankError(f"{writer.bank_dir}: writer kind {prov.kind!r}; expected 'oracle'")
    num_pred = len(prov.vocabulary["predicates"])
    per_video, counts = oracle_entries(
        frames,
        video_fps,
        num_predicates=num_pred,
        num_object_classes=len(prov.vocabulary["objects"]),
        fps_file=fps_file,
    )
    wanted: List[str] = sorted(set(videos) if videos is not None else set(per_video))
    for vid in wanted:
        item = per_video.get(vid)
        if item is None:
            counts["videos_without_frames"] += 1
            item = OracleVideo(np.zeros(0), np.zeros(0, np.int64), np.zeros((0, prov.dim)))
        duration = None
        if durations is not None and vid in durations:
            duration = float(durations[vid])
            last = float(item.times[-1]) if len(item.times) else 0.0
            if last > duration:  # an annotated frame after the listed length: keep the frame
                counts["durations_extended"] += 1
                duration = last
        if writer.write(vid, item.times, item.entries, duration=duration):
            counts["written"] += 1
        else:
            counts["skipped_existing"] += 1
    # videos with AG frames that the caller did not list are not written (counted)
    counts["videos_not_requested"] = len(set(per_video) - set(wanted))
    return counts
