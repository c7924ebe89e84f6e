"""Tiny Action Genome fixtures in the exact release format, for tests (modelled on docs/ag_format.md
§4-§5).

``make_ag_annotations()`` returns ``(persons, objects)`` dicts shaped like ``person_bbox.pkl`` and
``object_bbox_and_relationship.pkl``; tests may edit them before ``write_ag_root`` writes the files.

Default content (W x H = 480 x 270):

========  =====  ======  =========================================================================
video     split  frames  notes
========  =====  ======  =========================================================================
001YG     train  89..95  4 frames; person [24.3, 71.4, 259.2, 268.2]; chair (56.3, 179.2, 192.8,
90.6);
                         frame 95 also an invisible cup/glass/bottle and a 10x40 px book (small box)
0A8CF     train  12, 20  2 frames (short video); frame 20 has only an invisible object
Q8XEE     test   111..   4 frames; sofa/couch with 2 spatial labels; frame 118 has no person (0, 4)
========  =====  ======  =========================================================================
"""

from __future__ import annotations

import os
import pickle
import shutil
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ag_detectron.data.datasets.ag_categories import VOCAB_DIR

__all__ = ["make_ag_annotations", "write_ag_root", "person_entry", "object_entry"]

SIZE = (480, 270)  # (W, H)


def person_entry(box: Optional[List[float]], size: Tuple[int, int] = SIZE) -> Dict[str, Any]:
    """A ``person_bbox.pkl`` value: float32 ``(1, 4)`` xyxy box, or ``(0, 4)`` when ``box`` is
    None."""
    n = 0 if box is None else 1
    return {
        "bbox": np.asarray([box] if n else np.zeros((0, 4)), dtype=np.float32).reshape(n, 4),
        "bbox_score": np.full((n,), 0.98, dtype=np.float32),
        "bbox_size": size,
        "bbox_mode": "xyxy",
        "keypoints": np.ones((n, 17, 3), dtype=np.float32),
        "keypoints_logits": np.zeros((n, 17), dtype=np.float32),
    }


def object_entry(
    cls: str,
    frame_key: str,
    split: str,
    box: Optional[Tuple[float, float, float, float]] = None,
    attention: Optional[List[str]] = None,
    spatial: Optional[List[str]] = None,
    contacting: Optional[List[str]] = None,
) -> Dict[str, Any]:
    """An object dict; ``box=None`` makes it invisible (``bbox None``, relation fields ``None``)."""
    video, frame = frame_key.split("/")
    tag = f"{video}/{cls.replace('/', '_')}/{frame[:-4]}"
    visible = box is not None
    return {
        "class": cls,
        "bbox": tuple(float(v) for v in box) if visible else None,
        "attention_relationship": list(attention or ["looking_at"]) if visible else None,
        "spatial_relationship": (
            list(spatial if spatial is not None else ["in_front_of"]) if visible else None
        ),
        "contacting_relationship": (
            list(contacting if contacting is not None else ["holding"]) if visible else None
        ),
        "metadata": {"tag": tag, "set": split},
        "visible": visible,
    }


def make_ag_annotations() -> Tuple[Dict[str, Any], Dict[str, List[Dict[str, Any]]]]:
    """The default fixture (module docstring) as ``(persons, objects)``."""
    persons: Dict[str, Any] = {}
    objects: Dict[str, List[Dict[str, Any]]] = {}
    person = [24.3, 71.4, 259.2, 268.2]
    chair = (56.3, 179.2, 192.8, 90.6)
    for n in (89, 91, 93, 95):
        key = f"001YG.mp4/{n:06d}.png"
        persons[key] = person_entry(person)
        objects[key] = [
            object_entry(
                "chair",
                key,
                "train",
                chair,
                ["not_looking_at"],
                ["beneath", "behind"],
                ["sitting_on"],
            )
        ]
    key95 = "001YG.mp4/000095.png"
    objects[key95].append(object_entry("cup/glass/bottle", key95, "train"))
    objects[key95].append(
        object_entry(
            "book",
            key95,
            "train",
            (300.0, 20.0, 10.0, 40.0),
            ["unsure"],
            [],
            ["other_relationship"],
        )
    )
    for n in (12, 20):
        key = f"0A8CF.mp4/{n:06d}.png"
        persons[key] = person_entry([100.0, 50.0, 200.0, 260.0])
        objects[key] = [
            object_entry("broom", key, "train", None if n == 20 else (150.0, 40.0, 30.0, 200.0))
        ]
    for n in (111, 115, 118, 120):
        key = f"Q8XEE.mp4/{n:06d}.png"
        persons[key] = person_entry(None if n == 118 else [200.0, 30.0, 330.0, 265.0])
        objects[key] = [
            object_entry(
                "sofa/couch",
                key,
                "test",
                (10.0, 120.0, 460.0, 150.0),
                ["looking_at"],
                ["beneath", "behind"],
                ["sitting_on", "touching"],
            )
        ]
    return persons, objects


def write_ag_root(
    root: str,
    persons: Dict[str, Any],
    objects: Dict[str, Any],
    frame_list: Optional[List[str]] = None,
    class_files: bool = True,
    images: bool = False,
) -> str:
    """Write ``root/annotations/*`` (and ``root/frames/*.png`` if ``images``); returns ``root``.

    ``frame_list`` defaults to the object keys in reverse order (the loader must sort), 21-byte
    lines.
    """
    anno = os.path.join(root, "annotations")
    os.makedirs(anno, exist_ok=True)
    with open(os.path.join(anno, "person_bbox.pkl"), "wb") as f:
        pickle.dump(persons, f, protocol=2)
    with open(os.path.join(anno, "object_bbox_and_relationship.pkl"), "wb") as f:
        pickle.dump(objects, f, protocol=4)
    keys = frame_list if frame_list is not None else sorted(objects, reverse=True)
    with open(os.path.join(anno, "frame_list.txt"), "w", newline="\n") as f:
        f.write("".join(k + "\n" for k in keys))
    if class_files:
        for name in ("object_classes.txt", "relationship_classes.txt"):
            shutil.copyfile(os.path.join(VOCAB_DIR, name), os.path.join(anno, name))
    if images:
        from PIL import Image

        rng = np.random.RandomState(0)
        for key, entry in persons.items():
            w, h = entry.get("bbox_size", SIZE)
            path = os.path.join(root, "frames", key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            Image.fromarray(rng.randint(0, 255, (h, w, 3), dtype=np.uint8)).save(path)
    return root
