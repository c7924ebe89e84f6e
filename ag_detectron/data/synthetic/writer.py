"""Writers for the Action Genome and Charades release formats (docs/synthetic.md lists the files).

Byte-level choices, all deterministic: pickles use protocol :data:`PICKLE_PROTOCOL`; dict insertion
order is sorted frame-key order; ``frame_list.txt`` has one 21-byte line per key; class files are
byte copies of ``ag_detectron/data/datasets/vocab``; CSVs use the ``csv`` module's default quoting
and ``\\r\\n`` line ends; PNG/JPEG encoders get fixed options; mp4s use PyAV with fixed settings.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pickle
import shutil
from typing import Dict, Iterable, List, Mapping, Sequence

import numpy as np

from ag_detectron.data.datasets.ag_categories import (
    PKL_OBJECT_NAMES,
    PKL_PREDICATE_NAMES,
    VOCAB_DIR,
)

from .annotate import FrameRecord

__all__ = [
    "PICKLE_PROTOCOL",
    "CHARADES_COLUMNS",
    "frame_key",
    "person_entry",
    "object_entries",
    "write_pickle",
    "write_frame_list",
    "copy_class_files",
    "write_video_fps",
    "write_charades_csv",
    "write_charades_classes",
    "encode_png",
    "encode_jpeg",
    "write_mp4",
]

PICKLE_PROTOCOL = 4
CHARADES_COLUMNS = (
    "id",
    "subject",
    "scene",
    "quality",
    "relevance",
    "verified",
    "script",
    "objects",
    "descriptions",
    "actions",
    "length",
)
JPEG_QUALITY = 90
PNG_COMPRESS_LEVEL = 1


# Pickle output depends on object identity (the memo writes a repeated object once). Records from
# worker processes come back as fresh string objects, so every repeated string is mapped onto one
# canonical object here; the files are then identical whatever the number of workers.
_CANONICAL = {s: s for s in PKL_OBJECT_NAMES + PKL_PREDICATE_NAMES + ("train", "test", "xyxy")}


def _canon(s: str) -> str:
    try:
        return _CANONICAL[s]
    except KeyError:
        raise ValueError(f"unexpected label or class string {s!r}") from None


def frame_key(vid: str, frame: int) -> str:
    """``'<VID>.mp4/<NNNNNN>.png'`` (Action Genome frame key)."""
    if len(vid) != 5:
        raise ValueError(f"video id {vid!r} must have 5 characters")
    return f"{vid}.mp4/{frame:06d}.png"


def person_entry(rec: FrameRecord, width: int, height: int) -> Dict[str, object]:
    """The ``person_bbox.pkl`` value of one frame (field order as in the release)."""
    p = rec.person
    return {
        "bbox": p.bbox.astype(np.float32),
        "bbox_score": p.score.astype(np.float32),
        "bbox_size": (int(width), int(height)),
        "bbox_mode": _canon("xyxy"),
        "keypoints": p.keypoints.astype(np.float32),
        "keypoints_logits": p.keypoint_logits.astype(np.float32),
    }


def object_entries(rec: FrameRecord, split: str) -> List[Dict[str, object]]:
    """The ``object_bbox_and_relationship.pkl`` value of one frame (a non-empty list)."""
    if not rec.objects:
        raise ValueError(f"frame {frame_key(rec.vid, rec.frame)} has no object entry")
    out = []
    for o in rec.objects:
        visible = o.bbox is not None
        out.append(
            {
                "class": _canon(o.name),
                "bbox": tuple(float(v) for v in o.bbox) if visible else None,
                "attention_relationship": [_canon(x) for x in o.attention] if visible else None,
                "spatial_relationship": [_canon(x) for x in o.spatial] if visible else None,
                "contacting_relationship": [_canon(x) for x in o.contacting] if visible else None,
                "metadata": {
                    "tag": f"{rec.vid}.mp4/{o.name.replace('/', '_')}/{rec.frame:06d}",
                    "set": _canon(split),
                },
                "visible": visible,
            }
        )
    return out


def write_pickle(path: str, obj: object) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=PICKLE_PROTOCOL)


def write_frame_list(path: str, keys: Iterable[str]) -> None:
    """One key per line, ``\\n``-terminated (21 bytes per line)."""
    lines = []
    for k in keys:
        if len(k) != 20:
            raise ValueError(f"frame key {k!r} is not 20 characters")
        lines.append(k + "\n")
    with open(path, "w", encoding="ascii", newline="") as f:
        f.write("".join(lines))


def copy_class_files(ann_dir: str) -> None:
    """Byte copies of the release class files (no trailing newline)."""
    for name in ("object_classes.txt", "relationship_classes.txt"):
        shutil.copyfile(os.path.join(VOCAB_DIR, name), os.path.join(ann_dir, name))


def write_video_fps(path: str, fps: Mapping[str, float]) -> None:
    """``annotations/video_fps.json``: ``{"VID": fps}`` (native frame rates), sorted by id."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        json.dump({k: fps[k] for k in sorted(fps)}, f, indent=1, sort_keys=True)
        f.write("\n")


def write_charades_csv(path: str, rows: Sequence[Mapping[str, str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(CHARADES_COLUMNS))
        w.writeheader()
        for r in rows:
            w.writerow({k: r[k] for k in CHARADES_COLUMNS})


def write_charades_classes(path: str, descriptions: Sequence[str]) -> None:
    """``Charades_v1_classes.txt`` for the synthetic vocabulary: ``cNNN description`` lines."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("".join(f"c{i:03d} {d}\n" for i, d in enumerate(descriptions)))


def encode_png(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


def encode_jpeg(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=JPEG_QUALITY, optimize=False, progressive=False)
    return buf.getvalue()


def write_mp4(path: str, frames: Iterable, fps: int, width: int, height: int) -> None:
    """Encode RGB ``PIL.Image`` frames as an H.264 mp4 (PyAV, single thread, fixed options)."""
    import av  # local import: only needed with --videos-mp4

    # bitexact: no encoder version string / creation time in the container: reproducible bytes
    with av.open(path, mode="w", format="mp4", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream("libx264", rate=int(fps))
        stream.width, stream.height = int(width) // 2 * 2, int(height) // 2 * 2
        stream.pix_fmt = "yuv420p"
        stream.thread_count = 1
        stream.options = {"crf": "23", "preset": "veryfast", "threads": "1"}
        for img in frames:
            frame = av.VideoFrame.from_image(img)
            if (frame.width, frame.height) != (stream.width, stream.height):
                frame = frame.reformat(width=stream.width, height=stream.height)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
