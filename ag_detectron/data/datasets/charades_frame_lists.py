"""SlowFast / LFB Charades frame lists (``train.csv``, ``val.csv``): reuse a PySlowFast set-up.

Format (docs/video.md, "Frame lists"): a header line starting with ``original_vido_id`` (sic), then
one row per frame with 5 space-separated fields ``original_vido_id video_id frame_id path labels``:
``frame_id`` 0-based and consecutive within a video, ``path`` relative to the frame root,
``labels`` a quoted comma-separated list of **0-based** class indices active at that frame, or
``""``. The rows of one video are contiguous. A video's label is the union of its frame labels; a
training clip's label is the union over the frames it reads (PySlowFast's Charades loader).
"""

from __future__ import annotations

import csv
import os
from typing import Dict, List

from ag_detectron.errors import DatasetFormatError

__all__ = ["FRAME_LIST_FIELDS", "read_frame_list", "attach_frame_list"]

FRAME_LIST_FIELDS = ("original_vido_id", "video_id", "frame_id", "path", "labels")


def read_frame_list(path: str, frame_root: str, num_classes: int) -> Dict[str, Dict[str, list]]:
    """``{original video id: {"frame_paths": [abs path], "frame_labels": [[class, ...]]}}``.

    Raises:
        DatasetFormatError: a malformed header or row, non-consecutive frame ids, rows of one video
            that are not contiguous, a class outside ``0 .. num_classes - 1`` (names file, line and
            field).
    """
    if not os.path.isfile(path):
        raise DatasetFormatError(f"frame list {path} does not exist")
    videos: Dict[str, Dict[str, list]] = {}
    last = None
    with open(path, "r", encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter=" ", quotechar='"')
        header = next(reader, None)
        if header is None or tuple(header[:1]) != FRAME_LIST_FIELDS[:1]:
            raise DatasetFormatError(
                f"{path}: header {header}; expected '{' '.join(FRAME_LIST_FIELDS)}'"
            )
        for row in reader:
            where = f"{path}: line {reader.line_num}"
            if not row:
                continue
            if len(row) != 5:
                raise DatasetFormatError(f"{where}: {len(row)} fields {row}; expected 5")
            vid, _, frame_id, rel, labels = row
            if vid != last and vid in videos:
                raise DatasetFormatError(f"{where}: rows of video {vid!r} are not contiguous")
            entry = videos.setdefault(vid, {"frame_paths": [], "frame_labels": []})
            last = vid
            if not frame_id.isdigit() or int(frame_id) != len(entry["frame_paths"]):
                raise DatasetFormatError(
                    f"{where}: field 'frame_id' {frame_id!r} of video {vid!r}; expected "
                    f"{len(entry['frame_paths'])} (0-based, consecutive)"
                )
            classes = []
            for item in labels.split(","):
                item = item.strip()
                if not item:
                    continue
                if not item.isdigit() or int(item) >= num_classes:
                    raise DatasetFormatError(
                        f"{where}: field 'labels' class {item!r} of video {vid!r}; expected "
                        f"0-based ints below {num_classes}"
                    )
                classes.append(int(item))
            entry["frame_paths"].append(os.path.join(frame_root, rel))
            entry["frame_labels"].append(sorted(set(classes)))
    return videos


def attach_frame_list(
    dicts: List[dict], list_path: str, frame_root: str
) -> List[dict]:
    """Copies of the Charades video dicts present in the frame list, with its ``frame_paths`` and
    ``frame_labels``; videos absent from the list are left out (the caller counts them).

    Raises:
        DatasetFormatError: the frame list names a video that is not in ``dicts``.
    """
    if not dicts:
        return []
    num_classes = len(dicts[0]["labels"])
    lists = read_frame_list(list_path, frame_root, num_classes)
    known = {d["video_id"] for d in dicts}
    unknown = sorted(set(lists) - known)
    if unknown:
        raise DatasetFormatError(
            f"frame list {list_path}: {len(unknown)} videos not in the dataset, e.g. {unknown[:3]}"
        )
    return [dict(d, **lists[d["video_id"]]) for d in dicts if d["video_id"] in lists]
