"""Parse the Action Genome release files into per-frame Detectron2 dataset dicts (docs/ag_format.md
§1-§5).

This module reads and validates; :mod:`.action_genome` adds caching, logging and registration. Every
malformed entry raises :class:`DatasetFormatError` naming the file, frame key, field, and what was
expected. The only tolerated irregularity is a box that sticks out of the frame but still overlaps
it (person boxes are detector output): it is clipped to the frame and counted (``clipped_boxes``).
"""

from __future__ import annotations

import math
import os
import re
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from detectron2.structures import BoxMode

from ag_detectron.errors import DatasetFormatError

from ag_detectron.vocabulary import predicate_vocabulary

from . import ag_categories as C
from .ag_columnar import ColumnarBuilder
from .ag_frame_parser import SPLITS as _SPLITS
from .ag_frame_parser import FrameParser
from .ag_options import AGLoadOptions
from .safe_pickle import safe_load

__all__ = [
    "ANNOTATION_FILES",
    "ParseResult",
    "annotation_paths",
    "read_ag_class_maps",
    "parse_action_genome",
]

ANNOTATION_FILES = ("person_bbox.pkl", "object_bbox_and_relationship.pkl", "frame_list.txt")
_KEY_RE = re.compile(r"^([0-9A-Za-z]+)\.mp4/(\d+)\.png$")


def annotation_paths(root: str) -> Dict[str, str]:
    """Absolute paths of the release files under ``root/annotations``; raise if root or a file is
    missing."""
    anno_dir = os.path.join(root, "annotations")
    if not os.path.isdir(root):
        raise DatasetFormatError(
            f"Action Genome root {root!r} does not exist; expected "
            f"{root}/annotations/{{{','.join(ANNOTATION_FILES)}}} and {root}/frames/ (see "
            f"datasets/README.md)"
        )
    paths = {name: os.path.join(anno_dir, name) for name in ANNOTATION_FILES}
    for name, path in paths.items():
        if not os.path.isfile(path):
            raise DatasetFormatError(f"{path}: missing Action Genome annotation file {name}")
    return paths


def _read_class_file(path: str, expected: Tuple[str, ...]) -> List[str]:
    try:
        tokens = C.read_class_file(path, len(expected))
    except ValueError as e:
        raise DatasetFormatError(str(e)) from None
    normed = [C.normalize_name(t) for t in tokens]
    if tuple(normed) != expected:
        diff = [(i, a, b) for i, (a, b) in enumerate(zip(normed, expected)) if a != b][:5]
        raise DatasetFormatError(
            f"{path}: class list does not match ag_categories (line, file token, expected): {diff}"
        )
    return normed


def read_ag_class_maps(
    anno_dir: str, num_predicates: int
) -> Tuple[Dict[str, int], Dict[str, Optional[int]]]:
    """Maps from every accepted spelling (pkl string or file token) to category id / global
    predicate id.

    When ``anno_dir`` holds ``object_classes.txt`` / ``relationship_classes.txt`` they are read
    (trailing spaces tolerated) and must normalise to the vocabulary's lists; ids are positions in
    those files, converted to the ``num_predicates`` vocabulary (:mod:`ag_detectron.vocabulary`):
    with 25, ``other_relationship`` maps to ``None`` (dropped) and later ids shift down by one.
    """
    objects = list(C.OBJECT_CLASSES)
    predicates = list(C.PREDICATE_CLASSES)
    obj_file = os.path.join(anno_dir, "object_classes.txt")
    rel_file = os.path.join(anno_dir, "relationship_classes.txt")
    if os.path.isfile(obj_file):
        objects = _read_class_file(obj_file, C.OBJECT_CLASSES)
    if os.path.isfile(rel_file):
        predicates = _read_class_file(rel_file, C.PREDICATE_CLASSES)
    obj_index = {tok: i for i, tok in enumerate(objects)}
    vocab = predicate_vocabulary(num_predicates, "num_predicates")
    # release id (line of the class file) -> id in the requested vocabulary (None: dropped)
    pred_index: Dict[str, Optional[int]] = {
        tok: vocab.from_release(i) for i, tok in enumerate(predicates)
    }
    obj_map = {
        name: obj_index[C.normalize_name(name)] for name in C.PKL_OBJECT_NAMES + tuple(objects)
    }
    pred_map = {
        name: pred_index[C.normalize_name(name)]
        for name in C.PKL_PREDICATE_NAMES + tuple(predicates)
    }
    # person is never an object 'class'; its boxes come from person_bbox.pkl
    obj_map.pop("person", None)
    return obj_map, pred_map


def _read_frame_list(path: str) -> List[str]:
    with open(path, "r", encoding="utf-8") as f:
        keys = [line.strip() for line in f.read().splitlines()]
    keys = [k for k in keys if k]
    if len(set(keys)) != len(keys):
        raise DatasetFormatError(
            f"{path}: frame keys repeat ({len(keys) - len(set(keys))} duplicates)"
        )
    return keys


def _check_keys(paths: Dict[str, str], persons: Any, objects: Any, frame_list: List[str]) -> None:
    p_path, o_path = paths["person_bbox.pkl"], paths["object_bbox_and_relationship.pkl"]
    for path, obj in ((p_path, persons), (o_path, objects)):
        if not isinstance(obj, dict):
            raise DatasetFormatError(
                f"{path}: expected a dict keyed by frame key, got {type(obj).__name__}"
            )
    if persons.keys() != objects.keys():
        only_p = sorted(set(persons) - set(objects))
        only_o = sorted(set(objects) - set(persons))
        raise DatasetFormatError(
            f"{p_path} and {o_path}: frame key sets differ (expected set(objects) == "
            f"set(persons)); {len(only_p)} keys only in person_bbox (e.g. {only_p[:3]}), "
            f"{len(only_o)} only in object_bbox_and_relationship (e.g. {only_o[:3]})"
        )
    if len(frame_list) != len(objects) or not objects.keys() == set(frame_list):
        missing = sorted(set(objects) - set(frame_list))[:3]
        extra = sorted(set(frame_list) - set(objects))[:3]
        raise DatasetFormatError(
            f"{paths['frame_list.txt']}: expected the {len(objects)} keys of {o_path}, found "
            f"{len(frame_list)} lines (keys missing from the list e.g. {missing}, extra e.g. "
            f"{extra})"
        )


def _sort_keys(keys: List[str], path: str) -> List[Tuple[str, int, str]]:
    parsed = []
    for key in keys:
        m = _KEY_RE.match(key)
        if m is None:
            raise DatasetFormatError(
                f"{path}: frame key {key!r} is not '<VIDEO_ID>.mp4/<NNNNNN>.png' (e.g. "
                f"'001YG.mp4/000089.png')"
            )
        parsed.append((m.group(1), int(m.group(2)), key))
    parsed.sort()
    return parsed


class ParseResult(NamedTuple):
    """``dicts``: per-frame dicts sorted by (video, frame); ``counts``: what each filter removed;
    ``encoded``: the columnar encoding of ``dicts`` (:mod:`.ag_columnar`) if requested, else None.
    """

    dicts: List[Dict[str, Any]]
    counts: Dict[str, int]
    encoded: Optional[Dict[str, Any]]


def parse_action_genome(
    root: str, split: str, opts: AGLoadOptions, encode: bool = False
) -> ParseResult:
    """Read, validate and filter the release.

    Args:
        root: the AG root (``annotations/`` and ``frames/`` below it).
        split: "train", "test" or "all".
        opts: resolved loader options.
        encode: also build the columnar encoding (for the cache), video by video while the
            video's dicts are still in CPU caches (~3x cheaper than encoding the list afterwards).
    """
    if split not in _SPLITS + ("all",):
        raise DatasetFormatError(
            f"Action Genome split {split!r}: expected 'train', 'test' or 'all'"
        )
    paths = annotation_paths(root)
    obj_map, pred_map = read_ag_class_maps(
        os.path.dirname(paths["frame_list.txt"]), opts.num_predicates
    )
    frame_list = _read_frame_list(paths["frame_list.txt"])
    persons = safe_load(paths["person_bbox.pkl"])
    objects = safe_load(paths["object_bbox_and_relationship.pkl"])
    _check_keys(paths, persons, objects, frame_list)
    keys = _sort_keys(frame_list, paths["frame_list.txt"])
    del frame_list
    parser = FrameParser(paths, obj_map, pred_map, opts)
    frames_dir = os.path.join(root, "frames", "")  # + key ("<VID>.mp4/<NNNNNN>.png")
    counts = {"frame_keys": len(keys), "other_split": 0, "no_visible_object": 0, "no_person": 0}
    video_split: Dict[str, str] = {}
    video_size: Dict[str, Tuple[int, int]] = {}
    counts["short_video_frames"] = counts["short_videos"] = counts["videos"] = 0
    dicts: List[Dict[str, Any]] = []
    builder = ColumnarBuilder() if encode else None
    current: List[Dict[str, Any]] = []  # kept frames of the video being read

    def finish_video() -> None:
        if not current:  # no kept frame (other split, or every frame filtered out)
            return
        if any(rec["height"] is None for rec in current):
            _fill_sizes([r for r in current if r["height"] is None], video_size, parser)
        if len(current) < opts.min_frames_per_video:
            counts["short_videos"] += 1
            counts["short_video_frames"] += len(current)
        else:
            counts["videos"] += 1
            dicts.extend(current)
            if builder is not None:
                builder.add_frames(current)
        current.clear()

    last_vid = None
    for vid, number, key in keys:
        if vid != last_vid:
            finish_video()
            last_vid = vid
        pbox, size = parser.person(key, persons.pop(key))
        if size is not None:
            video_size.setdefault(vid, size)
        else:
            size = video_size.get(vid)
        w, h = size if size is not None else (math.inf, math.inf)
        entries = objects.pop(key)
        has_person = pbox is not None
        counts_before = dict(parser.counts)
        anns, rels, invisible, fsplit = parser.objects(key, entries, has_person, w, h)
        prev = video_split.setdefault(vid, fsplit)
        if prev != fsplit:
            raise DatasetFormatError(
                f"{parser.o_path}: frame {key!r}: metadata.set {fsplit!r} conflicts with {prev!r} "
                f"of earlier frames of video {vid!r}; expected one split per video"
            )
        if split != "all" and fsplit != split:
            counts["other_split"] += 1
            parser.counts = counts_before  # count skips only within the requested split
            continue
        if has_person:
            pbox = parser._box(
                *pbox, w, h, f"{parser.p_path}: frame {key!r} field 'bbox' (x1, y1, x2, y2)"
            )
            anns.insert(
                0,
                {"bbox": pbox, "bbox_mode": BoxMode.XYXY_ABS, "category_id": C.PERSON_CATEGORY_ID},
            )
        if opts.require_visible_object and not rels:
            counts["no_visible_object"] += 1
            continue
        if opts.filter_nonperson_frames and not has_person:
            counts["no_person"] += 1
            continue
        record = {
            "file_name": frames_dir + key,
            "image_id": key,
            "video_id": vid,
            "frame_number": number,
            "height": size[1] if size is not None else None,
            "width": size[0] if size is not None else None,
            "annotations": anns,
            "relations": rels,
        }
        if not opts.visible_only:
            record["invisible_category_ids"] = invisible
        current.append(record)
    finish_video()
    counts.update(parser.counts)
    counts["frames"] = len(dicts)
    return ParseResult(dicts, counts, builder.build() if builder is not None else None)


def _fill_sizes(
    records: List[Dict[str, Any]], video_size: Dict[str, Tuple[int, int]], parser: "FrameParser"
) -> None:
    """Frame size for frames whose person entry lacks ``bbox_size``: another frame of the video,
    else the image header. Boxes are then checked (and clipped) against it like all others."""
    from PIL import Image

    for rec in records:
        size = video_size.get(rec["video_id"])
        if size is None:
            try:
                with Image.open(rec["file_name"]) as im:
                    size = im.size
            except OSError as e:
                raise DatasetFormatError(
                    f"frame {rec['image_id']!r}: no 'bbox_size' in person_bbox.pkl for any frame "
                    f"of video {rec['video_id']!r} and the image {rec['file_name']} cannot be "
                    f"read ({e})"
                ) from None
            video_size[rec["video_id"]] = size
        w, h = rec["width"], rec["height"] = int(size[0]), int(size[1])
        for ann in rec["annotations"]:
            ann["bbox"] = parser._box(*ann["bbox"], w, h, f"frame {rec['image_id']!r} field 'bbox'")
