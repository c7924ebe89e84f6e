"""Columnar (NumPy) encoding of Action Genome per-frame dicts, for the on-disk cache.

Unpickling 288k nested dicts object by object costs seconds; this encoding stores flat arrays (boxes
``(A, 4) float64``, category ids, relation label ids in CSR form, ...) and rebuilds the dicts with
list comprehensions, which is ~1.5x faster and the file is ~2.5x smaller.
``decode_frames(encode_frames(d)) == d`` for every list the loader produces (tested).
"""

from __future__ import annotations

from itertools import chain
from typing import Any, Dict, List

import numpy as np
from detectron2.structures import BoxMode

__all__ = ["encode_frames", "decode_frames"]

_GROUPS = ("attention", "spatial", "contacting")


def _offsets(lengths: List[int]) -> np.ndarray:
    out = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


def _csr(lists: List[List[int]]) -> Dict[str, np.ndarray]:
    return {
        "offsets": _offsets(list(map(len, lists))),
        "values": np.fromiter(chain.from_iterable(lists), dtype=np.int32),
    }


def _uncsr(csr: Dict[str, np.ndarray]) -> List[List[int]]:
    values = csr["values"].tolist()
    off = csr["offsets"].tolist()
    return [values[a:b] for a, b in zip(off[:-1], off[1:])]


def encode_frames(dicts: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Per-frame dicts (design.md format, XYXY_ABS boxes) -> a dict of strings and NumPy arrays."""
    keys = [d["image_id"] for d in dicts]
    prefix = ""
    if dicts:
        first = dicts[0]["file_name"]
        prefix = first[: len(first) - len(dicts[0]["image_id"])]
    if any(d["file_name"] != prefix + d["image_id"] for d in dicts):
        raise ValueError("file_name must be a common prefix + image_id for the columnar cache")
    anns = list(chain.from_iterable(d["annotations"] for d in dicts))
    if any(a["bbox_mode"] != BoxMode.XYXY_ABS for a in anns):
        raise ValueError("the columnar cache stores XYXY_ABS boxes only")
    rels = list(chain.from_iterable(d["relations"] for d in dicts))
    out: Dict[str, Any] = {
        "prefix": prefix,
        "keys": "\n".join(keys),
        "video_ids": "\n".join(d["video_id"] for d in dicts),
        "frame_number": np.array([d["frame_number"] for d in dicts], dtype=np.int64),
        "height": np.array([d["height"] for d in dicts], dtype=np.int64),
        "width": np.array([d["width"] for d in dicts], dtype=np.int64),
        "ann_offsets": _offsets([len(d["annotations"]) for d in dicts]),
        "rel_offsets": _offsets([len(d["relations"]) for d in dicts]),
        "boxes": np.fromiter(
            chain.from_iterable(a["bbox"] for a in anns), dtype=np.float64, count=4 * len(anns)
        ).reshape(-1, 4),
        "category_id": np.array([a["category_id"] for a in anns], dtype=np.int64),
        "subject": np.array([r["subject"] for r in rels], dtype=np.int64),
        "object": np.array([r["object"] for r in rels], dtype=np.int64),
    }
    for g in _GROUPS:
        out[g] = _csr([r[g] for r in rels])
    if dicts and "invisible_category_ids" in dicts[0]:
        out["invisible_category_ids"] = _csr([d["invisible_category_ids"] for d in dicts])
    return out


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
