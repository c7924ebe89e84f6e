"""The state of a synthetic video at an instant, and the relation labels that follow from it.

:func:`person_pose` places the 17 COCO keypoints of the stick figure; :func:`object_placements`
puts every object (resting, held, worn, ...); :func:`relation_labels` derives the Action Genome
labels of one object from that geometry alone, so every label is visible in the drawing:

* attention: head drawn from behind -> ``unsure``; facing left/right -> ``looking_at`` iff the
  object's centre lies more than ``GAZE_MARGIN`` on the faced side of the head; facing the camera
  -> ``looking_at`` iff the object is in front of the person (drawn over them).
* spatial (where the OBJECT is relative to the person): ``beneath`` iff it supports the person
  (sitting / lying / standing on it); ``in`` iff the object's box contains the person's box
  (plus ``behind`` / ``in_front_of`` by drawing order); ``above`` iff the object's bottom is above
  the person's top (plus ``on_the_side_of`` when also horizontally clear of them); otherwise
  ``in_front_of`` (drawn over) / ``behind`` (drawn under) when the boxes overlap horizontally by at
  least ``SIDE_OVERLAP`` of the narrower box, else ``on_the_side_of``.
* contacting: from what the body and hand do to the object (sitting_on, holding, ...), with
  ``carrying`` when an object is held while walking, and ``not_contacting`` otherwise.
"""

from __future__ import annotations

import math
from typing import Dict, List, NamedTuple, Optional, Tuple

import numpy as np

from .appearance import STYLES
from .scene import FLOOR_PATCH_Y, GROUND_Y, BodySeg, HandSeg, Video

__all__ = [
    "HEAD_R",
    "PersonPose",
    "Placement",
    "person_pose",
    "object_placements",
    "relation_labels",
    "seat_height",
    "GAZE_MARGIN",
    "SIDE_OVERLAP",
]

HEAD_R = 9.0
LIMB_HALF = 2.0  # half width of the drawn limbs
GAZE_MARGIN = 6.0
SIDE_OVERLAP = 0.3
WALK_SPEED = 70.0  # base units per second
STEP_HZ = 1.8

Box = Tuple[float, float, float, float]


class PersonPose(NamedTuple):
    """The person at an instant (base units).

    Attributes:
        joints: (17, 2) float, COCO keypoint order.
        head: (x, y) head centre.
        facing: "left" | "right" | "front" | "back".
        body_dir: +1 / -1, the direction the body faces (held objects go on that side).
        kind: body segment kind ("stand", "walk", "sit", "lie", "lean").
        support: object index the body rests on (sit / lie / lean) or -1.
        box: person box xyxy (tight, before clipping to the frame).
        holding_pen: the hand holds a pen (writing).
    """

    joints: np.ndarray
    head: Tuple[float, float]
    facing: str
    body_dir: int
    kind: str
    support: int
    box: Box
    holding_pen: bool


class Placement(NamedTuple):
    """Where an object is drawn at an instant."""

    box: Optional[Box]  # xyxy base units, None when hidden (put away)
    z_over: bool  # drawn over the person
    variant: str  # sprite variant ("" or "twisted")


def seat_height(video: Video, idx: int, kind: str) -> float:
    """y of the surface a person sits or lies on (base units)."""
    obj = video.objects[idx]
    frac = {"chair": 0.42, "sofa/couch": 0.45, "bed": 0.25}.get(obj.name)
    if obj.name == "floor":
        return FLOOR_PATCH_Y + 14.0
    if frac is None:
        raise ValueError(f"{obj.name} cannot be sat or lain on")
    return obj.y + frac * obj.h


def _facing(video: Video, t: float, default: str) -> str:
    facing = default
    for g in video.gaze:
        if g.t0 <= t < g.t1:
            facing = g.facing
    return facing


def _active_hand(video: Video, t: float) -> List[HandSeg]:
    return [h for h in video.hands if h.t0 <= t < h.t1]


def _body_dir(video: Video, t: float, seg: BodySeg) -> int:
    if seg.kind == "walk":
        return 1 if seg.x1 >= seg.x0 else -1
    return seg.direction


def _standing(x: float, walk_phase: Optional[float], lean: float) -> np.ndarray:
    j = np.zeros((17, 2), dtype=np.float64)
    hx = x + lean * 10.0
    j[0] = (hx, 67.0)
    j[5], j[6] = (x - 6 + lean * 8, 80.0), (x + 6 + lean * 8, 80.0)
    j[11], j[12] = (x - 4, 116.0), (x + 4, 116.0)
    if walk_phase is not None:
        s = 9.0 * math.sin(walk_phase)
        j[13], j[14] = (x - 2 + 0.5 * s, 137.0), (x + 2 - 0.5 * s, 137.0)
        j[15], j[16] = (x - 2 + s, GROUND_Y - 2), (x + 2 - s, GROUND_Y - 2)
    else:
        j[13], j[14] = (x - 4, 137.0), (x + 4, 137.0)
        j[15], j[16] = (x - 5, GROUND_Y - 2), (x + 5, GROUND_Y - 2)
    return j


def _sitting(x: float, seat_y: float, d: int) -> np.ndarray:
    j = np.zeros((17, 2), dtype=np.float64)
    j[0] = (x, seat_y - 52.0)
    j[5], j[6] = (x - 5, seat_y - 38.0), (x + 5, seat_y - 38.0)
    j[11], j[12] = (x - 3, seat_y - 3.0), (x + 3, seat_y - 3.0)
    j[13], j[14] = (x + d * 17 - 2, seat_y - 3.0), (x + d * 17 + 2, seat_y - 3.0)
    j[15], j[16] = (x + d * 18 - 2, GROUND_Y - 2), (x + d * 18 + 2, GROUND_Y - 2)
    return j


def _lying(x: float, surface_y: float, d: int) -> np.ndarray:
    """Head end at x, feet towards direction d."""
    j = np.zeros((17, 2), dtype=np.float64)
    y = surface_y - 6.0
    j[0] = (x + d * 9, surface_y - HEAD_R)
    j[5], j[6] = (x + d * 22, y - 2), (x + d * 22, y + 2)
    j[11], j[12] = (x + d * 56, y - 2), (x + d * 56, y + 2)
    j[13], j[14] = (x + d * 76, y - 2), (x + d * 76, y + 2)
    j[15], j[16] = (x + d * 95, y - 2), (x + d * 95, y + 2)
    return j


def _box_centred_at(cx: float, cy: float, w: float, h: float) -> Box:
    """``(x1, y1, x2, y2)`` of a ``w × h`` box centred at ``(cx, cy)``.

    Used for an object held in the hand.
    """
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def _nearest_point(box: Box, p: Tuple[float, float]) -> Tuple[float, float]:
    x1, y1, x2, y2 = box
    return (min(max(p[0], x1 + 1), x2 - 1), min(max(p[1], y1 + 1), y2 - 1))


def _resting_box(video: Video, idx: int, t: float) -> Tuple[Optional[Box], bool]:
    obj = video.objects[idx]
    x, y, hidden = obj.x, obj.y, False
    for m in video.moves:
        if m.obj == idx and m.t <= t:
            x, y, hidden = m.x, m.y, m.hidden
    if hidden:
        return None, obj.z_over
    return (x, y, x + obj.w, y + obj.h), obj.z_over


def person_pose(video: Video, t: float) -> Optional[PersonPose]:
    """Pose of the person at time ``t`` (seconds), or None when out of view."""
    seg = video.body_at(t)
    if seg is None or seg.kind == "off":
        return None
    d = _body_dir(video, t, seg)
    walk_phase = None
    if seg.kind == "walk":
        a = 0.0 if seg.t1 <= seg.t0 else min(1.0, max(0.0, (t - seg.t0) / (seg.t1 - seg.t0)))
        x = seg.x0 + a * (seg.x1 - seg.x0)
        walk_phase = 2 * math.pi * STEP_HZ * (t - seg.t0)
        joints = _standing(x, walk_phase, 0.0)
        default_facing = "right" if d > 0 else "left"
    elif seg.kind in ("stand", "lean"):
        joints = _standing(seg.x0, None, 1.4 * d if seg.kind == "lean" else 0.0)
        default_facing = "front"
    elif seg.kind == "sit":
        joints = _sitting(seg.x0, seat_height(video, seg.support, "sit"), d)
        default_facing = "front"
    elif seg.kind == "lie":
        joints = _lying(seg.x0, seat_height(video, seg.support, "lie"), d)
        default_facing = "front"
    else:
        raise ValueError(f"video {video.vid}: unknown body kind {seg.kind!r}")
    facing = _facing(video, t, default_facing)
    hx, hy = joints[0]
    # eyes / ears from the facing
    f = {"left": -1.0, "right": 1.0}.get(facing, 0.0)
    joints[1], joints[2] = (
        (hx + f * 4 - (0 if f else 3), hy - 1),
        (
            hx + f * 4 + (0 if f else 3),
            hy - 1,
        ),
    )
    joints[3], joints[4] = (hx - f * 3 - (0 if f else 7), hy), (hx - f * 3 + (0 if f else 7), hy)
    # arms: the right arm acts, the left arm rests along the body
    sh_l, sh_r = joints[5], joints[6]
    hands = _active_hand(video, t)
    wrist = None
    pen = False
    for h in hands:
        if h.kind == "hold":
            if h.pos == "mouth":
                wrist = (hx + d * 7, hy + 8)
            elif h.pos == "up":
                wrist = (sh_r[0] + d * 4, sh_r[1] - 40)
            else:
                wrist = (sh_r[0] + d * 8, sh_r[1] + 18)
        elif h.kind in ("touch", "wipe", "write", "twist", "cover"):
            box, _ = _resting_box(video, h.obj, t)
            if box is not None:
                if h.kind == "cover":
                    wrist = (sh_r[0] + d * 10, sh_r[1] - 4)
                else:
                    wrist = _nearest_point(box, (float(sh_r[0]), float(sh_r[1]) + 8))
                pen = pen or h.kind == "write"
    if seg.kind == "lean" and wrist is None and seg.support >= 0:
        box, _ = _resting_box(video, seg.support, t)
        if box is not None:
            wrist = _nearest_point(box, (float(sh_r[0]), float(sh_r[1]) + 6))
    if seg.kind == "lie":
        rest_r = (sh_r[0] + d * 22, sh_r[1] + 3)
        rest_l = (sh_l[0] + d * 22, sh_l[1] - 3)
    else:
        rest_r = (sh_r[0] + 2, sh_r[1] + 32)
        rest_l = (sh_l[0] - 2, sh_l[1] + 32)
    wr = wrist if wrist is not None else rest_r
    joints[10] = wr
    joints[9] = rest_l
    joints[8] = ((sh_r[0] + wr[0]) / 2 + 0.0, (sh_r[1] + wr[1]) / 2 + 4.0)
    joints[7] = ((sh_l[0] + rest_l[0]) / 2 - 1.0, (sh_l[1] + rest_l[1]) / 2)
    xs = np.concatenate([joints[:, 0], [hx - HEAD_R, hx + HEAD_R]])
    ys = np.concatenate([joints[:, 1], [hy - HEAD_R, hy + HEAD_R]])
    box = (
        float(xs.min() - LIMB_HALF),
        float(ys.min()),
        float(xs.max() + LIMB_HALF),
        float(ys.max() + LIMB_HALF),
    )
    return PersonPose(joints, (float(hx), float(hy)), facing, d, seg.kind, seg.support, box, pen)


def object_placements(video: Video, t: float, pose: Optional[PersonPose]) -> List[Placement]:
    """Where each object of ``video.objects`` is at time ``t``."""
    out: List[Placement] = []
    hands = _active_hand(video, t)
    for idx, obj in enumerate(video.objects):
        box, z_over = _resting_box(video, idx, t)
        variant = ""
        if box is not None and pose is not None:
            for h in hands:
                if h.obj == idx and h.kind == "hold":
                    cx, cy = pose.joints[10]
                    if h.pos == "up":
                        cy -= obj.h / 2 - 2
                    box, z_over = _box_centred_at(cx, cy, obj.w, obj.h), True
                elif h.obj == idx and h.kind == "wear":
                    j = pose.joints
                    if obj.name == "shoe":
                        ax, ay = j[16]
                        box = (
                            ax - obj.w / 2 + pose.body_dir * 3,
                            ay - obj.h / 2 + 1,
                            ax + obj.w / 2 + pose.body_dir * 3,
                            ay + obj.h / 2 + 1,
                        )
                    else:  # clothes: the torso
                        x1 = min(j[5, 0], j[6, 0], j[11, 0], j[12, 0]) - 5
                        x2 = max(j[5, 0], j[6, 0], j[11, 0], j[12, 0]) + 5
                        box = (x1, j[5, 1] - 3, x2, max(j[11, 1], j[12, 1]) + 2)
                    z_over = True
                elif h.obj == idx and h.kind == "back":
                    sx, sy = pose.joints[5]
                    cx = sx - pose.body_dir * 7
                    box, z_over = (cx - obj.w / 2, sy, cx + obj.w / 2, sy + obj.h), False
                elif h.obj == idx and h.kind == "cover":
                    j = pose.joints
                    xs = [j[5, 0], j[15, 0]]
                    box = (min(xs) - 2, j[5, 1] - 6, max(xs) + 2, j[5, 1] + obj.h - 6)
                    z_over = True
                elif h.tool == idx and h.kind == "wipe":
                    cx, cy = pose.joints[10]
                    box, z_over = _box_centred_at(cx, cy, obj.w, obj.h), True
                elif h.obj == idx and h.kind == "twist":
                    variant = "twisted"
        elif box is not None and pose is None:
            # the person is out of view: whatever they hold left with them
            for h in hands:
                if (h.obj == idx and h.kind in ("hold", "wear", "back", "cover")) or h.tool == idx:
                    box = None
        out.append(Placement(box, z_over, variant))
    return out


def _overlap_1d(a1: float, a2: float, b1: float, b2: float) -> float:
    return max(0.0, min(a2, b2) - max(a1, b1))


def relation_labels(
    video: Video, t: float, idx: int, pose: Optional[PersonPose], box: Box, z_over: bool
) -> Tuple[List[str], List[str], List[str]]:
    """Attention, spatial and contacting labels (pkl spellings) of visible object ``idx`` at ``t``.

    ``box`` is the object's (clipped) xyxy box; ``pose`` None means no person in view, which gives
    ``(['unsure'], [], ['not_contacting'])``.
    """
    if pose is None:
        return ["unsure"], [], ["not_contacting"]
    name = video.objects[idx].name
    px1, py1, px2, py2 = pose.box
    ox1, oy1, ox2, oy2 = box
    # contacting
    contact: List[str] = []
    kind = pose.kind
    if pose.support == idx and kind in ("sit", "lie", "lean"):
        contact.append({"sit": "sitting_on", "lie": "lying_on", "lean": "leaning_on"}[kind])
    feet_x = (pose.joints[15, 0] + pose.joints[16, 0]) / 2
    supports = pose.support == idx and kind in ("sit", "lie")
    if name == "floor" and kind in ("stand", "walk", "lean") and ox1 <= feet_x <= ox2:
        contact.append("standing_on")
        supports = True
    for h in _active_hand(video, t):
        if h.obj == idx:
            if h.kind == "hold":
                if h.pos == "mouth":
                    verb = "drinking_from" if name == "cup/glass/bottle" else "eating"
                    contact += ["holding", verb]
                else:
                    contact.append("carrying" if kind == "walk" else "holding")
            else:
                contact.append(
                    {
                        "touch": "touching",
                        "wear": "wearing",
                        "back": "have_it_on_the_back",
                        "cover": "covered_by",
                        "wipe": "wiping",
                        "write": "writing_on",
                        "twist": "twisting",
                    }[h.kind]
                )
        elif h.tool == idx:
            contact.append("holding")
    if not contact:
        contact = ["not_contacting"]
    # spatial
    spatial: List[str] = []
    contained = ox1 <= px1 + 2 and ox2 >= px2 - 2 and oy1 <= py1 + 2 and oy2 >= py2 - 2
    hov = _overlap_1d(ox1, ox2, px1, px2) / max(1e-6, min(ox2 - ox1, px2 - px1))
    if supports:
        spatial.append("beneath")
    elif contained:
        spatial += ["in", "in_front_of" if z_over else "behind"]
    elif oy2 <= py1:
        spatial.append("above")
        if hov <= 0.0:
            spatial.append("on_the_side_of")
    elif hov >= SIDE_OVERLAP and _overlap_1d(oy1, oy2, py1, py2) > 0:
        spatial.append("in_front_of" if z_over else "behind")
    else:
        spatial.append("on_the_side_of")
    # attention
    hx, _ = pose.head
    if pose.facing == "back":
        attention = "unsure"
    elif pose.facing == "front":
        attention = "looking_at" if "in_front_of" in spatial else "not_looking_at"
    else:
        s = 1.0 if pose.facing == "right" else -1.0
        attention = "looking_at" if s * ((ox1 + ox2) / 2 - hx) > GAZE_MARGIN else "not_looking_at"
    return [attention], spatial, contact


def clip_box(box: Box, width: float, height: float) -> Optional[Box]:
    """Clip an xyxy box to the frame; None when less than 2 units remain in either direction."""
    x1, y1, x2, y2 = max(0.0, box[0]), max(0.0, box[1]), min(width, box[2]), min(height, box[3])
    if x2 - x1 < 2.0 or y2 - y1 < 2.0:
        return None
    return (x1, y1, x2, y2)


def style_kind(name: str) -> str:
    return STYLES[name].kind


_ = Dict  # typing re-export guard
