"""Model output (design.md "Model output") → JSON scene-graph records, and their drawing.

Record schema (one per frame; ``docs/predict.md``)::

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
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ..data.datasets.ag_categories import OBJECT_CLASSES, PREDICATE_CLASSES

__all__ = ["scene_graph_record", "detection_record", "top_predicates", "draw_predictions"]

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


def top_predicates(relation: Dict[str, Any], threshold: float = 0.5) -> List[str]:
    """Predicates to show for one relation: the attention argmax, then spatial/contacting above ``threshold``
    (at least the best of each group)."""
    shown = []
    for name, _, _ in _GROUPS:
        probs = relation[name]
        best = max(probs, key=probs.get)
        keep = [k for k, v in sorted(probs.items(), key=lambda kv: -kv[1]) if v >= threshold]
        if name == "attention" or not keep:
            keep = [best]
        shown += keep
    return shown


def draw_predictions(
    image_path: str,
    record: Dict[str, Any],
    out_path: str,
    score_thresh: float = 0.5,
    scale: int = 3,
    image: Optional[np.ndarray] = None,
) -> str:
    """Draw boxes, classes and the person → object predicates of ``record`` onto the frame (PNG).

    Args:
        image_path: the frame (read with PIL) unless ``image`` (H, W, 3 RGB uint8) is given.
        record: a :func:`scene_graph_record`.
        out_path: PNG to write.
        score_thresh: objects below it are not drawn (their relations neither).
        scale: upscaling factor of the drawing (small synthetic frames are 320x180).
    """
    from PIL import Image, ImageDraw

    img = Image.fromarray(image) if image is not None else Image.open(image_path).convert("RGB")
    img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    draw = ImageDraw.Draw(img)
    palette = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
               (70, 240, 240), (240, 50, 230), (210, 245, 60), (0, 128, 128), (170, 110, 40)]
    shown = {o["id"] for o in record["objects"] if o["score"] >= score_thresh}
    for o in record["objects"]:
        if o["id"] not in shown:
            continue
        color = palette[o["id"] % len(palette)]
        x1, y1, x2, y2 = [v * scale for v in o["box"]]
        draw.rectangle([x1, y1, x2, y2], outline=color, width=2)
        label = f"{o['id']}:{o['class']} {o['score']:.2f}"
        tw = draw.textlength(label)
        draw.rectangle([x1, y1 - 12, x1 + tw + 4, y1], fill=color)
        draw.text((x1 + 2, y1 - 12), label, fill=(255, 255, 255))
    # Relation list in the top-left corner: "person(0) -> chair(2): looking_at, beneath, sitting_on".
    names = {o["id"]: o["class"] for o in record["objects"]}
    y = 4
    for r in record["relations"]:
        if r["subject"] not in shown or r["object"] not in shown:
            continue
        text = (f"{names[r['subject']]}({r['subject']}) -> {names[r['object']]}({r['object']}): "
                + ", ".join(top_predicates(r, score_thresh)))
        tw = draw.textlength(text)
        draw.rectangle([2, y - 1, 6 + tw, y + 11], fill=(0, 0, 0))
        draw.text((4, y), text, fill=palette[r["object"] % len(palette)])
        y += 13
    img.save(out_path)
    return out_path
