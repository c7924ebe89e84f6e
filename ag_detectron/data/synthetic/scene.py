"""Data model of one synthetic video: the objects, the person's scripted timeline and the actions.

Everything is in base units (pixels of a 320x180 frame) and seconds. A :class:`Video` is a pure
description; :mod:`.kinematics` turns it into the state of any instant, :mod:`.render` draws that
state and :mod:`.writer` writes the release files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from .appearance import STYLES

__all__ = [
    "GROUND_Y",
    "WALL_BOTTOM_Y",
    "FLOOR_PATCH_Y",
    "SceneObject",
    "BodySeg",
    "HandSeg",
    "ObjMove",
    "GazeSeg",
    "ActionSpan",
    "Video",
]

GROUND_Y = 160.0  # feet and furniture stand on this line
WALL_BOTTOM_Y = 132.0  # wall above, floor band below
FLOOR_PATCH_Y = 138.0  # top of the "floor" object patch (a planked area of the floor band)

BODY_KINDS = ("stand", "walk", "sit", "lie", "lean", "off")
HAND_KINDS = ("touch", "hold", "wear", "back", "cover", "wipe", "write", "twist")
HOLD_POSITIONS = ("chest", "mouth", "up")
FACINGS = ("left", "right", "front", "back")


@dataclass
class SceneObject:
    """One object instance at its initial resting place (top-left ``x, y``)."""

    name: str
    x: float
    y: float
    flip: bool = False  # mirror the sprite (chairs: which side the seat faces)
    z_over: bool = False  # drawn over the person when resting (e.g. a table in front)
    annotated: bool = False  # involved in an action (distractors are drawn but never boxed)

    @property
    def w(self) -> float:
        return float(STYLES[self.name].w)

    @property
    def h(self) -> float:
        return float(STYLES[self.name].h)

    @property
    def box(self) -> Tuple[float, float, float, float]:
        """Resting box, xyxy base units."""
        return (self.x, self.y, self.x + self.w, self.y + self.h)


@dataclass(frozen=True)
class BodySeg:
    """What the body does during ``[t0, t1)``.

    kind: "stand" at ``x0``; "walk" from ``x0`` to ``x1``; "sit" / "lie" / "lean" on object
    ``support`` with hip (sit), head end (lie) or feet (lean) at ``x0``; "off" = out of view.
    ``direction`` (+1 right, -1 left): where the legs point (sit), the feet are (lie), the object
    is (lean), or the body faces (stand).
    """

    t0: float
    t1: float
    kind: str
    x0: float
    x1: float = 0.0
    support: int = -1
    direction: int = 1


@dataclass(frozen=True)
class HandSeg:
    """What the (right) hand does to object ``obj`` during ``[t0, t1)``.

    kind: "touch" (hand on the object), "hold" (object in the hand at ``pos``: chest / mouth / up),
    "wear" (clothes on the torso, shoe on the foot), "back" (bag on the back), "cover" (blanket over
    the lying body), "wipe" (hand with ``tool``, a towel, rubbing the object), "write" (hand with a
    pen on the object), "twist" (hand turning a doorknob; the knob is drawn turned).
    """

    t0: float
    t1: float
    kind: str
    obj: int
    pos: str = "chest"
    tool: int = -1


@dataclass(frozen=True)
class ObjMove:
    """From time ``t`` object ``obj`` rests at top-left ``(x, y)``; ``hidden``: put away."""

    t: float
    obj: int
    x: float = 0.0
    y: float = 0.0
    hidden: bool = False


@dataclass(frozen=True)
class GazeSeg:
    """Head facing during ``[t0, t1)``; later segments override earlier ones."""

    t0: float
    t1: float
    facing: str


@dataclass(frozen=True)
class ActionSpan:
    """A Charades-style action: class index, interval (seconds), involved object indices."""

    cls: int
    start: float
    end: float
    objects: Tuple[int, ...]


@dataclass
class Video:
    """A whole scripted video (see module docstring)."""

    vid: str
    fps: int
    length: float
    scene: str
    split: str
    shirt: Tuple[int, int, int]
    objects: List[SceneObject] = field(default_factory=list)
    body: List[BodySeg] = field(default_factory=list)
    hands: List[HandSeg] = field(default_factory=list)
    moves: List[ObjMove] = field(default_factory=list)
    gaze: List[GazeSeg] = field(default_factory=list)
    actions: List[ActionSpan] = field(default_factory=list)

    def num_native_frames(self) -> int:
        """Frames at the native fps (1-based indices 1..n)."""
        return max(1, int(self.length * self.fps + 1e-6))

    def num_charades_frames(self) -> int:
        """Frames at 24 fps (Charades_v1_rgb)."""
        return max(1, int(self.length * 24 + 1e-6))

    def body_at(self, t: float) -> Optional[BodySeg]:
        for seg in self.body:
            if seg.t0 <= t < seg.t1:
                return seg
        return self.body[-1] if self.body else None
