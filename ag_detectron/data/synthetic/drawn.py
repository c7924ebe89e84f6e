"""Every object drawn in the annotated frames of a generated synthetic dataset, boxed or not.

Action Genome boxes only the objects involved in an action at the sampled frame; the synthetic
world follows that rule (docs/synthetic.md), so each frame also shows unboxed objects that look
exactly like boxed ones: 1-3 distractors per video and the objects of the video's other, inactive
actions. Under the AG annotations a detector that finds them is charged false positives, which
bounds the detection AP that appearance alone can reach. The generator is a pure function of
``generation.json``'s parameters, so the complete scenes can be re-derived here, for two
diagnostics:

* :func:`exhaustive_dicts` — the split's dataset dicts with every drawn object boxed (detection
  quality independent of the annotation rule);
* :func:`context_blind_ceiling` — the COCO AP under the AG annotations of a detector that boxes
  every drawn object perfectly but cannot tell which ones are involved in an action (random
  scores).

Neither changes the generated files.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any, Dict, List, NamedTuple, Sequence, Tuple

import numpy as np

from ..datasets.ag_categories import object_name_to_id
from .appearance import BASE_H, BASE_W
from .generate import GENERATOR_VERSION, script_and_annotate, split_of, video_ids
from .kinematics import clip_box, object_placements, person_pose

__all__ = [
    "DrawnObject",
    "drawn_objects",
    "exhaustive_dicts",
    "context_blind_ceiling",
    "register_exhaustive",
]


class DrawnObject(NamedTuple):
    """One object drawn in an AG-sampled frame."""

    category_id: int  # AG class id (0 = person, never listed here)
    bbox: Tuple[float, float, float, float]  # xyxy, pixels of the generated frames
    annotated: bool  # listed (with a box) in object_bbox_and_relationship.pkl for this frame


def _generation_params(root: str) -> Dict[str, Any]:
    path = os.path.join(root, "generation.json")
    try:
        with open(path, encoding="utf-8") as f:
            params = json.load(f)["params"]
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(
            f"{path}: expected the generator's record with a 'params' entry ({e})"
        ) from e
    if params.get("annotations_only"):
        raise ValueError(f"{path}: an annotations-only dataset has no drawn frames")
    if params.get("version") != GENERATOR_VERSION:
        raise ValueError(
            f"{path}: written by generator version {params.get('version')}, this code draws "
            f"version {GENERATOR_VERSION}; the scenes cannot be re-derived"
        )
    return params


def drawn_objects(root: str, split: str) -> Dict[Tuple[str, int], List[DrawnObject]]:
    """Every visible object of every AG-sampled frame of ``split``, re-derived from the generator.

    Args:
        root: a dataset written by :func:`ag_detectron.data.synthetic.generate` (not
            annotations-only).
        split: "train" or "test".

    Returns:
        ``{(video_id, frame_number): [DrawnObject, ...]}`` for every sampled frame of the split,
        objects in the video's object order. The person is not included (AG boxes it whenever it is
        visible).

    Raises:
        ValueError: ``generation.json`` is missing, is from another generator version, or the
            dataset is annotations-only.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    p = _generation_params(root)
    n, seed = int(p["num_videos"]), int(p["seed"])
    width, height = int(p["width"]), int(p["height"])
    sx, sy = width / BASE_W, height / BASE_H
    ids, splits = video_ids(n, seed), split_of(n, float(p["test_fraction"]), seed)
    out: Dict[Tuple[str, int], List[DrawnObject]] = {}
    for i in range(n):
        if splits[i] != split:
            continue
        video, records = script_and_annotate(seed, i, ids[i], splits[i], width, height)
        for rec in records:
            pose = None if rec.person.bbox.shape[0] == 0 else person_pose(video, rec.t)
            boxed = {o.name for o in rec.objects if o.bbox is not None}
            objs: List[DrawnObject] = []
            for idx, pl in enumerate(object_placements(video, rec.t, pose)):
                box = None if pl.box is None else clip_box(pl.box, BASE_W, BASE_H)
                if box is None:
                    continue
                name = video.objects[idx].name
                xyxy = (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy)
                objs.append(DrawnObject(object_name_to_id(name), xyxy, name in boxed))
            out[(video.vid, rec.frame)] = objs
    return out


def exhaustive_dicts(
    dicts: Sequence[Dict[str, Any]], drawn: Dict[Tuple[str, int], List[DrawnObject]]
) -> List[Dict[str, Any]]:
    """Copies of AG dataset dicts with every unboxed drawn object added as an annotation.

    Args:
        dicts: Detectron2 dicts of the split (``load_action_genome``; ``video_id``,
            ``frame_number``, ``annotations`` with ``bbox_mode`` XYXY_ABS).
        drawn: :func:`drawn_objects` of the same dataset and split.

    Raises:
        KeyError: a frame of ``dicts`` that the generator did not sample (another dataset).
    """
    from detectron2.structures import BoxMode

    out = []
    for d in dicts:
        key = (d["video_id"], int(d["frame_number"]))
        if key not in drawn:
            raise KeyError(
                f"frame {key} of the dataset dicts is not a frame of the generated split"
            )
        e = copy.deepcopy(d)
        e["annotations"] = list(e["annotations"]) + [
            {"bbox": list(o.bbox), "bbox_mode": BoxMode.XYXY_ABS, "category_id": o.category_id}
            for o in drawn[key]
            if not o.annotated
        ]
        out.append(e)
    return out


def register_exhaustive(name: str, base_name: str, root: str, split: str) -> None:
    """Register ``name``: the frames of the AG dataset ``base_name`` with every drawn object boxed.

    Lazy like every AG registration (nothing is read until ``DatasetCatalog.get(name)``). The
    metadata copies the classes of ``base_name`` and sets ``evaluator_type="coco"`` (detection only:
    the added objects have no relations).

    Args:
        name: the new dataset name.
        base_name: a registered AG dataset of the generated ``root`` and ``split``.
        root, split: as for :func:`drawn_objects`.
    """
    from detectron2.data import DatasetCatalog, MetadataCatalog

    def load() -> List[Dict[str, Any]]:
        return exhaustive_dicts(DatasetCatalog.get(base_name), drawn_objects(root, split))

    DatasetCatalog.register(name, load)
    base = MetadataCatalog.get(base_name)
    MetadataCatalog.get(name).set(
        thing_classes=list(base.thing_classes),
        evaluator_type="coco",
        image_root=base.get("image_root", root),
        exhaustive_of=base_name,
    )


def context_blind_ceiling(
    dataset_name: str,
    drawn: Dict[Tuple[str, int], List[DrawnObject]],
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
) -> Dict[str, float]:
    """COCO box AP, under the AG annotations of ``dataset_name``, of a perfect but context-blind
    detector.

    The simulated detector outputs every ground-truth box (person included) and every unboxed drawn
    object with its true class and a uniform random score, i.e. perfect localisation and
    classification with no knowledge of which objects are involved in an action. Metrics are
    averaged over ``seeds``.

    Returns:
        ``{"AP": .., "AP50": .., "AP75": ..}`` in [0, 1] (not percent).
    """
    import contextlib
    import io

    from detectron2.data import DatasetCatalog, MetadataCatalog
    from detectron2.data.datasets.coco import convert_to_coco_dict
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    dicts = DatasetCatalog.get(dataset_name)
    coco_dict = convert_to_coco_dict(dataset_name)
    full = exhaustive_dicts(dicts, drawn)
    id_map = MetadataCatalog.get(dataset_name).get("thing_dataset_id_to_contiguous_id", None)
    to_dataset_id = {v: k for k, v in id_map.items()} if id_map else {}
    totals = {"AP": 0.0, "AP50": 0.0, "AP75": 0.0}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        results: List[Dict[str, Any]] = []
        for d in full:
            for a in d["annotations"]:
                x1, y1, x2, y2 = a["bbox"]
                results.append(
                    {
                        "image_id": d["image_id"],
                        "category_id": to_dataset_id.get(a["category_id"], a["category_id"]),
                        "bbox": [x1, y1, x2 - x1, y2 - y1],
                        "score": float(rng.uniform(0.05, 1.0)),
                    }
                )
        with contextlib.redirect_stdout(io.StringIO()):
            gt = COCO()
            gt.dataset = copy.deepcopy(coco_dict)
            gt.createIndex()
            ev = COCOeval(gt, gt.loadRes(results), "bbox")
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        for k, s in (("AP", 0), ("AP50", 1), ("AP75", 2)):
            totals[k] += float(ev.stats[s]) / len(seeds)
    return totals
