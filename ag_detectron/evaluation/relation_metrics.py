"""Scene-graph recall R@K, mean recall and the AG-paper protocol: the pure, vectorised core.

Definitions: docs/evaluation.md (community STTran protocol with "with" / "semi" / "no"
constraints, TEMPURA / DSG-DETR mean recall, AG paper Table 5). All frames
are processed together: predictions are emitted per constraint (:mod:`relation_emission`), ranked
per frame with one stable sort on (frame, -score, emission order), matched to ground truth by a
sorted join on (frame, subject class, predicate, object class) followed by the legacy "+1" IoU on
the candidate pairs, and reduced with ``bincount``. No per-frame or per-triplet Python loop.

Our documented choices (docs/evaluation.md): exact score ties keep emission order (row, then
predicate; flat cell index for "no"); frames without GT are excluded from every mean and counted;
frames whose prediction is missing count as zero predictions (recall 0) and are counted; inputs are
probabilities.
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from ag_detectron.errors import EvaluationInputError
from ag_detectron.vocabulary import RELEASE

from .ranking import FrameRanker, rank_within_frames
from .relation_emission import (
    NO_CONSTRAINT_TOP,
    NUM_ALL_PREDICATES,
    SPATIAL,
    Emitted,
    emit_ranked,
    removed_columns,
)
from .relation_inputs import FrameGroundTruth, FramePrediction, PackedFrames, pack_frames

__all__ = [
    "CONSTRAINTS",
    "DEFAULT_TOPK",
    "ConstraintResult",
    "iou_plus_one",
    "rank_within_frames",
    "evaluate_constraint",
    "evaluate_relations",
    "video_mean",
]

CONSTRAINTS = ("with", "semi", "no", "ag_paper")
DEFAULT_TOPK = (10, 20, 50, 100)
MEAN_RECALL_EPS = 1e-10  # TEMPURA's denominator guard in mR@K_pooled


class ConstraintResult(NamedTuple):
    """Recall of one constraint over F frames and the cut-offs ``topk`` (nK of them).

    Attributes:
        constraint: "with" | "semi" | "no" | "ag_paper".
        topk: the K values.
        hits: (F, nK) int64 GT triplets of each frame matched within the top K.
        num_gt: (F,) int64 GT triplets per frame (duplicates counted).
        num_predictions: (F,) int64 ranked predictions per frame (N_f, before the K cut).
        recall: K -> mean over frames with GT of hits / num_gt.
        mean_recall_pooled: K -> mR@K_pooled (TEMPURA).
        mean_recall_frame: K -> mR@K_frame (DSG-DETR formula).
        per_predicate_pooled: (26, nK) hit_p / cnt_p per release predicate; NaN for predicates
            absent from GT or removed.
        per_predicate_frame: (26, nK) R_p of the per-frame variant; NaN likewise.
        predicate_count: (26,) int64 GT triplets per release predicate.
        num_frames_without_gt: frames excluded from the means.
        num_frames_missing_predictions: frames whose prediction was ``None`` (scored as recall 0).
    """

    constraint: str
    topk: Tuple[int, ...]
    hits: np.ndarray
    num_gt: np.ndarray
    num_predictions: np.ndarray
    recall: Dict[int, float]
    mean_recall_pooled: Dict[int, float]
    mean_recall_frame: Dict[int, float]
    per_predicate_pooled: np.ndarray
    per_predicate_frame: np.ndarray
    predicate_count: np.ndarray
    num_frames_without_gt: int
    num_frames_missing_predictions: int

    def frame_recall(self) -> np.ndarray:
        """(F, nK) per-frame recall; NaN for frames without GT."""
        with np.errstate(invalid="ignore", divide="ignore"):
            out = self.hits / self.num_gt[:, None].astype(np.float64)
        out[self.num_gt == 0] = np.nan
        return out


def iou_plus_one(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Legacy Fast R-CNN IoU with the "+1 pixel" convention, element-wise.

    Args:
        gt: (N, 4) XYXY boxes; pred: (N, 4) XYXY boxes (paired row by row).

    Returns:
        (N,) float64 IoU; 0 where the "+1" intersection width or height is not positive.
    """
    pred_area = (pred[:, 2] - pred[:, 0] + 1) * (pred[:, 3] - pred[:, 1] + 1)
    iw = np.minimum(gt[:, 2], pred[:, 2]) - np.maximum(gt[:, 0], pred[:, 0]) + 1
    ih = np.minimum(gt[:, 3], pred[:, 3]) - np.maximum(gt[:, 1], pred[:, 1]) + 1
    inter = iw * ih
    union = (gt[:, 2] - gt[:, 0] + 1) * (gt[:, 3] - gt[:, 1] + 1) + pred_area - inter
    ok = (iw > 0) & (ih > 0)
    out = np.zeros(len(gt))
    np.divide(inter, union, out=out, where=ok)
    return out


def _class_codes(*arrays: np.ndarray) -> Tuple[List[np.ndarray], int]:
    """Map class ids onto 0..C-1 consistently across arrays (identity for small ids >= 0)."""
    lo = min((int(a.min()) for a in arrays if len(a)), default=0)
    hi = max((int(a.max()) for a in arrays if len(a)), default=0)
    if lo >= 0 and hi < 1 << 16:
        return list(arrays), hi + 1
    values, inverse = np.unique(np.concatenate(arrays), return_inverse=True)
    out, pos = [], 0
    for a in arrays:
        out.append(inverse[pos : pos + len(a)])
        pos += len(a)
    return out, max(len(values), 1)


def _gt_view(pk: PackedFrames, constraint: str, num_predicates: int) -> Tuple[np.ndarray, ...]:
    """(sub, obj, predicate, frame) of the GT triplets used by ``constraint``."""
    sub, obj, pred, frame = pk.gt_sub, pk.gt_obj, pk.gt_pred, pk.gt_frame
    if constraint == "ag_paper":  # (person, object) for every type
        spatial = (pred >= SPATIAL.start) & (pred < SPATIAL.stop)
        sub, obj = np.where(spatial, obj, sub), np.where(spatial, sub, obj)
    removed = removed_columns(num_predicates)
    if len(removed):
        keep = ~np.isin(pred, removed)
        sub, obj, pred, frame = sub[keep], obj[keep], pred[keep], frame[keep]
    return sub, obj, pred, frame


def _first_match_rank(
    pk: PackedFrames,
    gt: Tuple[np.ndarray, ...],
    em: Emitted,
    ranker: FrameRanker,
    max_rank: int,
    iou_thresh: float,
) -> np.ndarray:
    """(T,) smallest rank (< ``max_rank``) of a prediction matching each GT triplet, or int max."""
    g_sub, g_obj, g_pred, g_frame = gt
    # cheap pre-filters: the frame's GT has the predicate (and the classes); then rank < max_rank
    pmask = np.zeros(pk.num_frames, dtype=np.int64)
    np.bitwise_or.at(pmask, g_frame, np.left_shift(1, g_pred))
    sel = np.flatnonzero(np.right_shift(pmask[em.frame], em.predicate) & 1)
    e_sub, e_obj = em.subject_object(pk, sel)
    (gs, go, ps, po), num_cls = _class_codes(
        pk.gt_classes[g_sub], pk.gt_classes[g_obj], pk.box_cls[e_sub], pk.box_cls[e_obj]
    )
    if num_cls <= 63:  # second filter: subject / object classes present on that side of the GT
        smask = np.zeros(pk.num_frames, dtype=np.int64)
        omask = np.zeros(pk.num_frames, dtype=np.int64)
        np.bitwise_or.at(smask, g_frame, np.left_shift(1, gs))
        np.bitwise_or.at(omask, g_frame, np.left_shift(1, go))
        f = em.frame[sel]
        ok = (np.right_shift(smask[f], ps) & np.right_shift(omask[f], po) & 1).astype(bool)
        sel, e_sub, e_obj, ps, po = sel[ok], e_sub[ok], e_obj[ok], ps[ok], po[ok]
    rank = ranker(sel)
    ok = rank < max_rank
    sel, e_sub, e_obj, ps, po, rank = sel[ok], e_sub[ok], e_obj[ok], ps[ok], po[ok], rank[ok]
    e_frame, e_pred = em.frame[sel], em.predicate[sel]
    n_pred = NUM_ALL_PREDICATES

    def code(frame, cs, p, co):
        return ((frame * num_cls + cs) * n_pred + p) * num_cls + co

    gt_key = code(g_frame, gs, g_pred, go)
    order = np.argsort(gt_key, kind="stable")
    sorted_key = gt_key[order]
    pred_key = code(e_frame, ps, e_pred, po)
    q_order = np.argsort(pred_key)  # sorted queries make the binary searches cache-friendly
    q_sorted = pred_key[q_order]
    lo = np.empty(len(pred_key), dtype=np.int64)
    hi = np.empty(len(pred_key), dtype=np.int64)
    lo[q_order] = np.searchsorted(sorted_key, q_sorted, side="left")
    hi[q_order] = np.searchsorted(sorted_key, q_sorted, side="right")
    n = hi - lo
    cand_pred = np.repeat(np.arange(len(pred_key)), n)
    within = np.arange(len(cand_pred)) - np.repeat(np.cumsum(n) - n, n)
    cand_gt = order[np.repeat(lo, n) + within]
    ok = (iou_plus_one(pk.gt_boxes[g_sub[cand_gt]], pk.box[e_sub[cand_pred]]) >= iou_thresh) & (
        iou_plus_one(pk.gt_boxes[g_obj[cand_gt]], pk.box[e_obj[cand_pred]]) >= iou_thresh
    )
    best = np.full(len(g_pred), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(best, cand_gt[ok], rank[cand_pred[ok]])
    return best


def _mean_recalls(
    hit: np.ndarray, g_pred: np.ndarray, g_frame: np.ndarray, num_predicates: int
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-predicate recalls of both mR variants. ``hit``: (T, nK) bool."""
    n_k = hit.shape[1]
    count = np.bincount(g_pred, minlength=NUM_ALL_PREDICATES).astype(np.int64)
    pooled_hits = np.stack(
        [np.bincount(g_pred, weights=hit[:, i], minlength=NUM_ALL_PREDICATES) for i in range(n_k)],
        axis=1,
    )
    pooled = pooled_hits / (count[:, None] + MEAN_RECALL_EPS)
    # per-frame variant: groups (frame, predicate)
    groups, inverse = np.unique(g_frame * NUM_ALL_PREDICATES + g_pred, return_inverse=True)
    g_count = np.bincount(inverse, minlength=len(groups))
    group_pred = groups % NUM_ALL_PREDICATES
    frames_per_pred = np.bincount(group_pred, minlength=NUM_ALL_PREDICATES)
    per_frame = np.zeros((NUM_ALL_PREDICATES, n_k))
    for i in range(n_k):
        ratio = np.bincount(inverse, weights=hit[:, i], minlength=len(groups)) / g_count
        sums = np.bincount(group_pred, weights=ratio, minlength=NUM_ALL_PREDICATES)
        per_frame[:, i] = np.divide(
            sums, frames_per_pred, out=np.zeros(NUM_ALL_PREDICATES), where=frames_per_pred > 0
        )
    valid = np.ones(NUM_ALL_PREDICATES, dtype=bool)
    valid[removed_columns(num_predicates)] = False
    mr_pooled = pooled[valid].sum(axis=0) / num_predicates
    mr_frame = per_frame[valid].sum(axis=0) / num_predicates
    absent = (count == 0) | ~valid
    pooled[absent] = np.nan
    per_frame[absent] = np.nan
    return mr_pooled, mr_frame, pooled, per_frame, count


def evaluate_constraint(
    pk: PackedFrames,
    constraint: str,
    topk: Sequence[int] = DEFAULT_TOPK,
    iou_thresh: float = 0.5,
    semi_thresh: float = 0.9,
    num_predicates: int = RELEASE.size,
) -> ConstraintResult:
    """R@K and both mR@K of one constraint on packed frames (see module docstring)."""
    topk = tuple(int(k) for k in topk)
    if not topk or min(topk) <= 0:
        raise EvaluationInputError(f"topk must be positive integers, got {topk}")
    em, ranker = emit_ranked(pk, constraint, num_predicates=num_predicates, semi_thresh=semi_thresh)
    num_pred = np.bincount(em.frame, minlength=pk.num_frames).astype(np.int64)
    if constraint == "no":
        num_pred = np.minimum(num_pred, NO_CONSTRAINT_TOP)
    gt = _gt_view(pk, constraint, num_predicates)
    best = _first_match_rank(pk, gt, em, ranker, max(topk), iou_thresh)
    hit = best[:, None] < np.asarray(topk)[None, :]  # (T, nK)
    g_frame = gt[3]
    num_gt = np.bincount(g_frame, minlength=pk.num_frames).astype(np.int64)
    hits = np.stack(
        [
            np.bincount(g_frame, weights=hit[:, i], minlength=pk.num_frames)
            for i in range(len(topk))
        ],
        axis=1,
    ).astype(np.int64)
    with_gt = num_gt > 0
    frame_recall = hits[with_gt] / num_gt[with_gt][:, None]
    recall = frame_recall.mean(axis=0) if with_gt.any() else np.zeros(len(topk))
    mr_pooled, mr_frame, per_pooled, per_frame, count = _mean_recalls(
        hit, gt[2], g_frame, num_predicates
    )
    return ConstraintResult(
        constraint=constraint,
        topk=topk,
        hits=hits,
        num_gt=num_gt,
        num_predictions=num_pred,
        recall={k: float(v) for k, v in zip(topk, recall)},
        mean_recall_pooled={k: float(v) for k, v in zip(topk, mr_pooled)},
        mean_recall_frame={k: float(v) for k, v in zip(topk, mr_frame)},
        per_predicate_pooled=per_pooled,
        per_predicate_frame=per_frame,
        predicate_count=count,
        num_frames_without_gt=int((~with_gt).sum()),
        num_frames_missing_predictions=int((~pk.has_pred).sum()),
    )


def video_mean(values: np.ndarray, valid: np.ndarray, video_ids: Sequence[str]) -> np.ndarray:
    """Mean of per-frame ``values`` (F, nK) within each video, then over videos.

    Frames with ``valid`` False (no GT) are ignored; videos without a valid frame are skipped.
    """
    if len(video_ids) != len(values):
        raise EvaluationInputError(f"{len(video_ids)} video ids for {len(values)} frames")
    _, vid = np.unique(np.asarray(video_ids, dtype=object).astype(str), return_inverse=True)
    vid = vid[valid]
    vals = values[valid]
    if len(vals) == 0:
        return np.zeros(values.shape[1])
    n = np.bincount(vid)
    present = n > 0
    sums = np.stack([np.bincount(vid, weights=vals[:, i]) for i in range(vals.shape[1])], axis=1)
    return (sums[present] / n[present][:, None]).mean(axis=0)


def evaluate_relations(
    gts: Sequence[FrameGroundTruth],
    preds: Sequence[Optional[FramePrediction]],
    constraints: Sequence[str] = CONSTRAINTS,
    topk: Sequence[int] = DEFAULT_TOPK,
    iou_thresh: float = 0.5,
    semi_thresh: float = 0.9,
    num_predicates: int = RELEASE.size,
) -> Dict[str, ConstraintResult]:
    """Scene-graph recall of F frames under every constraint in ``constraints``.

    Args:
        gts: F :class:`FrameGroundTruth` (build with :func:`frame_ground_truth`).
        preds: F :class:`FramePrediction` (probabilities) or ``None`` for a missing frame.
        constraints: subset of :data:`CONSTRAINTS`.
        topk: recall cut-offs K.
        iou_thresh: IoU₁ threshold, inclusive, on subject and object boxes.
        semi_thresh: "semi" per-cell threshold, strict ``>``.
        num_predicates: 26, or 25 to drop ``other_relationship`` from GT and predictions (the
            inputs are in release ids either way; :func:`pack_frames` maps other vocabularies).

    Returns:
        constraint -> :class:`ConstraintResult`. Use :func:`video_mean` on
        ``result.frame_recall()`` for the AG paper's video-level numbers.
    """
    pk = pack_frames(gts, preds)
    return {
        c: evaluate_constraint(pk, c, topk, iou_thresh, semi_thresh, num_predicates)
        for c in constraints
    }
