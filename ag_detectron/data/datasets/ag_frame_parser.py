"""Validation and conversion of one Action Genome frame's person entry and object list.

:class:`FrameParser` turns a ``person_bbox.pkl`` value and an ``object_bbox_and_relationship.pkl``
list into design.md annotations and relations, raising :class:`DatasetFormatError` with file, frame
key, field and expectation on anything malformed, and counting the documented skips (invisible
objects, small boxes, dropped ``other_relationship`` labels, boxes clipped to the frame).
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from detectron2.structures import BoxMode

from ag_detectron.errors import DatasetFormatError

from .ag_options import AGLoadOptions

__all__ = ["FrameParser", "SPLITS"]

SPLITS = ("train", "test")
_SPLITS = SPLITS


class FrameParser:
    """Validates and converts one frame's person and object entries (state: maps, options,
    counters)."""

    def __init__(self, paths: Dict[str, str], obj_map, pred_map, opts: AGLoadOptions) -> None:
        self.p_path = paths["person_bbox.pkl"]
        self.o_path = paths["object_bbox_and_relationship.pkl"]
        self.obj_map, self.pred_map, self.opts = obj_map, pred_map, opts
        self._sizes: Dict[Any, Tuple[int, int]] = {}
        self.counts = {
            "invisible_objects": 0,
            "small_boxes": 0,
            "clipped_boxes": 0,
            "dropped_predicate_labels": 0,
        }

    def _box(
        self, x1: float, y1: float, x2: float, y2: float, w: float, h: float, where: str
    ) -> List[float]:
        if not (
            math.isfinite(x1) and math.isfinite(y1) and math.isfinite(x2) and math.isfinite(y2)
        ):
            raise DatasetFormatError(
                f"{where}: non-finite box {[x1, y1, x2, y2]}; expected finite pixels"
            )
        if not (x2 > x1 and y2 > y1):
            raise DatasetFormatError(
                f"{where}: degenerate box (x1, y1, x2, y2) = {[x1, y1, x2, y2]}; expected x2 > x1 "
                f"and y2 > y1"
            )
        if x1 < 0 or y1 < 0 or x2 > w or y2 > h:
            cx1, cy1, cx2, cy2 = max(x1, 0.0), max(y1, 0.0), min(x2, w), min(y2, h)
            if not (cx2 > cx1 and cy2 > cy1):
                raise DatasetFormatError(
                    f"{where}: box (x1, y1, x2, y2) = {[x1, y1, x2, y2]} lies outside the "
                    f"{w:g}x{h:g} frame"
                )
            self.counts["clipped_boxes"] += 1
            return [cx1, cy1, cx2, cy2]
        return [x1, y1, x2, y2]

    def person(
        self, key: str, entry: Any
    ) -> Tuple[Optional[List[float]], Optional[Tuple[int, int]]]:
        """Returns the person box (xyxy, unclipped) or None, and the frame size (W, H) if
        recorded."""
        if not isinstance(entry, dict) or "bbox" not in entry:
            raise DatasetFormatError(
                f"{self.p_path}: frame {key!r}: expected a dict with field 'bbox'"
            )
        box = entry["bbox"]
        if (
            not isinstance(box, np.ndarray)
            or box.ndim != 2
            or box.shape[1] != 4
            or box.shape[0] > 1
        ):
            shape = getattr(box, "shape", type(box).__name__)
            raise DatasetFormatError(
                f"{self.p_path}: frame {key!r}: field 'bbox' is {shape}; expected a float array "
                f"(n, 4), n in {{0, 1}}"
            )
        mode = entry.get("bbox_mode", "xyxy")
        if mode != "xyxy":
            raise DatasetFormatError(
                f"{self.p_path}: frame {key!r}: field 'bbox_mode' is {mode!r}; expected 'xyxy'"
            )
        size = entry.get("bbox_size")
        if size is not None:
            if type(size) is not tuple:
                try:
                    size = tuple(size)
                except TypeError:
                    size = ()
            checked = self._sizes.get(size)  # a handful of distinct sizes: validate each once
            if checked is None:
                try:
                    w, h = (float(v) for v in size)
                except (TypeError, ValueError):
                    w = h = 0.0
                if not (w > 0 and h > 0 and w == int(w) and h == int(h)):
                    raise DatasetFormatError(
                        f"{self.p_path}: frame {key!r}: field 'bbox_size' is {size!r}; expected "
                        f"(W, H) > 0"
                    )
                checked = self._sizes[size] = (int(w), int(h))
            size = checked
        return (box[0].tolist() if box.shape[0] else None), size

    def objects(self, key: str, entries: Any, has_person: bool, w: float, h: float):
        """Returns (annotations of visible objects, relations, invisible category ids, split).

        The common case (a valid box inside the frame, known names) runs without building any
        message; everything unusual goes through the validating slow paths that raise with file, key
        and field.
        """
        if not isinstance(entries, list) or not entries:
            raise DatasetFormatError(
                f"{self.o_path}: frame {key!r}: expected a non-empty list of object dicts, got "
                f"{entries!r:.80}"
            )
        anns, rels, invisible, split = [], [], [], None
        first = 1 if has_person else 0
        subject = 0 if has_person else -1
        min_edge = self.opts.min_box_short_edge
        obj_map, drop_other = self.obj_map, self.opts.num_predicates == 25
        lookup = self.pred_map.__getitem__  # KeyError on an unknown name, TypeError on None
        for j, obj in enumerate(entries):
            try:
                name, visible, obj_split = obj["class"], obj["visible"], obj["metadata"]["set"]
            except (KeyError, TypeError) as e:
                raise DatasetFormatError(
                    f"{self._where(key, j)}: missing field {e} (expected class, visible, "
                    f"metadata.set)"
                ) from None
            if obj_split != split:
                if split is not None:
                    raise DatasetFormatError(
                        f"{self.o_path}: frame {key!r}: objects disagree on metadata.set "
                        f"({split!r} vs {obj_split!r})"
                    )
                if obj_split not in _SPLITS:
                    raise DatasetFormatError(
                        f"{self._where(key, j)}: metadata.set is {obj_split!r}; expected 'train' "
                        f"or 'test'"
                    )
                split = obj_split
            cid = obj_map.get(name)
            if cid is None:
                raise DatasetFormatError(
                    f"{self._where(key, j)}: unknown class {name!r}; expected one of the 35 AG "
                    f"object names"
                )
            if not visible:
                self.counts["invisible_objects"] += 1
                invisible.append(cid)
                continue
            box = obj.get("bbox")
            try:
                x, y, bw, bh = map(float, box)
            except (TypeError, ValueError):
                raise DatasetFormatError(
                    f"{self._where(key, j, name)}: visible object with bbox {box!r}; expected (x, "
                    f"y, w, h)"
                ) from None
            if min_edge > 0 and (bw if bw < bh else bh) <= min_edge:
                self.counts["small_boxes"] += 1
                continue
            x2, y2 = x + bw, y + bh
            if 0.0 <= x < x2 <= w and 0.0 <= y < y2 <= h:  # also False for NaN / inf
                xyxy = [x, y, x2, y2]
            else:
                xyxy = self._box(
                    x, y, x2, y2, w, h, f"{self._where(key, j, name)} field 'bbox' (x, y, w, h)"
                )
            try:
                att = list(map(lookup, obj["attention_relationship"]))
                spa = list(map(lookup, obj["spatial_relationship"]))
                con = list(map(lookup, obj["contacting_relationship"]))
            except (KeyError, TypeError):
                self._bad_relation(key, j, name, obj)
            if drop_other:
                n = len(att) + len(spa) + len(con)
                att, spa, con = (
                    [g for g in att if g is not None],
                    [g for g in spa if g is not None],
                    [g for g in con if g is not None],
                )
                self.counts["dropped_predicate_labels"] += n - len(att) - len(spa) - len(con)
            if len(att) != 1:
                raise DatasetFormatError(
                    f"{self._where(key, j, name)}: attention_relationship "
                    f"{obj['attention_relationship']!r}; expected exactly one label"
                )
            rels.append(
                {
                    "subject": subject,
                    "object": first + len(anns),
                    "attention": att,
                    "spatial": spa,
                    "contacting": con,
                }
            )
            anns.append({"bbox": xyxy, "bbox_mode": BoxMode.XYXY_ABS, "category_id": cid})
        return anns, rels, invisible, split

    def _where(self, key: str, j: int, name: Optional[str] = None) -> str:
        return f"{self.o_path}: frame {key!r}, object {j}" + (f" ({name})" if name else "")

    def _bad_relation(self, key: str, j: int, name: str, obj: Dict[str, Any]) -> None:
        for field in ("attention_relationship", "spatial_relationship", "contacting_relationship"):
            labels = obj.get(field)
            if not isinstance(labels, (list, tuple)):
                raise DatasetFormatError(
                    f"{self._where(key, j, name)}: field {field!r} is {labels!r}; expected a list"
                )
            for label in labels:
                if label not in self.pred_map:
                    raise DatasetFormatError(
                        f"{self._where(key, j, name)}: unknown predicate {label!r} in {field!r}"
                    )
        raise DatasetFormatError(f"{self._where(key, j, name)}: malformed relation fields")
