"""Action Genome annotation records of a scripted video: which frames, which objects, which labels.

Frames are chosen the way Action Genome chose them: 5 frames uniformly inside each action interval,
numbered 1-based at the video's native fps. Only the objects involved in the actions that contain
the frame are annotated. Person boxes imitate a detector: the drawn figure's box with a little
deterministic jitter, a score and COCO keypoints.
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from .appearance import BASE_H, BASE_W
from .kinematics import clip_box, object_placements, person_pose, relation_labels
from .scene import Video

__all__ = [
    "FRAMES_PER_ACTION",
    "ObjectRecord",
    "PersonRecord",
    "FrameRecord",
    "sample_frames",
    "annotate_video",
]

FRAMES_PER_ACTION = 5


class ObjectRecord(NamedTuple):
    """One entry of ``object_bbox_and_relationship.pkl`` (before serialisation)."""

    name: str  # pkl spelling
    bbox: Optional[Tuple[float, float, float, float]]  # (x, y, w, h) pixels, None when invisible
    attention: Optional[List[str]]
    spatial: Optional[List[str]]
    contacting: Optional[List[str]]


class PersonRecord(NamedTuple):
    """One entry of ``person_bbox.pkl`` (n = 0 or 1 rows)."""

    bbox: np.ndarray  # float32 (n, 4) xyxy
    score: np.ndarray  # float32 (n,)
    keypoints: np.ndarray  # float32 (n, 17, 3)
    keypoint_logits: np.ndarray  # float32 (n, 17)


class FrameRecord(NamedTuple):
    vid: str
    frame: int  # 1-based, native fps
    t: float  # seconds
    person: PersonRecord
    objects: List[ObjectRecord]


def sample_frames(video: Video) -> Dict[int, Tuple[int, ...]]:
    """Native frame number -> indices (into ``video.actions``) of the actions that sampled it."""
    n_max = video.num_native_frames()
    out: Dict[int, List[int]] = {}
    for ai, act in enumerate(video.actions):
        span = act.end - act.start
        for k in range(FRAMES_PER_ACTION):
            t = act.start + (k + 0.5) * span / FRAMES_PER_ACTION
            n = min(max(int(round(t * video.fps)) + 1, 1), n_max)
            out.setdefault(n, []).append(ai)
    return {n: tuple(sorted(set(a))) for n, a in sorted(out.items())}


def _person_record(
    pose, sx: float, sy: float, width: int, height: int, rng: np.random.Generator
) -> PersonRecord:
    empty = PersonRecord(
        np.zeros((0, 4), np.float32),
        np.zeros((0,), np.float32),
        np.zeros((0, 17, 3), np.float32),
        np.zeros((0, 17), np.float32),
    )
    if pose is None:
        return empty
    x1, y1, x2, y2 = pose.box
    jitter = rng.normal(0.0, 1.0, size=4)
    box = clip_box(
        (x1 * sx + jitter[0], y1 * sy + jitter[1], x2 * sx + jitter[2], y2 * sy + jitter[3]),
        width,
        height,
    )
    if (
        box is None
        or (box[2] - box[0]) * (box[3] - box[1]) < 0.25 * (x2 - x1) * (y2 - y1) * sx * sy
    ):
        return empty  # mostly out of view: the "detector" misses it
    kp = np.ones((1, 17, 3), np.float32)
    kp[0, :, 0] = np.clip(pose.joints[:, 0] * sx + rng.normal(0, 0.7, 17), 0, width - 1)
    kp[0, :, 1] = np.clip(pose.joints[:, 1] * sy + rng.normal(0, 0.7, 17), 0, height - 1)
    logits = rng.normal(6.0, 2.0, size=(1, 17)).astype(np.float32)
    score = np.array([rng.uniform(0.9, 0.999)], np.float32)
    return PersonRecord(np.array([box], np.float32), score, kp, logits)


def annotate_video(
    video: Video, width: int, height: int, rng: np.random.Generator
) -> List[FrameRecord]:
    """Annotation records of every AG-sampled frame of ``video``, in frame order.

    Args:
        video: the scripted video.
        width, height: frame size in pixels.
        rng: the video's jitter generator (person box noise, detector scores, keypoint logits).
    """
    sx, sy = width / BASE_W, height / BASE_H
    records: List[FrameRecord] = []
    for n, action_ids in sample_frames(video).items():
        t = (n - 1) / video.fps
        pose = person_pose(video, t)
        person = _person_record(pose, sx, sy, width, height, rng)
        if person.bbox.shape[0] == 0:
            pose = None
        placements = object_placements(video, t, pose)
        active = set(action_ids) | {
            i for i, a in enumerate(video.actions) if a.start - 1e-6 <= t <= a.end + 1e-6
        }
        obj_ids = sorted({o for i in active for o in video.actions[i].objects})
        objects: List[ObjectRecord] = []
        for oi in obj_ids:
            pl = placements[oi]
            box = None if pl.box is None else clip_box(pl.box, BASE_W, BASE_H)
            name = video.objects[oi].name
            if box is None:
                objects.append(ObjectRecord(name, None, None, None, None))
                continue
            att, spa, con = relation_labels(video, t, oi, pose, box, pl.z_over)
            x1, y1, x2, y2 = (
                float(box[0]) * sx,
                float(box[1]) * sy,
                float(box[2]) * sx,
                float(box[3]) * sy,
            )
            xywh = (
                round(x1, 2),
                round(y1, 2),
                round(x2 - x1, 2),
                round(y2 - y1, 2),
            )  # Python floats
            objects.append(ObjectRecord(name, xywh, att, spa, con))
        records.append(FrameRecord(video.vid, n, t, person, objects))
    return records


def frame_times_24fps(video: Video) -> Sequence[float]:
    """Times of the Charades 24-fps frames 1..n."""
    return [i / 24.0 for i in range(video.num_charades_frames())]
