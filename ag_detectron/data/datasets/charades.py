"""Charades: ``load_charades`` (one dict per video) and ``register_charades``
(docs/ag_format.md §10).

Root layout (the CSVs and the classes file may also sit in ``root/annotations/``)::

    root/Charades_v1_train.csv   root/Charades_v1_test.csv   root/Charades_v1_classes.txt
    root/Charades_v1_rgb/<id>/<id>-NNNNNN.jpg      (24 fps, 1-based)
    root/Charades_v1_480/<id>.mp4                  (optional: clips decoded from the videos)

The number of action classes is the number of lines of the classes file (157 for Charades; the
synthetic world writes fewer). Known quirks of the CSVs are kept as-is and counted in one log line:
empty ``actions`` (video without segments), empty ``quality`` / ``relevance``, segments with ``end <
start`` and segments ending after ``length``. Anything else malformed raises DatasetFormatError
naming the row.
"""

from __future__ import annotations

import csv
import logging
import math
import os
import re
from typing import Any, Dict, List, Tuple

from detectron2.data import DatasetCatalog, MetadataCatalog

from ag_detectron.errors import DatasetFormatError

__all__ = [
    "CSV_COLUMNS",
    "find_charades_file",
    "read_charades_classes",
    "load_charades",
    "register_charades",
]

logger = logging.getLogger(__name__)

# fmt: off
CSV_COLUMNS = (
    "id", "subject", "scene", "quality", "relevance", "verified", "script", "objects",
    "descriptions", "actions", "length",
)
# fmt: on
_CLASS_RE = re.compile(r"^c(\d{3})$")


def find_charades_file(root: str, name: str) -> str:
    """``root/name`` or ``root/annotations/name``; raise DatasetFormatError naming both if neither
    exists."""
    if not os.path.isdir(root):
        raise DatasetFormatError(f"Charades root {root!r} does not exist (see datasets/README.md)")
    candidates = [os.path.join(root, name), os.path.join(root, "annotations", name)]
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise DatasetFormatError(f"Charades file {name} not found; looked for {candidates}")


def read_charades_classes(path: str) -> List[str]:
    """Descriptions of ``cNNN description`` lines, in order; ids must be c000, c001, ...
    consecutive."""
    with open(path, "r", encoding="utf-8") as f:
        lines = [line.strip() for line in f.read().splitlines()]
    names = []
    for lineno, line in enumerate((ln for ln in lines if ln), start=1):
        cid, _, desc = line.partition(" ")
        m = _CLASS_RE.match(cid)
        if m is None or int(m.group(1)) != len(names) or not desc.strip():
            raise DatasetFormatError(
                f"{path}: line {lineno} {line!r}; expected 'c{len(names):03d} <description>'"
            )
        names.append(desc.strip())
    if not names:
        raise DatasetFormatError(f"{path}: no action classes")
    return names


def _parse_actions(text: str, num_classes: int, where: str) -> List[Tuple[int, float, float]]:
    actions = []
    for item in text.split(";"):
        item = item.strip()
        if not item:
            continue
        parts = item.split()
        m = _CLASS_RE.match(parts[0]) if len(parts) == 3 else None
        try:
            start, end = float(parts[1]), float(parts[2])
        except (ValueError, IndexError):
            m = None
        if m is None or not (math.isfinite(start) and math.isfinite(end)):
            raise DatasetFormatError(
                f"{where}: field 'actions' item {item!r}; expected 'cNNN start end'"
            )
        cls = int(m.group(1))
        if cls >= num_classes:
            raise DatasetFormatError(
                f"{where}: field 'actions' class c{cls:03d} outside the {num_classes} classes of "
                f"the classes file"
            )
        actions.append((cls, start, end))
    return actions


def load_charades(root: str, split: str) -> List[Dict[str, Any]]:
    """Load ``Charades_v1_<split>.csv`` as one dict per video (docs/design.md).

    Returns:
        list[dict]: ``video_id``, ``length`` (s), ``actions`` [(class, start_s, end_s)] as in the
        CSV, ``labels`` multi-hot list of int (num_classes,), ``frame_dir`` =
        ``root/Charades_v1_rgb/<id>``, ``video_file`` = ``root/Charades_v1_480/<id>.mp4`` (read
        only when clips are decoded from videos, docs/video.md).
    """
    if split not in ("train", "test"):
        raise DatasetFormatError(f"Charades split {split!r}: expected 'train' or 'test'")
    root = os.path.abspath(os.path.expanduser(root))
    classes = read_charades_classes(find_charades_file(root, "Charades_v1_classes.txt"))
    path = find_charades_file(root, f"Charades_v1_{split}.csv")
    num_classes = len(classes)
    counts = dict.fromkeys(
        ("no_actions", "empty_quality", "empty_relevance", "reversed", "past_length"), 0
    )
    videos, seen = [], set()
    with open(path, "r", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DatasetFormatError(
                f"{path}: header {reader.fieldnames}; missing columns {missing}"
            )
        for row in reader:
            where = f"{path}: row {reader.line_num} (id {row.get('id')!r})"
            if None in row or any(row[c] is None for c in CSV_COLUMNS):
                raise DatasetFormatError(f"{where}: expected {len(reader.fieldnames)} fields")
            vid = row["id"].strip()
            if not vid or vid in seen:
                raise DatasetFormatError(f"{where}: field 'id' empty or repeated")
            seen.add(vid)
            try:
                length = float(row["length"])
            except ValueError:
                raise DatasetFormatError(
                    f"{where}: field 'length' {row['length']!r}; expected seconds"
                ) from None
            actions = _parse_actions(row["actions"], num_classes, where)
            counts["no_actions"] += not actions
            counts["empty_quality"] += not row["quality"].strip()
            counts["empty_relevance"] += not row["relevance"].strip()
            counts["reversed"] += sum(e < s for _, s, e in actions)
            counts["past_length"] += sum(e > length for _, _, e in actions)
            labels = [0] * num_classes
            for cls, _, _ in actions:
                labels[cls] = 1
            videos.append(
                {
                    "video_id": vid,
                    "length": length,
                    "actions": actions,
                    "labels": labels,
                    "frame_dir": os.path.join(root, "Charades_v1_rgb", vid),
                    "video_file": os.path.join(root, "Charades_v1_480", f"{vid}.mp4"),
                }
            )
    logger.info(
        f"Charades {split} ({path}): {len(videos)} videos, {num_classes} classes; kept as-is: "
        f"{counts['no_actions']} videos without actions, {counts['reversed']} segments with end < "
        f"start, {counts['past_length']} segments ending after 'length', {counts['empty_quality']} "
        f"empty quality, {counts['empty_relevance']} empty relevance"
    )
    return videos


def register_charades(name: str, root: str, split: str) -> None:
    """Register a Charades split under ``name`` (lazy). Metadata: ``evaluator_type="charades"``,
    ``root``, ``split``, ``frame_fps=24``; ``action_classes`` / ``num_classes`` when the classes
    file exists now (otherwise they are set on first load)."""

    def _load(root: str = root, split: str = split, name: str = name) -> List[Dict[str, Any]]:
        dicts = load_charades(root, split)
        meta = MetadataCatalog.get(name)
        if not hasattr(meta, "action_classes"):
            classes = read_charades_classes(find_charades_file(root, "Charades_v1_classes.txt"))
            meta.set(action_classes=classes, num_classes=len(classes))
        return dicts

    DatasetCatalog.register(name, _load)
    meta = MetadataCatalog.get(name)
    meta.set(evaluator_type="charades", root=root, split=split, frame_fps=24)
    try:
        classes = read_charades_classes(find_charades_file(root, "Charades_v1_classes.txt"))
    except DatasetFormatError:
        return
    meta.set(action_classes=classes, num_classes=len(classes))
