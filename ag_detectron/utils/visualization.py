"""Drawing Action Genome scene graphs: a frame with boxes + relation list, and a per-video timeline.

Works on ground truth (a dataset dict, docs/design.md) and on model output
(``{"instances", "relations"}`` with ``pred_boxes``, ``pred_classes``, ``scores`` and ``pair_idx``,
``attention_scores``, ``spatial_scores``, ``contacting_scores``), so ``tools/visualize_data.py`` and
a predict tool share one renderer. Class and predicate tokens are drawn by their readable names
(``closet/cabinet``, ``not looking at``; :mod:`ag_detectron.vocabulary`). Rendering uses
matplotlib's Agg backend; functions return figures or ``(H, W, 3) uint8`` RGB arrays.
"""

from __future__ import annotations

import textwrap
from typing import Any, Dict, List, Mapping, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from ag_detectron.vocabulary import (  # noqa: E402
    GROUP_NAMES,
    object_display_name,
    predicate_display_name,
)

__all__ = [
    "SceneGraph",
    "scene_graph_from_dataset_dict",
    "scene_graph_from_model_output",
    "scene_graph_from_record",
    "draw_scene_graph",
    "relation_timeline",
    "figure_to_array",
]

_GROUPS = GROUP_NAMES
_GROUP_COLORS = {"attention": "#1f77b4", "spatial": "#2ca02c", "contacting": "#d62728"}


class SceneGraph(dict):
    """``boxes`` (N, 4) XYXY float array, ``labels`` [str] * N, ``scores`` (N,) or None,
    ``pairs`` [(subject, object)] * R, ``predicates`` [{"attention": [(name, score)], ...}] * R."""


def _np(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def scene_graph_from_dataset_dict(d: Mapping[str, Any], metadata: Any) -> SceneGraph:
    """Ground truth of one frame (boxes assumed XYXY_ABS, as the AG loader writes them)."""
    classes, predicates = metadata.thing_classes, metadata.predicate_classes
    anns = d["annotations"]
    boxes = np.array([a["bbox"] for a in anns], dtype=np.float64).reshape(-1, 4)
    rels = [r for r in d.get("relations", []) if r["subject"] >= 0]
    return SceneGraph(
        boxes=boxes,
        labels=[object_display_name(classes[a["category_id"]]) for a in anns],
        scores=None,
        pairs=[(r["subject"], r["object"]) for r in rels],
        predicates=[
            {g: [(predicate_display_name(predicates[i]), 1.0) for i in r[g]] for g in _GROUPS}
            for r in rels
        ],
    )


def scene_graph_from_model_output(
    outputs: Mapping[str, Any],
    metadata: Any,
    score_thresh: float = 0.5,
    predicate_thresh: float = 0.5,
    max_pairs: int = 10,
) -> SceneGraph:
    """Predicted graph: pairs whose object score >= ``score_thresh``, best ``max_pairs`` by max
    predicate score; attention = argmax, spatial / contacting = scores >= ``predicate_thresh`` (at
    least the best).
    """
    inst, rel = outputs["instances"], outputs["relations"]
    boxes = _np(inst.pred_boxes.tensor if hasattr(inst.pred_boxes, "tensor") else inst.pred_boxes)
    classes = _np(inst.pred_classes).astype(int)
    scores = _np(inst.scores) if inst.has("scores") else np.ones(len(classes))
    pairs = _np(rel.pair_idx).astype(int).reshape(-1, 2)
    names = metadata.predicate_classes
    return _select_graph(
        boxes=boxes,
        labels=[object_display_name(metadata.thing_classes[c]) for c in classes],
        scores=scores,
        pairs=pairs,
        group_scores={g: _np(rel.get(f"{g}_scores")).reshape(len(pairs), -1) for g in _GROUPS},
        group_names={
            g: [predicate_display_name(n) for n in names[a:b]]
            for g, (a, b) in metadata.predicate_groups.items()
        },
        score_thresh=score_thresh,
        predicate_thresh=predicate_thresh,
        max_pairs=max_pairs,
    )


def scene_graph_from_record(
    record: Mapping[str, Any],
    score_thresh: float = 0.5,
    predicate_thresh: float = 0.5,
    max_pairs: int = 10,
) -> SceneGraph:
    """Predicted graph from a JSON prediction record (``ag_detectron.engine.predictions`` schema:
    ``objects`` with id/class/score/box, ``relations`` with per-group ``{predicate: probability}``);
    selection as :func:`scene_graph_from_model_output`.
    """
    objects = sorted(record["objects"], key=lambda o: o["id"])
    index = {o["id"]: k for k, o in enumerate(objects)}
    rels = record["relations"]
    group_names = {g: list(rels[0][g]) if rels else [] for g in _GROUPS}
    return _select_graph(
        boxes=np.asarray([o["box"] for o in objects], dtype=float).reshape(-1, 4),
        labels=[o["class"] for o in objects],
        scores=np.asarray([o["score"] for o in objects], dtype=float),
        pairs=np.asarray(
            [(index[r["subject"]], index[r["object"]]) for r in rels], dtype=int
        ).reshape(-1, 2),
        group_scores={
            g: np.asarray([[r[g][n] for n in group_names[g]] for r in rels], dtype=float).reshape(
                len(rels), len(group_names[g])
            )
            for g in _GROUPS
        },
        group_names=group_names,
        score_thresh=score_thresh,
        predicate_thresh=predicate_thresh,
        max_pairs=max_pairs,
    )


def _select_graph(
    boxes: np.ndarray,
    labels: Sequence[str],
    scores: np.ndarray,
    pairs: np.ndarray,
    group_scores: Mapping[str, np.ndarray],
    group_names: Mapping[str, Sequence[str]],
    score_thresh: float,
    predicate_thresh: float,
    max_pairs: int,
) -> SceneGraph:
    """Keep pairs of confident boxes (best ``max_pairs`` by their strongest predicate) and, per
    group, the attention argmax / the spatial and contacting predicates >= ``predicate_thresh``
    (at least the best one). ``group_scores[g]`` is (P, K_g); boxes are re-numbered densely."""
    keep = [
        i
        for i, (s, o) in enumerate(pairs)
        if scores[o] >= score_thresh and scores[s] >= score_thresh
    ]
    strength = {i: max(float(group_scores[g][i].max()) for g in _GROUPS) for i in keep}
    keep = sorted(keep, key=lambda i: -strength[i])[:max_pairs]
    used = sorted({int(j) for i in keep for j in pairs[i]})
    remap = {j: k for k, j in enumerate(used)}
    preds = []
    for i in keep:
        entry = {}
        for g in _GROUPS:
            sc = group_scores[g][i]
            idx = (
                [int(np.argmax(sc))]
                if g == _GROUPS[0]  # the single-label group
                else [k for k in np.argsort(-sc) if sc[k] >= predicate_thresh]
            )
            if not idx:
                idx = [int(np.argmax(sc))]
            entry[g] = [(group_names[g][k], float(sc[k])) for k in idx]
        preds.append(entry)
    return SceneGraph(
        boxes=boxes[used].reshape(-1, 4),
        labels=[labels[c] for c in used],
        scores=scores[used],
        pairs=[(remap[int(pairs[i][0])], remap[int(pairs[i][1])]) for i in keep],
        predicates=preds,
    )


def draw_scene_graph(
    image: np.ndarray, graph: SceneGraph, title: str = "", dpi: int = 100, min_width: int = 640
) -> plt.Figure:
    """Frame with numbered, coloured boxes and person->object arrows, plus a panel listing the
    relations.

    Args:
        image: (H, W, 3) uint8 RGB.
        graph: a :class:`SceneGraph`.
        title: first line of the panel (e.g. the frame key).
        min_width: small frames (e.g. 320x180) are drawn enlarged to at least this many pixels wide.
    """
    h, w = image.shape[:2]
    scale = max(1.0, min_width / w)
    img_w, img_h = w * scale / dpi, h * scale / dpi
    panel_w = max(3.2, 0.55 * img_w)
    fig = plt.figure(figsize=(img_w + panel_w, max(img_h, 2.5)), dpi=dpi)
    frac = img_w / (img_w + panel_w)
    ax = fig.add_axes([0, 0, frac, 1])
    ax.imshow(image)
    ax.set_axis_off()
    cmap = plt.get_cmap("tab10")
    boxes = graph["boxes"]
    for i, (box, label) in enumerate(zip(boxes, graph["labels"])):
        color = cmap(i % 10)
        x1, y1, x2, y2 = box
        ax.add_patch(
            Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=color, linewidth=2)
        )
        text = f"{i}:{label}" + (
            f" {graph['scores'][i]:.2f}" if graph.get("scores") is not None else ""
        )
        ax.text(
            x1 + 1,
            max(y1 - 2, 8),
            text,
            fontsize=7,
            color="white",
            va="bottom",
            bbox=dict(facecolor=color, edgecolor="none", pad=1, alpha=0.85),
        )
    for s, o in graph["pairs"]:
        (sx, sy), (ox, oy) = _center(boxes[s]), _center(boxes[o])
        ax.annotate(
            "",
            xy=(ox, oy),
            xytext=(sx, sy),
            arrowprops=dict(arrowstyle="->", color=cmap(o % 10), lw=1.5, alpha=0.9),
        )
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    tx = fig.add_axes([frac, 0, 1 - frac, 1])
    tx.set_axis_off()
    lines = [title] if title else []
    colors = ["black"] * len(lines)
    for (s, o), preds in zip(graph["pairs"], graph["predicates"]):
        lines.append(f"{s}:{graph['labels'][s]} -> {o}:{graph['labels'][o]}")
        colors.append(cmap(o % 10))
        for g in _GROUPS:
            items = ", ".join(n if sc >= 1.0 else f"{n} {sc:.2f}" for n, sc in preds[g]) or "-"
            # ~13 monospace characters of 7 pt per inch of panel
            wrapped = textwrap.wrap(f"{g[:3]}: {items}", width=int(panel_w * 13) - 8)
            lines.extend("   " + (w if k == 0 else "     " + w) for k, w in enumerate(wrapped))
            colors.extend([_GROUP_COLORS[g]] * len(wrapped))
    if not graph["pairs"]:
        lines.append("(no person-object relations)")
        colors.append("gray")
    step = min(0.07, 0.95 / max(len(lines), 1))
    for k, (line, color) in enumerate(zip(lines, colors)):
        tx.text(
            0.02,
            0.97 - k * step,
            line,
            fontsize=7,
            color=color,
            va="top",
            family="monospace",
            transform=tx.transAxes,
        )
    return fig


def _center(box: Sequence[float]) -> Tuple[float, float]:
    return (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0


def relation_timeline(
    frames: Sequence[Mapping[str, Any]], metadata: Any, title: str = ""
) -> plt.Figure:
    """How each person->object relation of one video changes over its annotated frames.

    Args:
        frames: the video's dataset dicts (any order; sorted by ``frame_number`` here).
    Rows are ``object: predicate`` (grouped by object, coloured by predicate group); a square marks
    each annotated frame where the label holds; grey ticks mark frames where the object is not
    annotated.
    """
    frames = sorted(frames, key=lambda d: d["frame_number"])
    classes, names = metadata.thing_classes, metadata.predicate_classes
    groups = metadata.predicate_groups
    rows: Dict[Tuple[str, int], List[int]] = {}
    for d in frames:
        for r in d["relations"]:
            obj = classes[d["annotations"][r["object"]]["category_id"]]
            for g in _GROUPS:
                for pid in r[g]:
                    rows.setdefault((obj, pid), []).append(d["frame_number"])
    keys = sorted(rows, key=lambda k: (k[0], k[1]))
    fig, ax = plt.subplots(
        figsize=(max(6.0, 0.12 * len(frames) + 3), max(2.0, 0.28 * len(keys) + 1.2)), dpi=100
    )
    xs = [d["frame_number"] for d in frames]
    for y, key in enumerate(keys):
        g = next(name for name, (a, b) in groups.items() if a <= key[1] < b)
        ax.scatter(
            rows[key], [y] * len(rows[key]), marker="s", s=30, color=_GROUP_COLORS[g], zorder=3
        )
    ax.set_yticks(range(len(keys)))
    ax.set_yticklabels(
        [f"{object_display_name(obj)}: {predicate_display_name(names[pid])}" for obj, pid in keys],
        fontsize=7,
    )
    ax.set_xticks(xs if len(xs) <= 30 else xs[:: max(1, len(xs) // 30)])
    ax.tick_params(axis="x", labelsize=6, rotation=90)
    ax.set_xlabel("frame number (native fps)")
    ax.set_ylim(-0.7, max(len(keys) - 0.3, 0.7))
    ax.invert_yaxis()
    ax.set_axisbelow(True)
    ax.grid(axis="x", color="#dddddd", linewidth=0.5)
    handles = [
        plt.Line2D([], [], marker="s", linestyle="", color=c, label=g)
        for g, c in _GROUP_COLORS.items()
    ]
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(title or (f"video {frames[0]['video_id']}" if frames else ""), fontsize=9)
    fig.tight_layout()
    return fig


def figure_to_array(fig: plt.Figure) -> np.ndarray:
    """Render a figure to an (H, W, 3) uint8 RGB array and close it."""
    fig.canvas.draw()
    arr = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return arr
