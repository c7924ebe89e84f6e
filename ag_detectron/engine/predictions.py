"""Model output (design.md "Model output") → JSON scene-graph records, and their drawing.

Record schema (one per frame)::

    {
      "frame": str,                     image id / file name / "<video>#<index>"
      "width": int, "height": int,      original frame size (pixels)
      "objects": [{"id": int, "class": str, "category_id": int, "score": float,
                   "box": [x1, y1, x2, y2]}, ...],
      "relations": [{"subject": int, "object": int,           ids into "objects" (person → object)
                     "<group>": {predicate: probability, ...}, one dict per predicate group
                    ...]
    }

Names are readable (``closet/cabinet``, ``not looking at``; :mod:`ag_detectron.vocabulary`);
``category_id`` is the class id. The groups and their predicates are those of the model's
vocabulary, recognised from the output's widths: attention (softmax, sums to 1), spatial and
contacting (independent sigmoids); 3 / 6 / 17 predicates for the release, 3 / 6 / 16 for the
paper's 25. Spatial predicates describe where the object is relative to the person (AG
convention).
"""

from typing import Any, Dict, Optional, Sequence

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from ..utils.visualization import draw_scene_graph, scene_graph_from_record
from ..vocabulary import (
    OBJECT_READABLE_NAMES,
    PredicateVocabulary,
    vocabulary_for_widths,
)

__all__ = ["scene_graph_record", "detection_record", "draw_predictions"]


def detection_record(
    output: Dict[str, Any], frame: str, class_names: Sequence[str] = OBJECT_READABLE_NAMES
) -> Dict:
    """The ``objects`` part of a record from ``output["instances"]`` (pred_boxes, pred_classes,
    scores); ``class_names``: display name of each category id (AG's readable names)."""
    inst = output["instances"].to("cpu")
    h, w = inst.image_size
    boxes = inst.pred_boxes.tensor.numpy().astype(float)
    objects = [
        {
            "id": i,
            "class": class_names[int(c)],
            "category_id": int(c),
            "score": round(float(s), 4),
            "box": [round(v, 2) for v in b],
        }
        for i, (b, c, s) in enumerate(zip(boxes, inst.pred_classes.tolist(), inst.scores.tolist()))
    ]
    return {"frame": frame, "width": int(w), "height": int(h), "objects": objects, "relations": []}


def scene_graph_record(
    output: Dict[str, Any],
    frame: str,
    class_names: Sequence[str] = OBJECT_READABLE_NAMES,
    vocabulary: Optional[PredicateVocabulary] = None,
) -> Dict:
    """A full record (module docstring); detector outputs without ``relations`` give
    ``relations: []``. ``vocabulary``: the model's predicates (default: recognised from the
    widths of the output's score fields)."""
    record = detection_record(output, frame, class_names)
    if "relations" not in output:
        return record
    rel = output["relations"].to("cpu")
    if vocabulary is None:
        fields = [f for f in rel.get_fields() if f.endswith("_scores")]
        vocabulary = vocabulary_for_widths([rel.get(f).shape[1] for f in fields])
    pairs = rel.pair_idx.numpy()
    names = vocabulary.readable_names
    scores = {g.name: rel.get(g.score_field).numpy() for g in vocabulary.groups}
    for p, (s, o) in enumerate(pairs.tolist()):
        entry: Dict[str, Any] = {"subject": int(s), "object": int(o)}
        for g in vocabulary.groups:
            entry[g.name] = {
                names[g.start + k]: round(float(v), 4) for k, v in enumerate(scores[g.name][p])
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
    graph = scene_graph_from_record(
        record, score_thresh=score_thresh, predicate_thresh=score_thresh
    )
    fig = draw_scene_graph(rgb, graph, title=record["frame"])
    try:
        fig.savefig(out_path)
    finally:
        plt.close(fig)
    return out_path
