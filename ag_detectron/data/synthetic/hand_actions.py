"""Hand and gaze actions: hold, drink, eat, put on, touch, turn a doorknob, wipe, write, look at.

Each is scripted inside a posture window of the body, at the person's position ``px``: the involved
objects are placed within reach (or in view, for "look at"), then a sequence of hand segments and a
head facing are appended to the video. A function returns False, changing nothing, when the action
does not fit (class already used, no free space).
"""

from __future__ import annotations

from typing import Tuple

from .actions import HAND_TEMPLATES
from .appearance import STYLES
from .builder import Builder
from .scene import GROUND_Y, GazeSeg, HandSeg, ObjMove

__all__ = ["hand_action"]

_PUTAWAY_ITEMS = ("food", "cup/glass/bottle", "groceries", "box", "clothes", "towel")


def _portable_home(b: Builder, name: str, px: float, side: int) -> Tuple[float, float]:
    """Resting place on the floor just beside the person (side +1 right / -1 left)."""
    st = STYLES[name]
    gap = b.u(8, 18)
    x = px + gap if side > 0 else px - gap - st.w
    return min(max(x, 2.0), 318.0 - st.w), GROUND_Y - st.h


def _near_x(b: Builder, w: float, px: float, side: int) -> float:
    """x of an object of width w whose near edge is a little past the person's centre line."""
    off = b.u(-2, 10)
    return px + off if side > 0 else px - off - w


def _facing_toward(side: int) -> str:
    return "right" if side > 0 else "left"


def _portable(
    b: Builder, template: str, name: str, a: float, e: float, px: float, side: int
) -> bool:
    """hold / drink / eat / wear / backpack: reach for an object on the floor and use it."""
    hx, hy = _portable_home(b, name, px, side)
    o = b.add(name, hx, hy, annotated=True)
    t1 = a + 0.5
    hands = b.v.hands
    hands.append(HandSeg(a, t1, "touch", o))
    b.v.gaze.append(GazeSeg(a, t1, _facing_toward(side)))
    if template in ("drink", "eat"):
        m1, m2 = t1 + (e - t1) * b.u(0.2, 0.4), t1 + (e - t1) * b.u(0.6, 0.85)
        hands += [
            HandSeg(t1, m1, "hold", o),
            HandSeg(m1, m2, "hold", o, pos="mouth"),
            HandSeg(m2, e - 0.3, "hold", o),
            HandSeg(e - 0.3, e, "touch", o),
        ]
    elif template in ("wear", "backpack"):
        m = t1 + (e - t1) * b.u(0.3, 0.6)
        kind = "wear" if template == "wear" else "back"
        hands += [HandSeg(t1, m, "hold", o), HandSeg(m, b.v.length + 1.0, kind, o)]
        e = min(b.v.length, e + b.u(0.5, 1.5))
    else:
        up = b.rng.random() < 0.2
        m = t1 + (e - t1) * b.u(0.3, 0.6)
        hands += [
            HandSeg(t1, m, "hold", o, pos="up" if up else "chest"),
            HandSeg(m, e - 0.3, "hold", o),
            HandSeg(e - 0.3, e, "touch", o),
        ]
    b.action(template, name, a - b.u(0.0, 0.4), e, (o,))
    return True


def _cover(b: Builder, name: str, a: float, e: float, px: float, side: int) -> bool:
    hx, hy = _portable_home(b, name, px, side)
    o = b.add(name, hx, hy, annotated=True)
    b.v.hands += [HandSeg(a, a + 0.5, "touch", o), HandSeg(a + 0.5, b.v.length + 1.0, "cover", o)]
    b.action("cover", name, a - b.u(0.0, 0.4), min(b.v.length, e + 1.0), (o,))
    return True


def _at_object(
    b: Builder, template: str, name: str, a: float, e: float, px: float, side: int
) -> bool:
    """touch / twist / wipe / putaway: an object within reach of the standing person's hand."""
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
    hands = b.v.hands
    b.v.gaze.append(GazeSeg(a, e, _facing_toward(side)))
    objs: Tuple[int, ...] = (o,)
    if template == "touch":
        hands.append(HandSeg(a, e, "touch", o))
    elif template == "twist":
        kx = x + 3 if side > 0 else x + tst.w - 11
        k = b.add("doorknob", kx, y + 50, annotated=True)
        m = a + (e - a) * b.u(0.3, 0.5)
        hands += [HandSeg(a, m, "touch", k), HandSeg(m, e, "twist", k)]
        objs = (o, k)
    elif template == "wipe":
        tx, ty = _portable_home(b, "towel", px, -side)
        towel = b.add("towel", tx, ty, annotated=True)
        hands += [HandSeg(a, a + 0.5, "touch", towel), HandSeg(a + 0.5, e, "wipe", o, tool=towel)]
        b.v.moves.append(ObjMove(e, towel, tx, ty))
        objs = (o, towel)
    else:  # putaway: pick an item up, hold it, it disappears into the container
        items = [n for n in _PUTAWAY_ITEMS if not b.used(n)]
        if not items:
            hands.append(HandSeg(a, e, "touch", o))
        else:
            iname = items[int(b.rng.integers(len(items)))]
            ix, iy = _portable_home(b, iname, px, -side)
            it = b.add(iname, ix, iy, annotated=True)
            m = a + (e - a) * b.u(0.35, 0.55)
            hands += [
                HandSeg(a, a + 0.4, "touch", it),
                HandSeg(a + 0.4, m, "hold", it),
                HandSeg(m, e, "touch", o),
            ]
            b.v.moves.append(ObjMove(m, it, ix, iy, hidden=True))
            b.v.gaze.append(GazeSeg(a, a + 0.4, _facing_toward(-side)))
            objs = (o, it)
    b.action(template, name, a - b.u(0.0, 0.4), e, objs)
    return True


def _write(b: Builder, name: str, a: float, e: float, px: float, side: int, posture: str) -> bool:
    """A notebook on a table next to the person; the hand holds a pen on it."""
    tst, st = STYLES["table"], STYLES[name]
    if b.used("table"):
        return False
    if posture == "stand":
        x = _near_x(b, tst.w, px, side)
    else:
        x = px + 12 if side > 0 else px - 12 - tst.w
    if not b.floor_free(x, x + tst.w):
        return False
    tb = b.add("table", x, GROUND_Y - tst.h, annotated=True)
    nx = x + 4 if side > 0 else x + tst.w - 4 - st.w
    o = b.add(name, nx, GROUND_Y - tst.h - st.h, annotated=True)
    b.v.hands.append(HandSeg(a, e, "write", o))
    b.v.gaze.append(GazeSeg(a, e, _facing_toward(side)))
    b.action("write", name, a - b.u(0.0, 0.4), e, (o, tb))
    return True


def _watch(b: Builder, name: str, a: float, e: float, px: float, side: int) -> bool:
    """A wall object 30-110 units to the side, high or mid height; the head turns to it."""
    st = STYLES[name]
    for _ in range(20):
        x = px + side * b.u(30, 110) - st.w / 2
        y = b.u(6, 22) if (name == "light" or b.rng.random() < 0.4) else b.u(40, 80)
        if b.wall_free((x, y, x + st.w, y + st.h)):
            o = b.add(name, x, y, annotated=True)
            b.v.gaze.append(GazeSeg(a, e, _facing_toward(side)))
            b.action("watch", name, a - b.u(0.0, 0.4), e, (o,))
            return True
    return False


_NEEDS_FREE = {
    "twist": ("door", "doorknob"),
    "wipe": ("towel",),
    "write": ("paper/notebook", "table"),
}


def hand_action(b: Builder, template: str, a: float, e: float, px: float, posture: str) -> bool:
    """Script hand/gaze action ``template`` during [a, e] at person position px (module docstring).

    Returns False (and changes nothing) when the action does not fit the video.
    """
    if template not in HAND_TEMPLATES:
        raise ValueError(f"unknown hand template {template!r}")
    if any(b.used(n) for n in _NEEDS_FREE.get(template, ())):
        return False
    cands = [o for o in HAND_TEMPLATES[template][0] if not b.used(o)]
    if not cands:
        return False
    name = cands[int(b.rng.integers(len(cands)))]
    side = 1 if b.rng.random() < 0.5 else -1
    if template in ("hold", "drink", "eat", "wear", "backpack"):
        return _portable(b, template, name, a, e, px, side)
    if template == "cover":
        return _cover(b, name, a, e, px, side)
    if template in ("touch", "wipe", "putaway", "twist"):
        return _at_object(b, template, name, a, e, px, side)
    if template == "write":
        return _write(b, name, a, e, px, side, posture)
    return _watch(b, name, a, e, px, side)
