"""Scripted synthetic videos: a room, a person, 1-3 overlapping actions and distractor objects.

:func:`script_video` draws one :class:`~.scene.Video` from a ``numpy.random.Generator``. A video has
one *body* action (sit, stand up, lie, lean, walk through a doorway, walk on the floor, carry
something) or none, and 0-2 *hand/gaze* actions (hold, drink, eat, touch, twist a doorknob, put on,
wipe, write, look at, ...) placed while the body keeps a posture, so actions overlap in time. Head
turns ("glances") are sprinkled over the video so attention is not implied by the action.
Each object class appears at most once per video (Action Genome boxes one instance per class).
"""

from __future__ import annotations

import numpy as np

from .actions import BODY_TEMPLATE_WEIGHTS, BODY_TEMPLATES, HAND_TEMPLATE_WEIGHTS, HAND_TEMPLATES
from .appearance import OBJECT_NAMES, STYLES
from .builder import Builder
from .hand_actions import hand_action
from .kinematics import WALK_SPEED
from .scene import FLOOR_PATCH_Y, GROUND_Y, BodySeg, GazeSeg, HandSeg, ObjMove, Video

__all__ = ["SCENES", "FPS_CHOICES", "script_video"]

SCENES = ("Kitchen", "Living room", "Bedroom", "Bathroom", "Hallway", "Home Office", "Dining room")
FPS_CHOICES = ((24, 0.5), (30, 0.3), (25, 0.2))


# ------------------------------------------------------------------ body plans
def _plan_support(b: Builder, template: str) -> None:
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


def _plan_lean(b: Builder) -> None:
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


def _plan_doorway(b: Builder) -> None:
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


def _plan_walkfloor(b: Builder) -> None:
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


def _plan_carry(b: Builder) -> None:
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


def _plan_stand(b: Builder) -> None:
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


def _distractors(b: Builder, n: int) -> None:
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


def _glances(b: Builder) -> None:
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
    r, g, bl = (int(c) for c in rng.integers(40, 220, size=3))
    v = Video(vid=vid, fps=fps, length=length, scene=scene, split=split, shirt=(r, g, bl))
    b = Builder(rng, v)
    plans = list(BODY_TEMPLATE_WEIGHTS)
    weights = np.array(list(BODY_TEMPLATE_WEIGHTS.values()))
    plan = plans[int(rng.choice(len(plans), p=weights / weights.sum()))]
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
        if hand_action(b, template, a, a + dur, px, posture):
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


def _glances_over_actions(b: Builder) -> None:
    D = b.v.length
    for act in list(b.v.actions):
        if b.rng.random() < 0.6:
            dur = b.u(0.3, 0.9) * (act.end - act.start) * 0.5
            t0 = b.u(act.start, max(act.start, act.end - dur))
            facing = ("back", "left", "right", "front")[int(b.rng.integers(4))]
            b.v.gaze.append(GazeSeg(t0, min(D, t0 + dur), facing))
