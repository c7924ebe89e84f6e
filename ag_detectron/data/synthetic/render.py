"""Draw a synthetic video frame: room background, objects, and the stick-figure person.

Drawing order: wall and floor, objects resting under the person (baked into a per-video background
when they never move), moving objects drawn under the person, the person, then objects drawn over
the person (held, worn, covering, or resting in front). The head shows where the person faces:
face and eye on one side (left/right), two eyes (front), or only hair (seen from behind).
"""

from __future__ import annotations

from typing import List, Optional, Tuple

from PIL import Image, ImageDraw

from .appearance import BASE_H, BASE_W, STYLES, sprite
from .kinematics import HEAD_R, PersonPose, Placement, object_placements, person_pose
from .scene import FLOOR_PATCH_Y, WALL_BOTTOM_Y, Video

__all__ = ["VideoRenderer"]

_WALLS = {
    "Kitchen": (222, 214, 190),
    "Living room": (205, 215, 225),
    "Bedroom": (226, 208, 214),
    "Bathroom": (200, 226, 220),
    "Hallway": (215, 210, 200),
    "Home Office": (210, 220, 200),
    "Dining room": (230, 220, 200),
}
_FLOOR = (150, 150, 150)
_SKIN = (236, 188, 150)
_HAIR = (55, 35, 25)
_PANTS = (45, 50, 85)


class VideoRenderer:
    """Renders frames of one video at a fixed size; the static background is drawn once."""

    def __init__(self, video: Video, width: int, height: int):
        self.video = video
        self.width, self.height = width, height
        self.sx, self.sy = width / BASE_W, height / BASE_H
        self.s = min(self.sx, self.sy)
        dynamic = {h.obj for h in video.hands} | {h.tool for h in video.hands if h.tool >= 0}
        dynamic |= {m.obj for m in video.moves}
        self.static = [i for i, o in enumerate(video.objects) if i not in dynamic and not o.z_over]
        bg = Image.new("RGB", (width, height), _WALLS.get(video.scene, (215, 215, 215)))
        d = ImageDraw.Draw(bg)
        d.rectangle([0, self._y(WALL_BOTTOM_Y), width, height], fill=_FLOOR)
        d.line(
            [0, self._y(WALL_BOTTOM_Y), width, self._y(WALL_BOTTOM_Y)],
            fill=(90, 90, 90),
            width=max(1, int(2 * self.s)),
        )
        # floor patches first (they lie on the floor), then everything else in list order
        order = sorted(self.static, key=lambda i: (video.objects[i].name != "floor", i))
        for i in order:
            o = video.objects[i]
            self._paste(bg, o.name, (o.x, o.y, o.x + o.w, o.y + o.h), o.flip, "")
        self.background = bg

    def _x(self, x: float) -> float:
        return x * self.sx

    def _y(self, y: float) -> float:
        return y * self.sy

    def _paste(self, img: Image.Image, name: str, box, flip: bool, variant: str) -> None:
        spr = sprite(name, self.sx, self.sy, variant)
        if flip:
            spr = spr.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        x1, y1, x2, y2 = box
        bw, bh = (x2 - x1) * self.sx, (y2 - y1) * self.sy
        if (
            abs(bw - spr.width) > 1.5 or abs(bh - spr.height) > 1.5
        ):  # stretched (worn clothes, blanket)
            spr = spr.resize(
                (max(2, int(round(bw))), max(2, int(round(bh)))), Image.Resampling.NEAREST
            )
        img.paste(spr, (int(round(x1 * self.sx)), int(round(y1 * self.sy))), spr)

    def _draw_person(self, img: Image.Image, pose: PersonPose) -> None:
        d = ImageDraw.Draw(img)
        j = [(self._x(x), self._y(y)) for x, y in pose.joints]
        w_limb = max(2, int(round(4 * self.s)))
        w_torso = max(3, int(round(8 * self.s)))
        shirt = self.video.shirt
        # legs
        for a, b in ((11, 13), (13, 15), (12, 14), (14, 16)):
            d.line([j[a], j[b]], fill=_PANTS, width=w_limb)
        # torso: shoulder midpoint to hip midpoint
        sh = ((j[5][0] + j[6][0]) / 2, (j[5][1] + j[6][1]) / 2)
        hp = ((j[11][0] + j[12][0]) / 2, (j[11][1] + j[12][1]) / 2)
        d.line([sh, hp], fill=tuple(shirt), width=w_torso)
        # arms (left arm behind, right arm in front)
        for a, b in ((5, 7), (7, 9), (6, 8), (8, 10)):
            d.line(
                [j[a], j[b]], fill=tuple(max(0, c - 30) for c in shirt), width=max(2, w_limb - 1)
            )
        r = max(1.5, 1.8 * self.s)
        for k in (9, 10):
            d.ellipse([j[k][0] - r, j[k][1] - r, j[k][0] + r, j[k][1] + r], fill=_SKIN)
        if pose.holding_pen:
            x, y = j[10]
            d.line(
                [(x, y), (x + 4 * self.s, y - 6 * self.s)],
                fill=(10, 10, 10),
                width=max(1, int(self.s)),
            )
        # neck + head
        hx, hy = self._x(pose.head[0]), self._y(pose.head[1])
        hr = HEAD_R * self.s
        d.line([sh, (hx, hy)], fill=_SKIN, width=max(2, w_limb - 1))
        box = [hx - hr, hy - hr, hx + hr, hy + hr]
        if pose.facing == "back":
            d.ellipse(box, fill=_HAIR)
            return
        d.ellipse(box, fill=_SKIN)
        er = max(1.0, 1.4 * self.s)
        if pose.facing == "front":
            d.pieslice(box, 190, 350, fill=_HAIR)
            for ex in (hx - 3.5 * self.s, hx + 3.5 * self.s):
                d.ellipse([ex - er, hy - er, ex + er, hy + er], fill=(0, 0, 0))
            d.line(
                [(hx - 2 * self.s, hy + 4 * self.s), (hx + 2 * self.s, hy + 4 * self.s)],
                fill=(150, 60, 60),
                width=1,
            )
            return
        f = 1.0 if pose.facing == "right" else -1.0
        start, end = (100, 280) if f > 0 else (260, 440)
        d.pieslice(box, start, end, fill=_HAIR)
        ex = hx + f * 4.5 * self.s
        d.ellipse(
            [ex - er, hy - 1.5 * self.s - er, ex + er, hy - 1.5 * self.s + er], fill=(0, 0, 0)
        )
        nose = [
            (hx + f * hr, hy - 1 * self.s),
            (hx + f * (hr + 3 * self.s), hy + 2 * self.s),
            (hx + f * hr, hy + 3 * self.s),
        ]
        d.polygon(nose, fill=_SKIN)

    def render(
        self,
        t: float,
        pose: Optional[PersonPose] = None,
        placements: Optional[List[Placement]] = None,
    ) -> Image.Image:
        """The frame at time ``t`` (seconds) as an RGB ``PIL.Image``.

        ``pose`` / ``placements`` may be passed when already computed (they must be for ``t``).
        """
        if pose is None:
            pose = person_pose(self.video, t)
        if placements is None:
            placements = object_placements(self.video, t, pose)
        img = self.background.copy()
        static = set(self.static)
        objs = self.video.objects
        over: List[Tuple[int, Placement]] = []
        for i, pl in enumerate(placements):
            if i in static or pl.box is None:
                continue
            if pl.z_over and pose is not None:
                over.append((i, pl))
            else:
                self._paste(img, objs[i].name, pl.box, objs[i].flip, pl.variant)
        if pose is not None:
            self._draw_person(img, pose)
        for i, pl in over:
            self._paste(img, objs[i].name, pl.box, objs[i].flip, pl.variant)
        return img


_ = (STYLES, FLOOR_PATCH_Y)
