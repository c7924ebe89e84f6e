"""Model output (design.md "Model output") → JSON scene-graph records, and their drawing.

Record schema (one per frame; ``docs/engine.md``)::

    {
      "frame": str,                     image id / file name / "<video>#<index>"
      "width": int, "height": int,      original frame size (pixels)
      "objects": [{"id": int, "class": str, "score": float, "box": [x1, y1, x2, y2]}, ...],
      "relations": [{"subject": int, "object": int,           ids into "objects" (person → object)
                     "attention":  {predicate: probability, ...},   3, softmax (sums to 1)
                     "spatial":    {predicate: probability, ...},   6, independent sigmoids
                     "contacting": {predicate: probability, ...}},  17, independent sigmoids
                    ...]
    }

Spatial predicates describe where the object is relative to the person (AG convention).
"""
from typing import Any, Dict, Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from ..data.datasets.ag_categories import OBJECT_CLASSES, PREDICATE_CLASSES
from ..utils.visualization import draw_scene_graph, scene_graph_from_record

__all__ = ["scene_graph_record", "detection_record", "draw_predictions"]

_GROUPS = (("attention", 0, 3), ("spatial", 3, 9), ("contacting", 9, 26))


def detection_record(output: Dict[str, Any], frame: str, class_names: Sequence[str] = OBJECT_CLASSES) -> Dict:
    """The ``objects`` part of a record from ``output["instances"]`` (pred_boxes, pred_classes, scores)."""
    inst = output["instances"].to("cpu")
    h, w = inst.image_size
    boxes = inst.pred_boxes.tensor.numpy().astype(float)
    objects = [
        {"id": i, "class": class_names[int(c)], "score": round(float(s), 4), "box": [round(v, 2) for v in b]}
        for i, (b, c, s) in enumerate(zip(boxes, inst.pred_classes.tolist(), inst.scores.tolist()))
    ]
    return {"frame": frame, "width": int(w), "height": int(h), "objects": objects, "relations": []}


def scene_graph_record(
    output: Dict[str, Any],
    frame: str,
    class_names: Sequence[str] = OBJECT_CLASSES,
    predicate_names: Sequence[str] = PREDICATE_CLASSES,
) -> Dict:
    """A full record (module docstring); detector outputs without ``relations`` give ``relations: []``."""
    record = detection_record(output, frame, class_names)
    if "relations" not in output:
        return record
    rel = output["relations"].to("cpu")
    pairs = rel.pair_idx.numpy()
    scores = {
        "attention": rel.attention_scores.numpy(),
        "spatial": rel.spatial_scores.numpy(),
        "contacting": rel.contacting_scores.numpy(),
    }
    for p, (s, o) in enumerate(pairs.tolist()):
        entry: Dict[str, Any] = {"subject": int(s), "object": int(o)}
        for name, start, stop in _GROUPS:
            entry[name] = {
                predicate_names[start + k]: round(float(v), 4) for k, v in enumerate(scores[name][p])
            }
        record["relations"].append(entry)
    return record


def draw_predictions(
    image_path: str,
    record: Dict[str, Any],
    out_path: str,
    score_thresh: float = 0.5,
    image: Optional[np.ndarray] = None,
) -> str:
    """Draw the boxes, classes and person → object predicates of ``record`` next to the frame (PNG),
    with the shared renderer of :mod:`ag_detectron.utils.visualization`.

    Args:
        image_path: the frame (read with PIL) unless ``image`` (H, W, 3 RGB uint8) is given.
        record: a :func:`scene_graph_record`.
        out_path: PNG to write.
        score_thresh: objects below it are not drawn (their relations neither); spatial and
            contacting predicates below it are not listed (the best of each group always is).
    """
    rgb = image if image is not None else np.asarray(Image.open(image_path).convert("RGB"))
    graph = scene_graph_from_record(record, score_thresh=score_thresh, predicate_thresh=score_thresh)
    fig = draw_scene_graph(rgb, graph, title=record["frame"])
    try:
        fig.savefig(out_path)
    finally:
        plt.close(fig)
    return out_path
