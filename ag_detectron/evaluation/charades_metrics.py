"""Charades video-level mAP: the official (``charades_map``) and the sklearn / SlowFast variants.

Definitions: docs/evaluation.md. Inputs are a (V, C) score matrix and a (V, C) 0/1 label
matrix with videos in dataset (test-CSV) order.

* ``official``: videos without any label get score -inf (ranked last, so they cannot change any
  AP); per-item (non-interpolated) AP; exact ties keep dataset order (stable sort, = MATLAB).
* ``sklearn``: ``sklearn.metrics.average_precision_score`` semantics; tied scores form one
  precision/recall step (order-free); unlabeled videos stay in as negatives.

In both, classes without a positive are excluded from the mean and listed (never NaN).
"""

from typing import List, NamedTuple

import numpy as np

from ag_detectron.errors import EvaluationInputError

__all__ = [
    "MAPResult",
    "per_item_average_precision",
    "grouped_average_precision",
    "official_map",
    "sklearn_map",
    "charades_map",
    "aggregate_views",
]

VARIANTS = ("official", "sklearn")


class MAPResult(NamedTuple):
    """Per-class AP and their mean.

    Attributes:
        ap: (C,) float64 AP per class; NaN for classes without a positive.
        mean_ap: mean of ``ap`` over classes with a positive (0.0 if there is none).
        wap: ``sum_c AP_c n_c / sum_c n_c`` (the official script's weighted AP).
        num_classes_evaluated: classes with at least one positive.
        classes_without_positives: their indices.
        num_positives: (C,) int64 positives per class.
    """

    ap: np.ndarray
    mean_ap: float
    wap: float
    num_classes_evaluated: int
    classes_without_positives: List[int]
    num_positives: np.ndarray


def _check(scores: np.ndarray, labels: np.ndarray) -> tuple:
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    if scores.ndim != 2 or scores.shape != labels.shape:
        raise EvaluationInputError(
            f"Charades mAP: scores {scores.shape} and labels {labels.shape} must both be (V, C)"
        )
    if np.isnan(scores).any() or np.isposinf(scores).any():
        raise EvaluationInputError("Charades mAP: scores contain NaN or +inf")
    if not np.isin(labels, (0, 1)).all():
        raise EvaluationInputError("Charades mAP: labels must be 0/1 (multi-hot)")
    return scores, labels.astype(np.float64)


def per_item_average_precision(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(C,) per-item AP, videos ordered by score descending, ties in input order (stable).

    ``AP_c = (1 / n_c) * sum over positives i of precision@i``; NaN where ``n_c = 0``.
    """
    scores, labels = _check(scores, labels)
    order = np.argsort(-scores, axis=0, kind="stable")
    y = np.take_along_axis(labels, order, axis=0)  # (V, C) labels in ranked order
    tp = np.cumsum(y, axis=0)
    prec = tp / np.arange(1, len(y) + 1)[:, None]
    n_pos = y.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (prec * y).sum(axis=0) / n_pos


def grouped_average_precision(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(C,) AP, tied scores grouped (``sklearn.metrics.average_precision_score``); NaN if n_c = 0.

    ``AP = sum_n (R_n - R_{n-1}) P_n`` over the distinct score thresholds, P and R taken at the
    last item of each tie group.
    """
    scores, labels = _check(scores, labels)
    num_v, num_c = scores.shape
    order = np.argsort(-scores, axis=0, kind="stable")
    s = np.take_along_axis(scores, order, axis=0)
    y = np.take_along_axis(labels, order, axis=0)
    tp = np.cumsum(y, axis=0)
    n_pos = tp[-1] if num_v else np.zeros(num_c)
    # last item of each group of equal scores
    group_end = np.ones((num_v, num_c), dtype=bool)
    if num_v > 1:
        group_end[:-1] = s[1:] != s[:-1]
    prec = tp / np.arange(1, num_v + 1)[:, None]
    # recall increase of a group = positives inside it / n_pos; sum over groups of dR * P
    tp_end = np.where(group_end, tp, 0.0)
    prev = np.maximum.accumulate(np.vstack([np.zeros((1, num_c)), tp_end[:-1]]), axis=0)
    delta = np.where(group_end, tp - prev, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (delta * prec).sum(axis=0) / n_pos


def _summarise(ap: np.ndarray, labels: np.ndarray) -> MAPResult:
    n_pos = labels.sum(axis=0).astype(np.int64)
    valid = n_pos > 0
    mean_ap = float(ap[valid].mean()) if valid.any() else 0.0
    wap = float((ap[valid] * n_pos[valid]).sum() / n_pos[valid].sum()) if valid.any() else 0.0
    return MAPResult(
        ap=np.where(valid, ap, np.nan),
        mean_ap=mean_ap,
        wap=wap,
        num_classes_evaluated=int(valid.sum()),
        classes_without_positives=np.flatnonzero(~valid).tolist(),
        num_positives=n_pos,
    )


def official_map(scores: np.ndarray, labels: np.ndarray) -> MAPResult:
    """Official / ``charades_map`` semantics (see module docstring)."""
    scores, labels = _check(scores, labels)
    scores = scores.copy()
    scores[labels.sum(axis=1) == 0] = -np.inf
    return _summarise(per_item_average_precision(scores, labels), labels)


def sklearn_map(scores: np.ndarray, labels: np.ndarray) -> MAPResult:
    """sklearn / SlowFast ``get_map`` semantics (see module docstring)."""
    scores, labels = _check(scores, labels)
    return _summarise(grouped_average_precision(scores, labels), labels)


def charades_map(scores: np.ndarray, labels: np.ndarray, variant: str = "official") -> MAPResult:
    """mAP of ``variant`` in ("official", "sklearn"); official is the primary metric."""
    if variant == "official":
        return official_map(scores, labels)
    if variant == "sklearn":
        return sklearn_map(scores, labels)
    raise EvaluationInputError(
        f"unknown Charades mAP variant {variant!r}; expected one of {VARIANTS}"
    )


def aggregate_views(
    view_scores: np.ndarray, video_index: np.ndarray, num_videos: int, method: str = "max"
) -> np.ndarray:
    """Combine per-view scores into per-video scores.

    Args:
        view_scores: (N, C) scores of N views/clips.
        video_index: (N,) int video of each view, in [0, num_videos).
        num_videos: V.
        method: "max" (SlowFast / LFB; commutes with sigmoid) or "mean".

    Returns:
        (V, C) float64; videos without a view get -inf.
    """
    view_scores = np.asarray(view_scores, dtype=np.float64)
    video_index = np.asarray(video_index, dtype=np.int64)
    out = np.full((num_videos, view_scores.shape[1]), -np.inf)
    if method == "max":
        np.maximum.at(out, video_index, view_scores)
    elif method == "mean":
        sums = np.zeros_like(out)
        np.add.at(sums, video_index, view_scores)
        n = np.bincount(video_index, minlength=num_videos)
        has = n > 0
        out[has] = sums[has] / n[has, None]
    else:
        raise EvaluationInputError(f"unknown view aggregation {method!r}; expected 'max' or 'mean'")
    return out
