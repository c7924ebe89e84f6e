"""Bookkeeping while one synthetic video is scripted: free floor / wall space, actions, windows."""

from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

from .actions import action_index
from .appearance import STYLES
from .kinematics import WALK_SPEED
from .scene import ActionSpan, SceneObject, Video

__all__ = ["X_MIN", "X_MAX", "Builder"]

X_MIN, X_MAX = 4.0, 316.0


class Builder:
    """Mutable state while scripting one video.

    ``windows`` are stretches where the body keeps one posture at one place,
    ``(t0, t1, posture, x, direction)``; hand / gaze actions are placed inside them.
    """

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
        return all(
            x2 + 2 <= a or x1 - 2 >= c or y2 + 2 <= b or y1 - 2 >= d
            for a, b, c, d in self.wall_spans
        )

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
