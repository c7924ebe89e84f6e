"""The synthetic world's own action vocabulary (Charades-style ``cNNN description`` classes).

An action class is a (template, primary object) pair; the template says which posture it needs and
how it is scripted (:mod:`.world`). The vocabulary is built from the tables below in a fixed order,
so class indices are stable across runs.
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Tuple

__all__ = [
    "ActionClass",
    "ACTION_CLASSES",
    "action_index",
    "BODY_TEMPLATES",
    "HAND_TEMPLATES",
    "HAND_TEMPLATE_WEIGHTS",
    "BODY_TEMPLATE_WEIGHTS",
]


class ActionClass(NamedTuple):
    template: str
    obj: str  # primary object (pkl spelling)
    description: str


# template -> (primary objects, description pattern). Body templates set the posture of the video.
BODY_TEMPLATES: Dict[str, Tuple[Tuple[str, ...], str]] = {
    "sit": (("chair", "sofa/couch", "bed"), "Sitting on a {}"),
    "standup": (("chair", "sofa/couch"), "Standing up from a {}"),
    "lie": (("bed", "sofa/couch", "floor"), "Lying on a {}"),
    "lean": (("door", "closet/cabinet", "refrigerator", "table"), "Leaning on a {}"),
    "doorway": (("doorway",), "Walking through a {}"),
    "walkfloor": (("floor",), "Walking on the {}"),
    "carry": (
        (
            "box",
            "bag",
            "groceries",
            "pillow",
            "blanket",
            "laptop",
            "broom",
            "vacuum",
            "book",
            "clothes",
            "towel",
            "dish",
        ),
        "Carrying a {} somewhere",
    ),
}
# Hand / gaze templates happen while the body keeps a posture; value: (objects, description,
# postures they are allowed in).
HAND_TEMPLATES: Dict[str, Tuple[Tuple[str, ...], str, Tuple[str, ...]]] = {
    "hold": (
        (
            "book",
            "box",
            "bag",
            "phone/camera",
            "paper/notebook",
            "dish",
            "pillow",
            "towel",
            "clothes",
            "shoe",
            "laptop",
            "medicine",
            "groceries",
            "cup/glass/bottle",
            "food",
            "sandwich",
            "broom",
            "vacuum",
        ),
        "Holding a {}",
        ("stand", "sit", "lean"),
    ),
    "drink": (("cup/glass/bottle",), "Drinking from a {}", ("stand", "sit", "lean")),
    "eat": (("food", "sandwich", "medicine"), "Eating {}", ("stand", "sit", "lean")),
    "touch": (
        (
            "television",
            "mirror",
            "window",
            "picture",
            "door",
            "refrigerator",
            "closet/cabinet",
            "shelf",
            "table",
            "light",
        ),
        "Touching a {}",
        ("stand",),
    ),
    "twist": (("doorknob",), "Turning a {} to open a door", ("stand",)),
    "wear": (("clothes", "shoe"), "Putting on {}", ("stand",)),
    "backpack": (("bag",), "Putting a {} on the back", ("stand",)),
    "cover": (("blanket",), "Covering oneself with a {}", ("lie",)),
    "wipe": (("table", "window", "mirror"), "Wiping a {} with a towel", ("stand",)),
    "write": (("paper/notebook",), "Writing on a {}", ("stand", "sit")),
    "watch": (
        ("television", "window", "picture", "mirror", "light", "shelf"),
        "Looking at a {}",
        ("stand", "sit", "lie", "lean"),
    ),
    "putaway": (("refrigerator", "closet/cabinet"), "Putting something into a {}", ("stand",)),
}


# relative frequency of each body plan ("stand": no body action, only hand / gaze actions)
BODY_TEMPLATE_WEIGHTS: Dict[str, float] = {
    "sit": 0.2,
    "standup": 0.1,
    "lie": 0.12,
    "lean": 0.1,
    "doorway": 0.1,
    "walkfloor": 0.08,
    "carry": 0.15,
    "stand": 0.15,
}
assert set(BODY_TEMPLATE_WEIGHTS) == set(BODY_TEMPLATES) | {"stand"}

# relative frequency of each hand template when one is drawn for a posture window
HAND_TEMPLATE_WEIGHTS: Dict[str, float] = {
    "hold": 1.6,
    "drink": 1.0,
    "eat": 1.0,
    "touch": 1.2,
    "twist": 1.0,
    "wear": 1.2,
    "backpack": 0.8,
    "cover": 1.0,
    "wipe": 1.2,
    "write": 1.0,
    "watch": 1.2,
    "putaway": 1.0,
}
assert set(HAND_TEMPLATE_WEIGHTS) == set(HAND_TEMPLATES)


def _build() -> Tuple[ActionClass, ...]:
    out: List[ActionClass] = []
    for template, (objs, desc) in BODY_TEMPLATES.items():
        out += [ActionClass(template, o, desc.format(o)) for o in objs]
    for template, (objs, desc, _) in HAND_TEMPLATES.items():
        out += [ActionClass(template, o, desc.format(o)) for o in objs]
    return tuple(out)


ACTION_CLASSES: Tuple[ActionClass, ...] = _build()
_INDEX = {(a.template, a.obj): i for i, a in enumerate(ACTION_CLASSES)}


def action_index(template: str, obj: str) -> int:
    """Class index of (template, primary object); raises KeyError naming both when unknown."""
    try:
        return _INDEX[(template, obj)]
    except KeyError:
        raise KeyError(
            f"no synthetic action class for template {template!r} and object {obj!r}"
        ) from None
