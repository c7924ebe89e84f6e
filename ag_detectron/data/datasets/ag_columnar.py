"""Columnar (NumPy) encoding of Action Genome per-frame dicts, for the on-disk cache.

Unpickling 288k nested dicts object by object costs seconds; this encoding stores flat arrays (boxes
``(A, 4) float64``, category ids, relation label ids in CSR form, ...) and rebuilds the dicts with
list comprehensions, which is ~1.5x faster and the file is ~2.5x smaller.
``decode_frames(encode_frames(d)) == d`` for every list the loader produces (tested).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from detectron2.structures import BoxMode

from ag_detectron.vocabulary import GROUP_NAMES

__all__ = ["ColumnarBuilder", "encode_frames", "decode_frames"]

# The relation dicts' label keys, one CSR column each. The hot loops below spell the three names
# out (a dict literal is several times faster than a comprehension over 288k relations).
_GROUPS = GROUP_NAMES
assert _GROUPS == ("attention", "spatial", "contacting"), _GROUPS


def _offsets(lengths: List[int]) -> np.ndarray:
    out = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


def _uncsr(csr: Dict[str, np.ndarray]) -> List[List[int]]:
    values = csr["values"].tolist()
    off = csr["offsets"].tolist()
    return [values[a:b] for a, b in zip(off[:-1], off[1:])]


class ColumnarBuilder:
    """Accumulates frames into flat Python lists; :meth:`build` converts them to arrays once.

    ``add_frames`` can be called while the frames are being created (the loader does so per video),
    which is much cheaper than a second pass over millions of scattered objects.
    """

    def __init__(self) -> None:
        self.prefix: Optional[str] = None
        self.keys: List[str] = []
        self.video_ids: List[str] = []
        self.frame_number: List[int] = []
        self.height: List[int] = []
        self.width: List[int] = []
        self.ann_len: List[int] = []
        self.rel_len: List[int] = []
        self.boxes: List[float] = []
        self.category_id: List[int] = []
        self.subject: List[int] = []
        self.object: List[int] = []
        self.labels = {g: ([], []) for g in _GROUPS}  # group -> (lengths, values)
        self.invisible: Optional[Tuple[List[int], List[int]]] = None

    def add_frames(self, dicts: List[Dict[str, Any]]) -> None:
        if dicts and self.prefix is None:
            first = dicts[0]["file_name"]
            self.prefix = first[: len(first) - len(dicts[0]["image_id"])]
            if "invisible_category_ids" in dicts[0]:
                self.invisible = ([], [])
        prefix, xyxy = self.prefix, BoxMode.XYXY_ABS
        box_ext, cat_app = self.boxes.extend, self.category_id.append
        subj_app, obj_app = self.subject.append, self.object.append
        (att_len, att), (spa_len, spa), (con_len, con) = (self.labels[g] for g in _GROUPS)
        for d in dicts:
            if d["file_name"] != prefix + d["image_id"]:
                raise ValueError("columnar cache: file_name must be a common prefix + image_id")
            self.keys.append(d["image_id"])
            self.video_ids.append(d["video_id"])
            self.frame_number.append(d["frame_number"])
            self.height.append(d["height"])
            self.width.append(d["width"])
            anns, rels = d["annotations"], d["relations"]
            self.ann_len.append(len(anns))
            self.rel_len.append(len(rels))
            for a in anns:
                if a["bbox_mode"] != xyxy:
                    raise ValueError("the columnar cache stores XYXY_ABS boxes only")
                box_ext(a["bbox"])
                cat_app(a["category_id"])
            for r in rels:
                subj_app(r["subject"])
                obj_app(r["object"])
                a, b, c = r["attention"], r["spatial"], r["contacting"]
                att_len.append(len(a))
                att.extend(a)
                spa_len.append(len(b))
                spa.extend(b)
                con_len.append(len(c))
                con.extend(c)
            if self.invisible is not None:
                inv = d["invisible_category_ids"]
                self.invisible[0].append(len(inv))
                self.invisible[1].extend(inv)

    def build(self) -> Dict[str, Any]:
        def csr(lengths: List[int], values: List[int]) -> Dict[str, np.ndarray]:
            return {"offsets": _offsets(lengths), "values": np.array(values, dtype=np.int32)}

        out: Dict[str, Any] = {
            "prefix": self.prefix or "",
            "keys": "\n".join(self.keys),
            "video_ids": "\n".join(self.video_ids),
            "frame_number": np.array(self.frame_number, dtype=np.int64),
            "height": np.array(self.height, dtype=np.int64),
            "width": np.array(self.width, dtype=np.int64),
            "ann_offsets": _offsets(self.ann_len),
            "rel_offsets": _offsets(self.rel_len),
            "boxes": np.array(self.boxes, dtype=np.float64).reshape(-1, 4),
            "category_id": np.array(self.category_id, dtype=np.int64),
            "subject": np.array(self.subject, dtype=np.int64),
            "object": np.array(self.object, dtype=np.int64),
        }
        for g in _GROUPS:
            out[g] = csr(*self.labels[g])
        if self.invisible is not None:
            out["invisible_category_ids"] = csr(*self.invisible)
        return out


def encode_frames(dicts: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Per-frame dicts (design.md format, XYXY_ABS boxes) -> a dict of strings and NumPy arrays."""
    builder = ColumnarBuilder()
    builder.add_frames(dicts)
    return builder.build()


def decode_frames(enc: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Inverse of :func:`encode_frames`."""
    if not enc["keys"]:
        return []
    mode = BoxMode.XYXY_ABS
    anns = [
        {"bbox": b, "bbox_mode": mode, "category_id": c}
        for b, c in zip(enc["boxes"].tolist(), enc["category_id"].tolist())
    ]
    labels = [_uncsr(enc[g]) for g in _GROUPS]
    rels = [
        {"subject": s, "object": o, "attention": a, "spatial": sp, "contacting": c}
        for s, o, a, sp, c in zip(enc["subject"].tolist(), enc["object"].tolist(), *labels)
    ]
    ao, ro = enc["ann_offsets"].tolist(), enc["rel_offsets"].tolist()
    prefix = enc["prefix"]
    dicts = [
        {
            "file_name": prefix + k,
            "image_id": k,
            "video_id": v,
            "frame_number": n,
            "height": h,
            "width": w,
            "annotations": anns[a0:a1],
            "relations": rels[r0:r1],
        }
        for k, v, n, h, w, a0, a1, r0, r1 in zip(
            enc["keys"].split("\n"),
            enc["video_ids"].split("\n"),
            enc["frame_number"].tolist(),
            enc["height"].tolist(),
            enc["width"].tolist(),
            ao[:-1],
            ao[1:],
            ro[:-1],
            ro[1:],
        )
    ]
    if "invisible_category_ids" in enc:
        for d, inv in zip(dicts, _uncsr(enc["invisible_category_ids"])):
            d["invisible_category_ids"] = inv
    return dicts
