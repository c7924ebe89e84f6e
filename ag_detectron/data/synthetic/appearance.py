"""What each of the 35 Action Genome object classes looks like in the synthetic world.

Every class has a unique combination of silhouette, colour, pattern and size, so a small detector
can tell them apart at 320x180. Sizes and positions are in *base units*: pixels of a 320x180
frame; the renderer scales them to the requested frame size. Sprites are RGBA ``PIL.Image``s,
cached per (class, scale, variant).
"""

from __future__ import annotations

import functools
from typing import Dict, NamedTuple, Tuple

import numpy as np
from PIL import Image, ImageDraw

from ag_detectron.data.datasets.ag_categories import PKL_OBJECT_NAMES

__all__ = ["ObjectStyle", "STYLES", "OBJECT_NAMES", "sprite"]

BASE_W, BASE_H = 320, 180

RGB = Tuple[int, int, int]


class ObjectStyle(NamedTuple):
    """Appearance and role of one class.

    Attributes:
        w, h: size in base units.
        shape: silhouette ("rect", "round", "ellipse", "trap", "tri", "frame", or a special
            drawing).
        color, color2: main and pattern colour.
        pattern: "solid", "hstripe", "vstripe", "dots", "check", "cross".
        kind: "portable" (can be held), "furniture" (on the floor), "wall" (hung on the wall),
            "floor" (a patch of floor).
    """

    w: int
    h: int
    shape: str
    color: RGB
    color2: RGB
    pattern: str
    kind: str


# fmt: off
S = ObjectStyle
_STYLE_TABLE: Dict[str, ObjectStyle] = {
    "bag": S(22, 20, "trap", (139, 90, 43), (200, 160, 90), "hstripe", "portable"),
    "bed": S(104, 30, "bed", (40, 60, 140), (230, 230, 240), "check", "furniture"),
    "blanket": S(56, 18, "round", (150, 60, 170), (240, 200, 250), "dots", "portable"),
    "book": S(14, 18, "rect", (200, 30, 40), (250, 240, 200), "vstripe", "portable"),
    "box": S(24, 22, "rect", (205, 170, 110), (120, 80, 40), "cross", "portable"),
    "broom": S(12, 58, "broom", (235, 200, 40), (120, 70, 20), "solid", "portable"),
    "chair": S(30, 50, "chair", (240, 130, 20), (160, 70, 10), "solid", "furniture"),
    "closet/cabinet": S(44, 94, "rect", (20, 130, 130), (10, 70, 70), "vstripe", "furniture"),
    "clothes": S(26, 24, "shirt", (40, 170, 60), (220, 250, 200), "hstripe", "portable"),
    "cup/glass/bottle": S(10, 16, "rect", (20, 210, 230), (255, 255, 255), "solid", "portable"),
    "dish": S(22, 8, "ellipse", (245, 245, 245), (60, 90, 200), "hstripe", "portable"),
    "door": S(40, 104, "frame", (150, 70, 50), (185, 110, 80), "solid", "furniture"),
    "doorknob": S(8, 8, "ellipse", (250, 210, 0), (150, 110, 0), "solid", "portable"),
    "doorway": S(52, 112, "frame", (245, 245, 235), (25, 25, 30), "solid", "furniture"),
    "floor": S(110, 30, "rect", (190, 140, 90), (120, 80, 50), "hstripe", "floor"),
    "food": S(16, 12, "ellipse", (250, 120, 30), (120, 50, 0), "dots", "portable"),
    "groceries": S(26, 26, "trap", (160, 220, 120), (60, 120, 40), "check", "portable"),
    "laptop": S(26, 18, "laptop", (150, 150, 160), (40, 40, 50), "solid", "portable"),
    "light": S(20, 14, "tri", (255, 250, 150), (200, 170, 0), "solid", "wall"),
    "medicine": S(8, 12, "round", (255, 255, 255), (220, 0, 0), "hstripe", "portable"),
    "mirror": S(28, 42, "ellipse", (200, 225, 235), (120, 120, 130), "cross", "wall"),
    "paper/notebook": S(16, 12, "rect", (250, 250, 250), (90, 120, 220), "hstripe", "portable"),
    "phone/camera": S(8, 14, "round", (25, 25, 25), (90, 200, 255), "solid", "portable"),
    "picture": S(32, 24, "frame", (110, 70, 20), (90, 180, 90), "dots", "wall"),
    "pillow": S(26, 12, "round", (250, 160, 190), (255, 230, 240), "solid", "portable"),
    "refrigerator": S(44, 104, "round", (235, 240, 245), (150, 160, 170), "hstripe", "furniture"),
    "sandwich": S(18, 12, "tri", (225, 185, 120), (90, 170, 50), "hstripe", "portable"),
    "shelf": S(54, 10, "rect", (120, 80, 40), (200, 150, 90), "vstripe", "wall"),
    "shoe": S(16, 8, "shoe", (130, 20, 40), (240, 240, 240), "solid", "portable"),
    "sofa/couch": S(84, 40, "sofa", (120, 20, 50), (190, 90, 110), "solid", "furniture"),
    "table": S(60, 34, "table", (95, 55, 25), (150, 100, 60), "solid", "furniture"),
    "television": S(40, 28, "frame", (20, 20, 20), (40, 90, 230), "solid", "wall"),
    "towel": S(16, 24, "rect", (150, 200, 250), (255, 255, 255), "hstripe", "portable"),
    "vacuum": S(20, 40, "vacuum", (220, 30, 30), (60, 60, 60), "solid", "portable"),
    "window": S(42, 36, "frame", (250, 250, 250), (150, 210, 250), "cross", "wall"),
}
# fmt: on

OBJECT_NAMES: Tuple[str, ...] = tuple(PKL_OBJECT_NAMES[1:])
assert set(_STYLE_TABLE) == set(OBJECT_NAMES), (
    "appearance table must cover exactly the 35 object classes"
)
STYLES: Dict[str, ObjectStyle] = {name: _STYLE_TABLE[name] for name in OBJECT_NAMES}


def _shape_mask(style: ObjectStyle, w: int, h: int, variant: str) -> Image.Image:
    """Silhouette of a class as an ``L`` mask of size (w, h)."""
    m = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(m)
    s, W, H = style.shape, w - 1, h - 1
    if s in ("rect", "frame"):
        d.rectangle([0, 0, W, H], fill=255)
    elif s == "round":
        d.rounded_rectangle([0, 0, W, H], radius=max(1, min(w, h) // 3), fill=255)
    elif s == "ellipse":
        d.ellipse([0, 0, W, H], fill=255)
    elif s == "trap":
        d.polygon([(W * 0.2, 0), (W * 0.8, 0), (W, H), (0, H)], fill=255)
    elif s == "tri":
        d.polygon([(W / 2, 0), (W, H), (0, H)], fill=255)
    elif s == "bed":
        d.rectangle([0, H * 0.25, W, H * 0.75], fill=255)  # mattress
        d.rectangle([0, 0, W * 0.06, H], fill=255)  # head board
        d.rectangle([W * 0.94, H * 0.2, W, H], fill=255)  # foot board
        d.rectangle([0, H * 0.75, W * 0.06, H], fill=255)
    elif s == "chair":
        d.rectangle([0, 0, W * 0.2, H], fill=255)  # back rest + back leg
        d.rectangle([0, H * 0.42, W, H * 0.56], fill=255)  # seat
        d.rectangle([W * 0.82, H * 0.42, W, H], fill=255)  # front leg
    elif s == "sofa":
        d.rounded_rectangle([0, 0, W, H * 0.55], radius=max(1, h // 6), fill=255)  # back
        d.rectangle([0, H * 0.45, W, H * 0.85], fill=255)  # seat
        d.rectangle([0, H * 0.85, W * 0.08, H], fill=255)
        d.rectangle([W * 0.92, H * 0.85, W, H], fill=255)
    elif s == "table":
        d.rectangle([0, 0, W, H * 0.18], fill=255)
        d.rectangle([W * 0.06, 0, W * 0.16, H], fill=255)
        d.rectangle([W * 0.84, 0, W * 0.94, H], fill=255)
    elif s == "shirt":
        d.polygon(
            [
                (0, H * 0.3),
                (W * 0.3, 0),
                (W * 0.7, 0),
                (W, H * 0.3),
                (W * 0.8, H * 0.45),
                (W * 0.8, H),
                (W * 0.2, H),
                (W * 0.2, H * 0.45),
            ],
            fill=255,
        )
    elif s == "laptop":
        d.rectangle([W * 0.1, 0, W * 0.9, H * 0.75], fill=255)  # screen
        d.rectangle([0, H * 0.75, W, H], fill=255)  # keyboard
    elif s == "shoe":
        d.polygon([(0, H * 0.2), (W * 0.45, H * 0.2), (W, H * 0.6), (W, H), (0, H)], fill=255)
    elif s == "broom":
        d.rectangle([W * 0.38, 0, W * 0.62, H * 0.7], fill=255)
        d.polygon([(W * 0.3, H * 0.7), (W * 0.7, H * 0.7), (W, H), (0, H)], fill=255)
    elif s == "vacuum":
        d.rectangle([W * 0.42, 0, W * 0.58, H * 0.6], fill=255)
        d.rounded_rectangle([0, H * 0.55, W, H], radius=max(1, w // 4), fill=255)
    else:  # pragma: no cover - the table above is checked at import
        raise ValueError(f"unknown shape {s!r}")
    if variant == "twisted":  # doorknob turned: a tilted handle bar
        d.line([(0, H), (W, 0)], fill=255, width=max(1, w // 3))
    return m


def _pattern(style: ObjectStyle, w: int, h: int, scale: float) -> np.ndarray:
    """(h, w) bool mask where the secondary colour is painted."""
    yy, xx = np.mgrid[0:h, 0:w]
    p = max(2, int(round(4 * scale)))
    if style.pattern == "hstripe":
        return (yy // p) % 2 == 1
    if style.pattern == "vstripe":
        return (xx // p) % 2 == 1
    if style.pattern == "dots":
        return ((yy % (2 * p)) < p // 2 + 1) & ((xx % (2 * p)) < p // 2 + 1)
    if style.pattern == "check":
        return ((yy // p) + (xx // p)) % 2 == 1
    if style.pattern == "cross":
        return (np.abs(yy - h // 2) <= max(0, p // 3)) | (np.abs(xx - w // 2) <= max(0, p // 3))
    return np.zeros((h, w), dtype=bool)


@functools.lru_cache(maxsize=512)
def sprite(name: str, sx: float, sy: float, variant: str = "") -> Image.Image:
    """RGBA sprite of class ``name`` at scale (sx, sy) (frame size / 320x180).

    Args:
        name: pkl class name, e.g. ``"sofa/couch"``.
        sx, sy: horizontal / vertical scale factors.
        variant: "" (normal), "twisted" (a turned doorknob), "worn" (clothes on the body: no sleeves
            outline change, same look).
    Returns:
        ``PIL.Image`` in mode RGBA of size (round(w * sx), round(h * sy)).
    """
    style = STYLES[name]
    w, h = max(2, int(round(style.w * sx))), max(2, int(round(style.h * sy)))
    mask = np.asarray(_shape_mask(style, w, h, variant)) > 0
    rgb = np.empty((h, w, 3), dtype=np.uint8)
    rgb[:] = style.color
    pat = _pattern(style, w, h, min(sx, sy))
    rgb[pat] = style.color2
    if style.shape == "frame":  # border in the main colour, inside in the second colour + pattern
        bw = max(1, int(round(3 * min(sx, sy))))
        inner = np.zeros((h, w), dtype=bool)
        inner[bw : h - bw, bw : w - bw] = True
        rgb[inner] = style.color2
        rgb[inner & pat] = style.color
        if style.pattern == "solid":
            rgb[inner] = style.color2
    # dark outline: mask pixels with a background 4-neighbour
    pad = np.pad(mask, 1)
    edge = mask & ~(pad[:-2, 1:-1] & pad[2:, 1:-1] & pad[1:-1, :-2] & pad[1:-1, 2:])
    rgb[edge] = (np.asarray(style.color, dtype=np.int32) * 0.45).astype(np.uint8)
    alpha = (mask * 255).astype(np.uint8)
    return Image.fromarray(np.dstack([rgb, alpha]), mode="RGBA")
