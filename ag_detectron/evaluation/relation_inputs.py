"""Per-frame inputs of scene-graph recall: typed records, validation and packing into flat arrays.

The metric core (:mod:`relation_metrics`) works on all frames at once. This module turns per-frame
records into concatenated arrays with frame offsets (:class:`PackedFrames`) and rejects malformed
inputs with :class:`~ag_detectron.errors.EvaluationInputError` (docs/evaluation.md, "Inputs").

Id spaces: records may be in any :class:`~ag_detectron.vocabulary.PredicateVocabulary` (the 26
release predicates or the paper's 25); :func:`pack_frames` maps them into the release's 26-column
space, where the metric core works (a predicate a vocabulary lacks is an all-zero column, removed
from scoring by ``num_predicates``).
"""

from __future__ import annotations

from typing import List, NamedTuple, Optional, Sequence

import numpy as np

from ag_detectron.errors import EvaluationInputError
from ag_detectron.vocabulary import RELEASE, PredicateVocabulary

__all__ = [
    "FrameGroundTruth",
    "FramePrediction",
    "PackedFrames",
    "frame_ground_truth",
    "pack_frames",
    "PROB_SUM_TOL",
]

# |sum(attention) - 1| tolerance of the double-softmax guard (docs/evaluation.md).
PROB_SUM_TOL = 1e-4
_ATTENTION = RELEASE.group("attention")


class FrameGroundTruth(NamedTuple):
    """Ground truth of one frame in the community (STTran) triplet layout.

    Attributes:
        boxes: (N, 4) float64 XYXY absolute pixels; by convention row 0 is the person.
        classes: (N,) int64 class ids (any index space shared with the predictions).
        triplets: (T, 3) int64 rows ``(subject index, object index, predicate id)`` into
            ``boxes`` (ids of the vocabulary given to :func:`pack_frames`); spatial triplets are
            stored object -> person; duplicates are kept.
    """

    boxes: np.ndarray
    classes: np.ndarray
    triplets: np.ndarray


class FramePrediction(NamedTuple):
    """Predictions of one frame (probabilities, not logits). Group widths A, S, C are those of the
    vocabulary given to :func:`pack_frames` (release: 3, 6, 17; paper: 3, 6, 16).

    Attributes:
        boxes: (M, 4) float XYXY, same pixel frame as the ground truth.
        classes: (M,) int class ids.
        scores: (M,) float object scores in [0, 1] (1 for GT boxes in PredCls).
        pair_idx: (P, 2) int ``(person index, object index)`` into ``boxes``.
        attention: (P, A) softmax probabilities (each row sums to 1).
        spatial: (P, S) sigmoid probabilities.
        contacting: (P, C) sigmoid probabilities.
    """

    boxes: np.ndarray
    classes: np.ndarray
    scores: np.ndarray
    pair_idx: np.ndarray
    attention: np.ndarray
    spatial: np.ndarray
    contacting: np.ndarray


class PackedFrames(NamedTuple):
    """All frames concatenated; ``*_start`` arrays are (F + 1,) offsets into the flat arrays.

    Box and pair indices inside the flat arrays are GLOBAL (frame offset added).
    ``pred_frame`` etc. are (P_total,) frame ids of each pair. ``has_pred`` is (F,) bool: False for
    frames whose prediction was ``None`` (missing), which are scored with zero predictions.
    """

    num_frames: int
    gt_boxes: np.ndarray  # (Nb, 4) float64
    gt_classes: np.ndarray  # (Nb,) int64
    gt_sub: np.ndarray  # (T,) int64 global box index
    gt_obj: np.ndarray  # (T,) int64
    gt_pred: np.ndarray  # (T,) int64 release predicate id
    gt_frame: np.ndarray  # (T,) int64
    gt_start: np.ndarray  # (F + 1,) offsets of triplets
    box: np.ndarray  # (Mb, 4) float64 predicted boxes
    box_cls: np.ndarray  # (Mb,) int64
    box_score: np.ndarray  # (Mb,) float64
    pair_sub: np.ndarray  # (P,) int64 global predicted-box index of the person
    pair_obj: np.ndarray  # (P,) int64
    pair_frame: np.ndarray  # (P,) int64
    pair_start: np.ndarray  # (F + 1,)
    rel: np.ndarray  # (P, 26) float64 [attention | spatial | contacting], release columns
    has_pred: np.ndarray  # (F,) bool


def frame_ground_truth(
    person_box: Sequence[float],
    object_boxes: np.ndarray,
    object_classes: Sequence[int],
    attention: Sequence[int],
    spatial: Sequence[Sequence[int]],
    contacting: Sequence[Sequence[int]],
    person_class: int = 0,
) -> FrameGroundTruth:
    """Build one frame's GT triplets (release ids; spatial reversed, duplicates kept).

    Args:
        person_box: (4,) XYXY person box.
        object_boxes: (n, 4) XYXY boxes of the visible objects.
        object_classes: (n,) object class ids.
        attention: (n,) LOCAL attention label of each object (index within the group).
        spatial: n lists of LOCAL spatial labels.
        contacting: n lists of LOCAL contacting labels.
        person_class: class id of the person box.

    Returns:
        A :class:`FrameGroundTruth` with the person at box index 0 and object j at index j + 1.
    """
    object_boxes = np.asarray(object_boxes, dtype=np.float64).reshape(-1, 4)
    n = object_boxes.shape[0]
    if not (len(object_classes) == len(attention) == len(spatial) == len(contacting) == n):
        raise EvaluationInputError(
            f"frame_ground_truth: {n} object boxes but {len(object_classes)} classes, "
            f"{len(attention)} attention, {len(spatial)} spatial, {len(contacting)} contacting "
            "labels"
        )
    att, spa, con = (RELEASE.group(g) for g in ("attention", "spatial", "contacting"))
    rows: List[List[int]] = []
    for j in range(n):
        obj = j + 1
        rows.append([0, obj, att.start + _local(attention[j], att.size, "attention")])
        for s in spatial[j]:
            rows.append([obj, 0, spa.start + _local(s, spa.size, "spatial")])
        for t in contacting[j]:
            rows.append([0, obj, con.start + _local(t, con.size, "contacting")])
    boxes = np.concatenate([np.asarray(person_box, dtype=np.float64).reshape(1, 4), object_boxes])
    classes = np.concatenate([[person_class], np.asarray(object_classes, dtype=np.int64)])
    triplets = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
    return FrameGroundTruth(boxes, classes.astype(np.int64), triplets)


def _local(label: int, size: int, field: str) -> int:
    label = int(label)
    if not 0 <= label < size:
        raise EvaluationInputError(f"frame_ground_truth: {field} label {label} not in [0, {size})")
    return label


def _check_shapes(
    gt: FrameGroundTruth, pred: FramePrediction, where: str, vocab: PredicateVocabulary
) -> None:
    """Per-frame shape checks (cheap); values are checked on the packed arrays."""
    for name, x, ncols in (
        ("gt boxes", gt.boxes, 4),
        ("gt triplets", gt.triplets, 3),
        ("pred boxes", pred.boxes, 4),
        ("pred pair_idx", pred.pair_idx, 2),
    ):
        if x.ndim != 2 or x.shape[1] != ncols:
            raise EvaluationInputError(f"{where}: {name} must be (N, {ncols}), got {x.shape}")
    n = gt.boxes.shape[0]
    if gt.classes.shape != (n,):
        raise EvaluationInputError(f"{where} gt: classes {gt.classes.shape} vs {n} boxes")
    m = pred.boxes.shape[0]
    if pred.classes.shape != (m,) or pred.scores.shape != (m,):
        raise EvaluationInputError(
            f"{where} pred: classes {pred.classes.shape} / scores {pred.scores.shape} vs {m} boxes"
        )
    p = pred.pair_idx.shape[0]
    for group in vocab.groups:
        x = getattr(pred, group.name)
        if x.shape != (p, group.size):
            raise EvaluationInputError(
                f"{where}: {group.name} must be ({p}, {group.size}) probabilities for {p} pairs "
                f"({vocab.describe()}), got {x.shape}"
            )


def _first_frame(bad: np.ndarray, frame_of: np.ndarray) -> str:
    idx = int(np.nonzero(bad)[0][0])
    return f"frame {int(frame_of[idx])} (first of {int(bad.sum())} bad entries)"


def _check_box_values(boxes: np.ndarray, frame_of: np.ndarray, what: str) -> None:
    if not np.isfinite(boxes).all():
        bad = ~np.isfinite(boxes).all(axis=1)
        raise EvaluationInputError(f"{what} boxes contain NaN/inf: {_first_frame(bad, frame_of)}")
    bad = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    if bad.any():
        raise EvaluationInputError(
            f"{what} boxes with x2 < x1 or y2 < y1 (expected XYXY) at "
            f"{_first_frame(bad, frame_of)}:"
            f" {boxes[bad][0].tolist()}"
        )


def _validate_packed(pk: "PackedFrames", box_frame: np.ndarray, pbox_frame: np.ndarray) -> None:
    """Vectorised value checks of on packed frames; raises naming the first bad frame."""
    _check_box_values(pk.gt_boxes, box_frame, "GT")
    _check_box_values(pk.box, pbox_frame, "predicted")
    score = pk.box_score
    bad = ~np.isfinite(score) | (score < 0) | (score > 1)
    if bad.any():
        raise EvaluationInputError(
            f"object scores must be finite and in [0, 1]: {_first_frame(bad, pbox_frame)}"
        )
    rel = pk.rel
    bad = ~np.isfinite(rel).all(axis=1)
    if bad.any():
        raise EvaluationInputError(
            f"relation scores contain NaN/inf: {_first_frame(bad, pk.pair_frame)}"
        )
    bad = (rel < 0).any(axis=1) | (rel > 1).any(axis=1)
    if bad.any():
        raise EvaluationInputError(
            "relation scores outside [0, 1] (pass probabilities, not logits): "
            f"{_first_frame(bad, pk.pair_frame)}"
        )
    dev = np.abs(rel[:, _ATTENTION.start : _ATTENTION.stop].sum(axis=1) - 1.0)
    bad = dev > PROB_SUM_TOL
    if bad.any():
        raise EvaluationInputError(
            "attention rows must sum to 1 (softmax probabilities); max |sum - 1| = "
            f"{dev.max():.3g} > "
            f"{PROB_SUM_TOL} (logits or a double softmax?) at {_first_frame(bad, pk.pair_frame)}"
        )


def _arr(x, dtype, ncols: Optional[int]) -> np.ndarray:
    """``np.asarray`` with empty inputs reshaped to ``(0, ncols)`` (or ``(0,)``).

    Non-empty arrays keep their dtype (cast once after concatenation, exactly for float32).
    """
    if type(x) is np.ndarray and x.size:
        return x
    a = np.asarray(x)
    if a.size == 0:
        a = a.astype(dtype)
        a = a.reshape((0,) if ncols is None else (0, ncols))
    return a


def _as_gt(gt: FrameGroundTruth) -> FrameGroundTruth:
    return FrameGroundTruth(
        _arr(gt.boxes, np.float64, 4),
        _arr(gt.classes, np.int64, None),
        _arr(gt.triplets, np.int64, 3),
    )


def _as_pred(pred: FramePrediction, widths: Sequence[int]) -> FramePrediction:
    a, s, c = widths
    return FramePrediction(
        _arr(pred.boxes, np.float64, 4),
        _arr(pred.classes, np.int64, None),
        _arr(pred.scores, np.float64, None),
        _arr(pred.pair_idx, np.int64, 2),
        _arr(pred.attention, np.float64, a),
        _arr(pred.spatial, np.float64, s),
        _arr(pred.contacting, np.float64, c),
    )


def pack_frames(
    gts: Sequence[FrameGroundTruth],
    preds: Sequence[Optional[FramePrediction]],
    validate: bool = True,
    vocabulary: PredicateVocabulary = RELEASE,
) -> PackedFrames:
    """Validate and concatenate per-frame records (frame f = position f in both sequences).

    Predicate ids and probability columns are mapped from ``vocabulary`` into the release's 26
    columns (identity for the release).

    Args:
        gts: F ground-truth records.
        preds: F prediction records; ``None`` marks a frame missing from the predictions (it is
            scored with zero predictions, i.e. recall 0, and counted).
        validate: check every field; turn off only for inputs validated before.
        vocabulary: id space of the GT triplets and widths of the prediction groups.

    Raises:
        EvaluationInputError: on any malformed field; the message names the frame.
    """
    if len(gts) != len(preds):
        raise EvaluationInputError(
            f"pack_frames: {len(gts)} GT frames but {len(preds)} predictions"
        )
    num = len(gts)
    widths = vocabulary.group_sizes
    gts = [_as_gt(g) for g in gts]
    empty = FramePrediction(
        np.zeros((0, 4)), np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 2), np.int64),
        *(np.zeros((0, w)) for w in widths),
    )  # fmt: skip
    has_pred = np.array([p is not None for p in preds], dtype=bool)
    preds = [empty if p is None else _as_pred(p, widths) for p in preds]
    if validate:
        for f in range(num):
            _check_shapes(gts[f], preds[f], f"frame {f}", vocabulary)

    n_box = np.array([len(g.boxes) for g in gts], dtype=np.int64)
    n_trip = np.array([len(g.triplets) for g in gts], dtype=np.int64)
    m_box = np.array([len(p.boxes) for p in preds], dtype=np.int64)
    n_pair = np.array([len(p.pair_idx) for p in preds], dtype=np.int64)
    box_off = _offsets(n_box)
    pbox_off = _offsets(m_box)
    frames = np.arange(num, dtype=np.int64)
    gt_frame = np.repeat(frames, n_trip)
    pair_frame = np.repeat(frames, n_pair)

    trip = _cat([g.triplets for g in gts], (0, 3), np.int64)
    pairs = _cat([p.pair_idx for p in preds], (0, 2), np.int64)
    if validate:
        bad = (trip[:, 2] < 0) | (trip[:, 2] >= vocabulary.size)
        if bad.any():
            raise EvaluationInputError(
                f"GT predicate id outside [0, {vocabulary.size}) ({vocabulary.describe()}): "
                f"{_first_frame(bad, gt_frame)}"
            )
        bad = ((trip[:, :2] < 0) | (trip[:, :2] >= n_box[gt_frame][:, None])).any(axis=1)
        if bad.any():
            raise EvaluationInputError(
                f"GT triplet points at an absent box: {_first_frame(bad, gt_frame)}"
            )
        bad = ((pairs < 0) | (pairs >= m_box[pair_frame][:, None])).any(axis=1)
        if bad.any():
            raise EvaluationInputError(
                f"pair_idx points at an absent predicted box: {_first_frame(bad, pair_frame)}"
            )
    gt_pred = trip[:, 2].copy()
    if vocabulary is RELEASE:
        rel = np.empty((len(pairs), RELEASE.size), dtype=np.float64)
        for group in RELEASE.groups:
            if len(pairs):
                np.concatenate(
                    [getattr(p, group.name) for p in preds], out=rel[:, group.start : group.stop]
                )
    else:  # scatter into the release columns; columns this vocabulary lacks stay 0
        release_ids = np.asarray(vocabulary.release_ids, dtype=np.int64)
        rel = np.zeros((len(pairs), RELEASE.size), dtype=np.float64)
        for group in vocabulary.groups:
            if len(pairs):
                cols = release_ids[group.start : group.stop]
                rel[:, cols] = np.concatenate([getattr(p, group.name) for p in preds])
        if len(gt_pred):
            gt_pred = release_ids[np.clip(gt_pred, 0, vocabulary.size - 1)]
    pk = PackedFrames(
        num_frames=num,
        gt_boxes=_cat([g.boxes for g in gts], (0, 4), np.float64),
        gt_classes=_cat([g.classes for g in gts], (0,), np.int64),
        gt_sub=trip[:, 0] + box_off[gt_frame],
        gt_obj=trip[:, 1] + box_off[gt_frame],
        gt_pred=gt_pred,
        gt_frame=gt_frame,
        gt_start=_offsets(n_trip),
        box=_cat([p.boxes for p in preds], (0, 4), np.float64),
        box_cls=_cat([p.classes for p in preds], (0,), np.int64),
        box_score=_cat([p.scores for p in preds], (0,), np.float64),
        pair_sub=pairs[:, 0] + pbox_off[pair_frame],
        pair_obj=pairs[:, 1] + pbox_off[pair_frame],
        pair_frame=pair_frame,
        pair_start=_offsets(n_pair),
        rel=rel,
        has_pred=has_pred,
    )
    if validate:
        _validate_packed(pk, np.repeat(frames, n_box), np.repeat(frames, m_box))
    return pk


def _offsets(counts: np.ndarray) -> np.ndarray:
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def _cat(arrays: List[np.ndarray], empty_shape, dtype) -> np.ndarray:
    if not arrays:
        return np.zeros(empty_shape, dtype=dtype)
    return np.concatenate(arrays).astype(dtype, copy=False)
