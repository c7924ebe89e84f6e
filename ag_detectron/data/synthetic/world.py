"""Scripted synthetic videos: a room, a person, 1-3 overlapping actions and distractor objects.

:func:`script_video` draws one :class:`~.scene.Video` from a ``numpy.random.Generator``. A video has
one *body* action (sit, stand up, lie, lean, walk through a doorway, walk on the floor, carry
something) or none, and 0-2 *hand/gaze* actions (hold, drink, eat, touch, twist a doorknob, put on,
wipe, write, look at, ...) placed while the body keeps a posture, so actions overlap in time. Head
turns ("glances") are sprinkled over the video so attention is not implied by the action.
Each object class appears at most once per video (Action Genome boxes one instance per class).
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

from .actions import BODY_TEMPLATES, HAND_TEMPLATE_WEIGHTS, HAND_TEMPLATES, action_index
from .appearance import OBJECT_NAMES, STYLES
from .kinematics import WALK_SPEED
from .scene import (
    FLOOR_PATCH_Y,
    GROUND_Y,
    ActionSpan,
    BodySeg,
    GazeSeg,
    HandSeg,
    ObjMove,
    SceneObject,
    Video,
)

__all__ = ["SCENES", "FPS_CHOICES", "script_video"]

SCENES = ("Kitchen", "Living room", "Bedroom", "Bathroom", "Hallway", "Home Office", "Dining room")
FPS_CHOICES = ((24, 0.5), (30, 0.3), (25, 0.2))
X_MIN, X_MAX = 4.0, 316.0
_BODY_WEIGHTS = {
    "sit": 0.2, "standup": 0.1, "lie": 0.12, "lean": 0.1, "doorway": 0.1, "walkfloor": 0.08,
    "carry": 0.15, "stand": 0.15,
}


class _Builder:
    """Mutable state while scripting one video."""

    def __init__(self, rng: np.random.Generator, video: Video):
        self.rng = rng
        self.v = video
        self.floor_spans: List[Tuple[float, float]] = []  # furniture / floor patch x-intervals
        self.wall_spans: List[Tuple[float, float, float, float]] = []  # wall + furniture boxes
        self.item_spans: List[Tuple[float, float]] = []  # portable objects resting on the floor
        self.windows: List[Tuple[float, float, str, float, int]] = []  # (t0, t1, posture, x, dir)

    def u(self, a: float, b: float) -> float:
        return float(self.rng.uniform(a, b))

    def used(self, name: str) -> bool:
        return any(o.name == name for o in self.v.objects)

    def add(self, name: str, x: float, y: float, annotated: bool, **kw) -> int:
        if self.used(name):
            raise ValueError(f"{self.v.vid}: class {name} placed twice")
        self.v.objects.append(SceneObject(name, float(x), float(y), annotated=annotated, **kw))
        st = STYLES[name]
        if st.kind in ("furniture", "floor"):
            self.floor_spans.append((x, x + st.w))
        if st.kind in ("wall", "furniture"):
            self.wall_spans.append((x, y, x + st.w, y + st.h))
        if st.kind == "portable":
            self.item_spans.append((x, x + st.w))
        return len(self.v.objects) - 1

    def floor_free(self, x1: float, x2: float, margin: float = 2.0) -> bool:
        if x1 < X_MIN or x2 > X_MAX:
            return False
        return all(x2 + margin <= a or x1 - margin >= b for a, b in self.floor_spans)

    def wall_free(self, box: Tuple[float, float, float, float]) -> bool:
        x1, y1, x2, y2 = box
        if x1 < X_MIN or x2 > X_MAX or y1 < 2:
            return False
        return all(x2 + 2 <= a or x1 - 2 >= c or y2 + 2 <= b or y1 - 2 >= d for a, b, c, d in self.wall_spans)

    def find_floor_x(self, w: float, lo: float, hi: float, tries: int = 30) -> Optional[float]:
        lo, hi = max(lo, X_MIN), min(hi, X_MAX - w)
        if hi < lo:
            return None
        for _ in range(tries):
            x = self.u(lo, hi)
            if self.floor_free(x, x + w):
                return x
        return None

    def action(self, template: str, obj_name: str, start: float, end: float, objs: Tuple[int, ...]):
        start = round(max(0.0, start), 2)
        end = round(min(self.v.length, end), 2)
        if end - start < 0.5:
            return
        for i in objs:
            self.v.objects[i].annotated = True
        self.v.actions.append(ActionSpan(action_index(template, obj_name), start, end, tuple(objs)))

    def walk_time(self, x0: float, x1: float, budget: float) -> float:
        return min(abs(x1 - x0) / WALK_SPEED, budget)

    def start_x(self, target: float, lo: float = 50.0, hi: float = 130.0) -> float:
        for _ in range(20):
            x0 = target + (1 if self.rng.random() < 0.5 else -1) * self.u(lo, hi)
            if 12 <= x0 <= 308:
                return x0
        return 160.0


# ------------------------------------------------------------------ body plans
def _plan_support(b: _Builder, template: str) -> None:
    """sit / standup / lie on a chair, sofa, bed or the floor."""
    D = b.v.length
    objs = BODY_TEMPLATES[template][0]
    name = objs[int(b.rng.integers(len(objs)))]
    st = STYLES[name]
    flip = bool(b.rng.random() < 0.5) if name == "chair" else False
    y = FLOOR_PATCH_Y if name == "floor" else GROUND_Y - st.h
    x = b.find_floor_x(st.w, 10, 310)
    if x is None:
        x = 160 - st.w / 2
    s = b.add(name, x, y, annotated=True, flip=flip)
    if template == "lie":
        d = 1 if b.rng.random() < 0.5 else -1
        head_x = x + 5 if d > 0 else x + st.w - 5
        target = head_x + d * 48
    else:
        d = (-1 if flip else 1) if name == "chair" else (1 if b.rng.random() < 0.5 else -1)
        hip = x + (0.55 if flip else 0.45) * st.w if name == "chair" else x + b.u(0.3, 0.7) * st.w
        target = hip
    if template == "standup":
        tsu = D * b.u(0.4, 0.6)
        b.v.body.append(BodySeg(0.0, tsu, "sit", hip, support=s, direction=d))
        x_end = b.start_x(hip, 50, 110)
        b.v.body.append(BodySeg(tsu, D + 1.0, "walk", hip, x1=x_end))
        b.windows.append((0.0, tsu - 0.1, "sit", hip, d))
        b.action("standup", name, tsu - b.u(0.8, 1.6), tsu + b.u(1.0, 2.0), (s,))
        return
    x0 = b.start_x(target)
    ta = b.walk_time(x0, target, 0.45 * D)
    b.v.body.append(BodySeg(0.0, ta, "walk", x0, x1=target))
    if template == "lie":
        b.v.body.append(BodySeg(ta, D + 1.0, "lie", head_x, support=s, direction=d))
        b.windows.append((ta + 0.2, D, "lie", target, d))
    else:
        b.v.body.append(BodySeg(ta, D + 1.0, "sit", hip, support=s, direction=d))
        b.windows.append((ta + 0.2, D, "sit", hip, d))
    b.action(template, name, ta - b.u(0.6, 1.4), D - b.u(0.0, 0.6), (s,))


def _plan_lean(b: _Builder) -> None:
    D = b.v.length
    objs = BODY_TEMPLATES["lean"][0]
    name = objs[int(b.rng.integers(len(objs)))]
    st = STYLES[name]
    x = b.find_floor_x(st.w, 40, 280 - st.w)
    if x is None:
        x = 140.0
    s = b.add(name, x, GROUND_Y - st.h, annotated=True)
    d = 1 if b.rng.random() < 0.5 else -1
    px = x - 13 if d > 0 else x + st.w + 13
    x0 = b.start_x(px, 40, 100)
    ta = b.walk_time(x0, px, 0.4 * D)
    b.v.body.append(BodySeg(0.0, ta, "walk", x0, x1=px))
    b.v.body.append(BodySeg(ta, D + 1.0, "lean", px, support=s, direction=d))
    b.windows.append((ta + 0.2, D, "lean", px, d))
    b.action("lean", name, ta - b.u(0.4, 1.0), D - b.u(0.0, 0.5), (s,))


def _plan_doorway(b: _Builder) -> None:
    D = b.v.length
    st = STYLES["doorway"]
    x = b.find_floor_x(st.w, 40, 280 - st.w) or 130.0
    s = b.add("doorway", x, GROUND_Y - st.h + 2, annotated=True)
    cx = x + st.w / 2
    x0 = b.start_x(cx, 60, 120)
    d0 = 1 if cx > x0 else -1
    ts = D * b.u(0.0, 0.45) if b.rng.random() < 0.6 else 0.0  # stand a while before leaving
    ta = ts + b.walk_time(x0, cx, 0.35 * D)
    t_off = min(D - 0.8, ta + b.u(0.6, 1.4))
    if ts > 0:
        b.v.body.append(BodySeg(0.0, ts, "stand", x0, direction=d0))
        b.windows.append((0.0, ts - 0.1, "stand", x0, d0))
    b.v.body.append(BodySeg(ts, ta, "walk", x0, x1=cx))
    b.v.body.append(BodySeg(ta, t_off, "stand", cx, direction=d0))
    b.v.body.append(BodySeg(t_off, D + 1.0, "off", cx))
    b.v.gaze.append(GazeSeg(ta, t_off, "back"))  # walking into the doorway, away from the camera
    b.action("doorway", "doorway", ta - b.u(0.8, 1.6), t_off + b.u(0.3, 0.8), (s,))


def _plan_walkfloor(b: _Builder) -> None:
    D = b.v.length
    st = STYLES["floor"]
    x = b.find_floor_x(st.w, 60, 250 - st.w) or 105.0
    s = b.add("floor", x, FLOOR_PATCH_Y, annotated=True)
    d = 1 if b.rng.random() < 0.5 else -1
    x0 = x - b.u(20, 50) if d > 0 else x + st.w + b.u(20, 50)
    x1 = x + st.w + b.u(10, 40) if d > 0 else x - b.u(10, 40)
    x1 = min(max(x1, 14), 306)
    tw = min(abs(x1 - x0) / WALK_SPEED * b.u(1.0, 1.4), 0.8 * D)
    b.v.body.append(BodySeg(0.0, tw, "walk", x0, x1=x1))
    b.v.body.append(BodySeg(tw, D + 1.0, "stand", x1, direction=d))
    b.windows.append((tw + 0.1, D, "stand", x1, d))
    b.action("walkfloor", "floor", b.u(0.0, 0.5), tw + b.u(0.3, 1.0), (s,))


def _plan_carry(b: _Builder) -> None:
    D = b.v.length
    objs = BODY_TEMPLATES["carry"][0]
    name = objs[int(b.rng.integers(len(objs)))]
    st = STYLES[name]
    ox = b.u(30, 290 - st.w)
    s = b.add(name, ox, GROUND_Y - st.h, annotated=True)
    d = 1 if b.rng.random() < 0.5 else -1  # object to the right of where the person stops
    px = ox - 12 if d > 0 else ox + st.w + 12
    px = min(max(px, 14), 306)
    x0 = b.start_x(px, 30, 90)
    t1 = b.walk_time(x0, px, 0.3 * D)
    x2 = b.start_x(px, 60, 130)
    t2 = t1 + 0.6 + b.walk_time(px, x2, 0.35 * D)
    b.v.body.append(BodySeg(0.0, t1, "walk", x0, x1=px))
    b.v.body.append(BodySeg(t1, t1 + 0.6, "stand", px, direction=d))
    b.v.body.append(BodySeg(t1 + 0.6, t2, "walk", px, x1=x2))
    d2 = 1 if x2 > px else -1
    b.v.body.append(BodySeg(t2, D + 1.0, "stand", x2, direction=d2))
    b.v.hands.append(HandSeg(t1, t1 + 0.6, "touch", s))
    b.v.hands.append(HandSeg(t1 + 0.6, t2, "hold", s, pos="chest"))
    b.v.hands.append(HandSeg(t2, t2 + 0.5, "touch", s))
    nx = x2 + d2 * 12 - (0 if d2 > 0 else st.w)
    b.v.moves.append(ObjMove(t2, s, min(max(nx, 2), 318 - st.w), GROUND_Y - st.h))
    b.v.gaze.append(GazeSeg(t1, t1 + 0.6, "right" if d > 0 else "left"))
    b.windows.append((t2 + 0.6, D, "stand", x2, d2))
    b.action("carry", name, t1 - b.u(0.2, 0.6), t2 + b.u(0.3, 0.8), (s,))


def _plan_stand(b: _Builder) -> None:
    D = b.v.length
    x = b.u(40, 280)
    d = 1 if b.rng.random() < 0.5 else -1
    if b.rng.random() < 0.5:
        b.v.body.append(BodySeg(0.0, D + 1.0, "stand", x, direction=d))
        b.windows.append((0.0, D, "stand", x, d))
        return
    x0 = b.start_x(x, 30, 90)
    ta = b.walk_time(x0, x, 0.3 * D)
    b.v.body.append(BodySeg(0.0, ta, "walk", x0, x1=x))
    b.v.body.append(BodySeg(ta, D + 1.0, "stand", x, direction=1 if x > x0 else -1))
    b.windows.append((ta + 0.1, D, "stand", x, 1 if x > x0 else -1))


# ------------------------------------------------------------------ hand / gaze actions
def _side_of(b: _Builder, x: float) -> int:
    return 1 if b.rng.random() < 0.5 else -1


def _portable_home(b: _Builder, name: str, px: float, side: int) -> Tuple[float, float]:
    st = STYLES[name]
    gap = b.u(8, 18)
    x = px + gap if side > 0 else px - gap - st.w
    return min(max(x, 2.0), 318.0 - st.w), GROUND_Y - st.h


def _near_x(b: _Builder, w: float, px: float, side: int) -> float:
    """x of an object of width w whose near edge is a little past the person's centre line."""
    off = b.u(-2, 10)
    return px + off if side > 0 else px - off - w


def _facing_toward(side: int) -> str:
    return "right" if side > 0 else "left"


def _hand_action(b: _Builder, template: str, a: float, e: float, px: float, d: int, posture: str) -> bool:
    """Script one hand/gaze action in [a, e] at person position px. False if it does not fit."""
    objs = HAND_TEMPLATES[template][0]
    cands = [o for o in objs if not b.used(o)]
    if template == "twist" and (b.used("door") or b.used("doorknob")):
        return False
    if template == "wipe" and b.used("towel"):
        return False
    if template == "write" and b.used("paper/notebook"):
        return False
    if template == "putaway":
        cands = [o for o in cands if o in ("refrigerator", "closet/cabinet")]
    if not cands:
        return False
    name = cands[int(b.rng.integers(len(cands)))]
    st = STYLES[name]
    side = _side_of(b, px)
    hands, gaze = b.v.hands, b.v.gaze
    if template in ("hold", "drink", "eat", "wear", "backpack"):
        hx, hy = _portable_home(b, name, px, side)
        o = b.add(name, hx, hy, annotated=True)
        t1 = a + 0.5
        hands.append(HandSeg(a, t1, "touch", o))
        gaze.append(GazeSeg(a, t1, _facing_toward(side)))
        if template in ("drink", "eat"):
            m1, m2 = t1 + (e - t1) * b.u(0.2, 0.4), t1 + (e - t1) * b.u(0.6, 0.85)
            hands += [HandSeg(t1, m1, "hold", o), HandSeg(m1, m2, "hold", o, pos="mouth"),
                      HandSeg(m2, e - 0.3, "hold", o), HandSeg(e - 0.3, e, "touch", o)]
        elif template in ("wear", "backpack"):
            if template == "wear" and name == "clothes" and b.used("bag"):
                return True
            m = t1 + (e - t1) * b.u(0.3, 0.6)
            hands += [HandSeg(t1, m, "hold", o), HandSeg(m, b.v.length + 1.0,
                                                          "wear" if template == "wear" else "back", o)]
            e = min(b.v.length, e + b.u(0.5, 1.5))
        else:
            up = b.rng.random() < 0.2
            m = t1 + (e - t1) * b.u(0.3, 0.6)
            hands += [HandSeg(t1, m, "hold", o, pos="up" if up else "chest"),
                      HandSeg(m, e - 0.3, "hold", o), HandSeg(e - 0.3, e, "touch", o)]
        b.action(template, name, a - b.u(0.0, 0.4), e, (o,))
        return True
    if template == "cover":
        hx, hy = _portable_home(b, name, px, side)
        o = b.add(name, hx, hy, annotated=True)
        hands += [HandSeg(a, a + 0.5, "touch", o), HandSeg(a + 0.5, b.v.length + 1.0, "cover", o)]
        b.action(template, name, a - b.u(0.0, 0.4), min(b.v.length, e + 1.0), (o,))
        return True
    if template in ("touch", "wipe", "putaway", "twist"):
        tname = "door" if template == "twist" else name
        tst = STYLES[tname]
        x = _near_x(b, tst.w, px, side)
        if tst.kind == "wall":
            y = b.u(62, 96 - min(tst.h, 30))
            if not b.wall_free((x, y, x + tst.w, y + tst.h)):
                return False
        else:
            y = GROUND_Y - tst.h
            if not b.floor_free(x, x + tst.w):
                return False
        o = b.add(tname, x, y, annotated=True)
        gaze.append(GazeSeg(a, e, _facing_toward(side)))
        objs_: Tuple[int, ...] = (o,)
        if template == "touch":
            hands.append(HandSeg(a, e, "touch", o))
        elif template == "twist":
            kx = x + 3 if side > 0 else x + tst.w - 11
            k = b.add("doorknob", kx, y + 50, annotated=True)
            m = a + (e - a) * b.u(0.3, 0.5)
            hands += [HandSeg(a, m, "touch", k), HandSeg(m, e, "twist", k)]
            objs_ = (o, k)
        elif template == "wipe":
            tx, ty = _portable_home(b, "towel", px, -side)
            towel = b.add("towel", tx, ty, annotated=True)
            hands += [HandSeg(a, a + 0.5, "touch", towel), HandSeg(a + 0.5, e, "wipe", o, tool=towel)]
            b.v.moves.append(ObjMove(e, towel, tx, ty))
            objs_ = (o, towel)
        else:  # putaway: pick an item, hold it, it disappears into the container
            items = [n for n in ("food", "cup/glass/bottle", "groceries", "box", "clothes", "towel")
                     if not b.used(n)]
            if not items:
                hands.append(HandSeg(a, e, "touch", o))
            else:
                iname = items[int(b.rng.integers(len(items)))]
                ix, iy = _portable_home(b, iname, px, -side)
                it = b.add(iname, ix, iy, annotated=True)
                m = a + (e - a) * b.u(0.35, 0.55)
                hands += [HandSeg(a, a + 0.4, "touch", it), HandSeg(a + 0.4, m, "hold", it),
                          HandSeg(m, e, "touch", o)]
                b.v.moves.append(ObjMove(m, it, ix, iy, hidden=True))
                gaze.append(GazeSeg(a, a + 0.4, _facing_toward(-side)))
                objs_ = (o, it)
        b.action(template, name, a - b.u(0.0, 0.4), e, objs_)
        return True
    if template == "write":
        tst = STYLES["table"]
        if b.used("table"):
            return False
        x = _near_x(b, tst.w, px, side) if posture == "stand" else (px + 12 if side > 0 else px - 12 - tst.w)
        if not b.floor_free(x, x + tst.w):
            return False
        tb = b.add("table", x, GROUND_Y - tst.h, annotated=True)
        nx = x + 4 if side > 0 else x + tst.w - 4 - st.w
        o = b.add(name, nx, GROUND_Y - tst.h - st.h, annotated=True)
        hands.append(HandSeg(a, e, "write", o))
        gaze.append(GazeSeg(a, e, _facing_toward(side)))
        b.action(template, name, a - b.u(0.0, 0.4), e, (o, tb))
        return True
    if template == "watch":
        for _ in range(20):
            dist = b.u(30, 110)
            cx = px + side * dist
            x = cx - st.w / 2
            y = b.u(6, 22) if (name == "light" or b.rng.random() < 0.4) else b.u(40, 80)
            if b.wall_free((x, y, x + st.w, y + st.h)):
                o = b.add(name, x, y, annotated=True)
                gaze.append(GazeSeg(a, e, _facing_toward(side)))
                b.action(template, name, a - b.u(0.0, 0.4), e, (o,))
                return True
        return False
    raise ValueError(f"unknown hand template {template!r}")


def _distractors(b: _Builder, n: int) -> None:
    free = [c for c in OBJECT_NAMES if not b.used(c) and c not in ("floor", "doorknob")]
    b.rng.shuffle(free)
    placed = 0
    for name in free:
        if placed >= n:
            break
        st = STYLES[name]
        if st.kind == "wall":
            x, y = b.u(4, 316 - st.w), b.u(6, 100 - st.h) if st.h < 60 else 20.0
            if b.wall_free((x, y, x + st.w, y + st.h)):
                b.add(name, x, y, annotated=False)
                placed += 1
        elif st.kind == "furniture":
            x = b.find_floor_x(st.w, 4, 316)
            if x is not None:
                b.add(name, x, GROUND_Y - st.h + (2 if name == "doorway" else 0), annotated=False)
                placed += 1
        else:
            x = b.find_floor_x(st.w, 4, 316)
            if x is not None and all(x + st.w + 2 <= a or x - 2 >= c for a, c in b.item_spans):
                b.add(name, x, GROUND_Y - st.h, annotated=False)
                placed += 1


def _glances(b: _Builder) -> None:
    """Random head turns over the whole video: away, towards the camera, or from behind."""
    D = b.v.length
    n = int(b.rng.poisson(D * 0.3))
    for _ in range(n):
        t0 = b.u(0, D - 0.3)
        dur = b.u(0.4, 1.1)
        facing = ("back", "left", "right", "front")[int(b.rng.choice(4, p=[0.3, 0.25, 0.25, 0.2]))]
        b.v.gaze.append(GazeSeg(t0, t0 + dur, facing))


def script_video(rng: np.random.Generator, vid: str, split: str) -> Video:
    """Draw one scripted video (see module docstring).

    Args:
        rng: the video's own generator (one per video, so videos are independent of each other).
        vid: 5-character video id.
        split: "train" or "test".
    """
    fps_vals = [f for f, _ in FPS_CHOICES]
    fps = int(fps_vals[int(rng.choice(len(fps_vals), p=[p for _, p in FPS_CHOICES]))])
    length = round(float(rng.uniform(4.5, 7.0)), 2)
    scene = SCENES[int(rng.integers(len(SCENES)))]
    shirt = tuple(int(c) for c in rng.integers(40, 220, size=3))
    v = Video(vid=vid, fps=fps, length=length, scene=scene, split=split, shirt=shirt)  # type: ignore[arg-type]
    b = _Builder(rng, v)
    plans = list(_BODY_WEIGHTS)
    plan = plans[int(rng.choice(len(plans), p=list(_BODY_WEIGHTS.values())))]
    if plan in ("sit", "standup", "lie"):
        _plan_support(b, plan)
    elif plan == "lean":
        _plan_lean(b)
    elif plan == "doorway":
        _plan_doorway(b)
    elif plan == "walkfloor":
        _plan_walkfloor(b)
    elif plan == "carry":
        _plan_carry(b)
    else:
        _plan_stand(b)
    n_extra = int(rng.choice(3, p=[0.1, 0.4, 0.5])) if plan != "stand" else int(rng.choice([1, 2]))
    _glances(b)  # before hand actions: the action's own gaze is appended later and overrides
    done, attempts = 0, 0
    while done < n_extra and attempts < 8:
        attempts += 1
        wins = [w for w in b.windows if w[1] - w[0] >= 1.4]
        if not wins:
            break
        t0, t1, posture, px, d = wins[int(rng.integers(len(wins)))]
        templates = [t for t, spec in HAND_TEMPLATES.items() if posture in spec[2]]
        dur = min(t1 - t0, b.u(1.4, 2.8))
        a = b.u(t0, max(t0, t1 - dur))
        w = np.array([HAND_TEMPLATE_WEIGHTS[t] for t in templates])
        template = templates[int(rng.choice(len(templates), p=w / w.sum()))]
        if _hand_action(b, template, a, a + dur, px, d, posture):
            done += 1
            b.windows.remove((t0, t1, posture, px, d))
            if a - t0 >= 1.5:
                b.windows.append((t0, a - 0.1, posture, px, d))
            if t1 - (a + dur) >= 1.5:
                b.windows.append((a + dur + 0.1, t1, posture, px, d))
    # re-apply glances over the action gazes with a small probability so attention stays uncertain
    _glances_over_actions(b)
    _distractors(b, int(rng.integers(1, 4)))
    if not v.actions:  # every video needs an action (annotated frames come from action intervals)
        return script_video(rng, vid, split)
    v.actions.sort(key=lambda s: (s.start, s.cls))
    return v


def _glances_over_actions(b: _Builder) -> None:
    D = b.v.length
    for act in list(b.v.actions):
        if b.rng.random() < 0.6:
            dur = b.u(0.3, 0.9) * (act.end - act.start) * 0.5
            t0 = b.u(act.start, max(act.start, act.end - dur))
            facing = ("back", "left", "right", "front")[int(b.rng.integers(4))]
            b.v.gaze.append(GazeSeg(t0, min(D, t0 + dur), facing))
