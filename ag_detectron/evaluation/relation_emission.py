"""Scene-graph predictions emitted under each constraint, for all frames at once (vectorised).

Implements evaluation_protocol.md §1.3–§1.4 and §3.2 on :class:`PackedFrames`. Every emitted
prediction carries a unique, frame-major ``key`` equal to its emission order (STTran row ``r`` and
predicate ``k`` as ``26 * r + k`` plus a frame offset); the ranking breaks exact score ties by it.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ag_detectron.data.datasets.ag_categories import (
    ATTENTION,
    CONTACTING,
    OTHER_RELATIONSHIP_ID,
    SPATIAL,
)
from ag_detectron.errors import EvaluationInputError

from .relation_inputs import PackedFrames

__all__ = ["Emitted", "emit", "NO_CONSTRAINT_TOP", "NUM_ALL_PREDICATES"]

NUM_ALL_PREDICATES = CONTACTING.stop  # 26 columns of the STTran row matrix
NO_CONSTRAINT_TOP = 100  # cells kept per frame by the "no" constraint before matching (§1.4)
_ROWS_FOR_ZEROS = 12  # every STTran row has >= 9 structural zeros: 12 rows hold >= 100 of them


class Emitted(NamedTuple):
    """Flat predictions of all frames (E entries), in frame-major emission order.

    Attributes:
        frame: (E,) int64 frame id.
        sub, obj: (E,) int64 global predicted-box indices of subject / object.
        predicate: (E,) int64 global predicate id.
        score: (E,) float64 triplet score ``sigma(sub) * sigma(obj) * R[r, k]``.
        key: (E,) int64 unique emission order (ties in ``score`` keep this order).
    """

    frame: np.ndarray
    sub: np.ndarray
    obj: np.ndarray
    predicate: np.ndarray
    score: np.ndarray
    key: np.ndarray


def _row_base(pk: PackedFrames) -> tuple:
    """(P,) first-row key of each pair's frame (3 * pair_start[f]), local pair index, P_f."""
    f = pk.pair_frame
    start = pk.pair_start[f]
    count = (pk.pair_start[1:] - pk.pair_start[:-1])[f]
    local = np.arange(len(f), dtype=np.int64) - start
    return 3 * start, local, count


def _group_argmax(block: np.ndarray, offset: int) -> tuple:
    """argmax over one group's columns of an otherwise-zero row; all-zero rows give (0, 0.0)."""
    best = block.max(axis=1) if block.shape[1] else np.zeros(len(block))
    k = np.where(best > 0, offset + block.argmax(axis=1), 0)
    return k.astype(np.int64), best


def _groups(pk: PackedFrames, num_predicates: int) -> tuple:
    """The three groups' probability blocks; column 18 is -1 (never chosen) in 25-class mode."""
    rel = pk.rel
    contacting = rel[:, CONTACTING.start : CONTACTING.stop]
    if num_predicates == NUM_ALL_PREDICATES - 1:
        contacting = contacting.copy()
        contacting[:, OTHER_RELATIONSHIP_ID - CONTACTING.start] = -1.0
    return (
        rel[:, ATTENTION.start : ATTENTION.stop],
        rel[:, SPATIAL.start : SPATIAL.stop],
        contacting,
    )


def _pair_scores(pk: PackedFrames) -> np.ndarray:
    return pk.box_score[pk.pair_sub] * pk.box_score[pk.pair_obj]


def _concat(parts) -> Emitted:
    parts = [p for p in parts if len(p.frame)]
    if not parts:
        z = np.zeros(0, dtype=np.int64)
        return Emitted(z, z, z, z, np.zeros(0), z)
    out = Emitted(*(np.concatenate(x) for x in zip(*parts)))
    order = np.argsort(out.key, kind="stable")
    return Emitted(*(x[order] for x in out))


def _rows(pk, block_id, k, pscore, sel=None) -> Emitted:
    """Emit one prediction per selected row of block ``block_id`` (0 att, 1 spatial, 2 contacting)."""
    base, local, count = _row_base(pk)
    sub, obj = pk.pair_sub, pk.pair_obj
    if block_id == 1:  # spatial rows are on (object, person) (§1.3)
        sub, obj = obj, sub
    key = (base + block_id * count + local) * NUM_ALL_PREDICATES + k
    score = _pair_scores(pk) * pscore
    arrays = (pk.pair_frame, sub, obj, k, score, key)
    if sel is not None:
        arrays = tuple(a[sel] for a in arrays)
    return Emitted(*arrays)


def _cells(pk, block_id, col_offset, mask) -> Emitted:
    """Emit every True cell of ``mask`` (P, width) of block ``block_id`` (ascending k per row)."""
    p, c = np.nonzero(mask)
    k = (c + col_offset).astype(np.int64)
    base, local, count = _row_base(pk)
    sub, obj = pk.pair_sub[p], pk.pair_obj[p]
    if block_id == 1:
        sub, obj = obj, sub
    key = (base[p] + block_id * count[p] + local[p]) * NUM_ALL_PREDICATES + k
    score = _pair_scores(pk)[p] * pk.rel[p, k]
    return Emitted(pk.pair_frame[p], sub, obj, k, score, key)


def _emit_with(pk: PackedFrames, num_predicates: int) -> Emitted:
    att, spa, con = _groups(pk, num_predicates)
    parts = []
    for block_id, (block, offset) in enumerate(
        ((att, ATTENTION.start), (spa, SPATIAL.start), (con, CONTACTING.start))
    ):
        k, best = _group_argmax(block, offset)
        parts.append(_rows(pk, block_id, k, best))
    return _concat(parts)


def _emit_semi(pk: PackedFrames, num_predicates: int, semi_thresh: float) -> Emitted:
    att, spa, con = _groups(pk, num_predicates)
    rel = pk.rel
    k, best = _group_argmax(att, ATTENTION.start)
    att_rows = rel[:, 0] + rel[:, 1] > 0  # looking_at + not_looking_at
    spa_rows = rel[:, 3] + rel[:, 4] > 0  # above + beneath
    con_rows = rel[:, 9] + rel[:, 10] > 0  # carrying + covered_by
    return _concat(
        [
            _rows(pk, 0, k, best, sel=att_rows),
            _cells(pk, 1, SPATIAL.start, (spa > semi_thresh) & spa_rows[:, None]),
            _cells(pk, 2, CONTACTING.start, (con > semi_thresh) & con_rows[:, None]),
        ]
    )


def _column_block() -> np.ndarray:
    blocks = np.zeros(NUM_ALL_PREDICATES, dtype=np.int64)
    blocks[SPATIAL.start : SPATIAL.stop] = 1
    blocks[CONTACTING.start : CONTACTING.stop] = 2
    return blocks


def _frame_thresholds(overall: np.ndarray, pk: PackedFrames) -> np.ndarray:
    """(F,) value of each frame's 100th largest compact cell (frames with >= 100 positive cells).

    Frames are bucketed by pair count so each bucket is a dense (F_P, 26 P) matrix.
    """
    counts = pk.pair_start[1:] - pk.pair_start[:-1]
    thr = np.zeros(pk.num_frames)
    width = overall.shape[1]
    for p in np.unique(counts):
        if p * width < NO_CONSTRAINT_TOP:
            continue
        frames = np.nonzero(counts == p)[0]
        rows = (pk.pair_start[frames][:, None] + np.arange(p)[None, :]).reshape(-1)
        dense = overall[rows].reshape(len(frames), p * width)
        kth = p * width - NO_CONSTRAINT_TOP
        thr[frames] = np.partition(dense, kth, axis=1)[:, kth]
    return thr


def _emit_no(pk: PackedFrames, num_predicates: int) -> Emitted:
    """Top-100 cells of the 3P x 26 matrix per frame, zero cells included (§1.4).

    Only the 26 group cells of a pair can be non-zero. Frames with >= 100 positive cells emit the
    cells at or above their 100th largest value; other frames emit all positive cells plus the
    first zero cells in flat order, which lie in the first 12 rows. The ranking then keeps 100.
    """
    overall = _pair_scores(pk)[:, None] * pk.rel  # (P, 26) compact cells
    if num_predicates == NUM_ALL_PREDICATES - 1:
        overall[:, OTHER_RELATIONSHIP_ID] = -1.0  # column removed from the matrix
    positive = overall > 0
    n_pos = np.bincount(pk.pair_frame, weights=positive.sum(axis=1), minlength=pk.num_frames)
    counts = pk.pair_start[1:] - pk.pair_start[:-1]
    zero_regime = (n_pos < NO_CONSTRAINT_TOP) & (counts > 0)
    thr = _frame_thresholds(overall, pk)
    thr[zero_regime] = np.nextafter(0.0, 1.0)  # O >= thr  <=>  O > 0
    mask = overall >= thr[pk.pair_frame][:, None]
    blocks = _column_block()
    parts = [
        _cells(pk, b, 0, mask & (blocks == b)[None, :]) for b in range(3)
    ]  # columns keep their global ids (col_offset 0)
    needed = np.minimum(NO_CONSTRAINT_TOP, 3 * counts * num_predicates) - n_pos
    frames = np.nonzero(zero_regime)[0]
    parts.append(_zero_cells(pk, overall, frames, needed[frames].astype(np.int64), num_predicates))
    return _concat(parts)


def _zero_cells(
    pk: PackedFrames,
    overall: np.ndarray,
    frames: np.ndarray,
    needed: np.ndarray,
    num_predicates: int,
) -> Emitted:
    """The first ``needed[i]`` zero-valued cells (flat order) of each frame ``frames[i]``.

    They lie in the frame's first 12 rows; all have triplet score 0.
    """
    if len(frames) == 0:
        return _concat([])
    counts = (pk.pair_start[1:] - pk.pair_start[:-1])[frames]
    start = pk.pair_start[frames]
    r = np.arange(min(_ROWS_FOR_ZEROS, 3 * int(counts.max())))[None, :]
    valid = r < 3 * counts[:, None]  # (Fz, 12)
    block = r // np.maximum(counts[:, None], 1)
    pair = start[:, None] + r % np.maximum(counts[:, None], 1)  # (Fz, 12) global pair
    pair = np.where(valid, pair, 0)
    cols = _column_block()
    vals = overall[pair]  # (Fz, 12, 26) cell values if the column is in the row's block
    in_block = cols[None, None, :] == block[:, :, None]
    is_zero = np.where(in_block, vals == 0, True) & valid[:, :, None]
    if num_predicates == NUM_ALL_PREDICATES - 1:
        is_zero[:, :, OTHER_RELATIONSHIP_ID] = False
    fi, ri, k = np.nonzero(is_zero)  # frame-major, then row, then column: flat order
    first = np.searchsorted(fi, np.arange(len(frames)))
    keep = np.arange(len(fi)) - first[fi] < needed[fi]
    fi, ri, k = fi[keep], ri[keep], k[keep]
    p = pair[fi, ri]
    b = block[fi, ri]
    sub = np.where(b == 1, pk.pair_obj[p], pk.pair_sub[p])
    obj = np.where(b == 1, pk.pair_sub[p], pk.pair_obj[p])
    key = (3 * start[fi] + ri) * NUM_ALL_PREDICATES + k
    frame = frames[fi]
    return Emitted(frame, sub, obj, k.astype(np.int64), np.zeros(len(fi)), key)


def _emit_ag_paper(pk: PackedFrames, num_predicates: int) -> Emitted:
    """One prediction per pair: argmax over all predicate types jointly, on (person, object)."""
    rel = pk.rel
    if num_predicates == NUM_ALL_PREDICATES - 1:
        rel = rel.copy()
        rel[:, OTHER_RELATIONSHIP_ID] = -1.0
    k = rel.argmax(axis=1).astype(np.int64) if len(rel) else np.zeros(0, np.int64)
    best = rel[np.arange(len(rel)), k]
    key = np.arange(len(rel), dtype=np.int64) * NUM_ALL_PREDICATES + k
    score = _pair_scores(pk) * best
    return Emitted(pk.pair_frame, pk.pair_sub, pk.pair_obj, k, score, key)


def emit(pk: PackedFrames, constraint: str, num_predicates: int = 26, semi_thresh: float = 0.9) -> Emitted:
    """Predictions of every frame under ``constraint`` ("with" | "semi" | "no" | "ag_paper")."""
    if num_predicates not in (NUM_ALL_PREDICATES, NUM_ALL_PREDICATES - 1):
        raise EvaluationInputError(f"num_predicates must be 26 or 25, got {num_predicates}")
    if constraint == "with":
        return _emit_with(pk, num_predicates)
    if constraint == "semi":
        if not 0.0 <= semi_thresh < 1.0:
            raise EvaluationInputError(f"semi_thresh must be in [0, 1), got {semi_thresh}")
        return _emit_semi(pk, num_predicates, semi_thresh)
    if constraint == "no":
        return _emit_no(pk, num_predicates)
    if constraint == "ag_paper":
        return _emit_ag_paper(pk, num_predicates)
    raise EvaluationInputError(
        f"unknown constraint {constraint!r}; expected 'with', 'semi', 'no' or 'ag_paper'"
    )
