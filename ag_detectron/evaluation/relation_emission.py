"""Scene-graph predictions emitted under each constraint, for all frames at once (vectorised).

Implements the constraints of docs/evaluation.md on :class:`PackedFrames` (release columns,
``K = 26``). Each emitted prediction is a cell of STTran's row matrix; its emission order
(``K * r + k`` plus a frame offset, :meth:`Emitted.keys`) breaks exact score ties. Keys are
computed only where ties need them. With ``num_predicates`` of a smaller vocabulary (the paper's
25), the release columns that vocabulary lacks are removed from the matrix (never emitted).
"""

from __future__ import annotations

from typing import NamedTuple, Tuple

import numpy as np
import torch

from ag_detectron.errors import EvaluationInputError
from ag_detectron.vocabulary import NUM_PREDICATES_CHOICES, RELEASE, predicate_vocabulary

from .ranking import FrameRanker
from .relation_inputs import PackedFrames

__all__ = ["Emitted", "emit_ranked", "NO_CONSTRAINT_TOP", "NUM_ALL_PREDICATES"]

NUM_ALL_PREDICATES = RELEASE.size  # columns of the STTran row matrix (release predicates)
ATTENTION, SPATIAL, CONTACTING = (RELEASE.group(g) for g in ("attention", "spatial", "contacting"))
NO_CONSTRAINT_TOP = 100  # cells kept per frame by the "no" constraint before matching
_ROWS_FOR_ZEROS = 12  # every STTran row has >= 9 structural zeros: 12 rows hold >= 100 of them


class Emitted(NamedTuple):
    """Flat predictions of all frames (E entries), grouped by frame (for "no", the zero-score
    filler cells are appended after all other entries).

    A prediction is a cell ``(r, k)`` of the STTran row matrix, with row r = block * P_f + local
    pair index (block 0 attention, 1 spatial on (object, person), 2 contacting).

    Attributes:
        frame: (E,) int64 frame id.
        pair: (E,) int64 global pair index.
        block: (E,) int64 row block in {0, 1, 2}.
        predicate: (E,) int64 global predicate id k.
        score: (E,) float64 triplet score ``sigma(sub) * sigma(obj) * R[r, k]``.
    """

    frame: np.ndarray
    pair: np.ndarray
    block: np.ndarray
    predicate: np.ndarray
    score: np.ndarray

    def subject_object(self, pk: PackedFrames, idx: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Global predicted-box indices of subject and object of entries ``idx``."""
        pair = self.pair[idx]
        h, o = pk.pair_sub[pair], pk.pair_obj[pair]
        rev = self.block[idx] == 1
        return np.where(rev, o, h), np.where(rev, h, o)

    def keys(self, pk: PackedFrames, idx: np.ndarray) -> np.ndarray:
        """Emission keys ``K r + k`` plus a frame offset of entries ``idx`` (unique; tie order)."""
        pair = self.pair[idx]
        f = pk.pair_frame[pair]
        start = pk.pair_start[f]
        count = pk.pair_start[f + 1] - start
        row = 3 * start + self.block[idx] * count + (pair - start)
        return row * NUM_ALL_PREDICATES + self.predicate[idx]


def _empty() -> Emitted:
    z = np.zeros(0, dtype=np.int64)
    return Emitted(z, z, z, z, np.zeros(0))


def _row_argmax(block: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(argmax, max) of every row, lowest column on ties (like ``np.argmax``), vectorised.

    Uses ``torch.max(dim=1)`` (several times faster than ``np.argmax`` on short rows); rows with
    more than one maximal entry are recomputed with NumPy so the tie rule never depends on torch.
    """
    best_t, arg_t = torch.max(torch.from_numpy(block), dim=1)
    best, arg = best_t.numpy(), arg_t.numpy()
    tied = np.flatnonzero((block == best[:, None]).sum(axis=1) > 1)
    if len(tied):
        arg = arg.copy()
        arg[tied] = block[tied].argmax(axis=1)
    return arg, best


def _group_argmax(block: np.ndarray, offset: int) -> Tuple[np.ndarray, np.ndarray]:
    """argmax over one group's columns of an otherwise-zero row; all-zero rows give (0, 0.0)."""
    if len(block) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    arg, best = _row_argmax(block)
    k = np.where(best > 0, offset + arg, 0)
    return k.astype(np.int64), np.maximum(best, 0.0)


def removed_columns(num_predicates: int) -> np.ndarray:
    """Release columns absent from the ``num_predicates`` vocabulary (paper: other_relationship)."""
    kept = predicate_vocabulary(num_predicates).release_ids
    return np.setdiff1d(np.arange(NUM_ALL_PREDICATES), kept)


def _groups(pk: PackedFrames, num_predicates: int) -> tuple:
    """The three groups' probability blocks; removed columns are -1 (never chosen)."""
    rel = pk.rel
    removed = removed_columns(num_predicates)
    blocks = []
    for g in (ATTENTION, SPATIAL, CONTACTING):
        block = rel[:, g.start : g.stop]
        cols = removed[(removed >= g.start) & (removed < g.stop)]
        if len(cols):
            block = block.copy()
            block[:, cols - g.start] = -1.0
        blocks.append(block)
    return tuple(blocks)


def _pair_scores(pk: PackedFrames) -> np.ndarray:
    return pk.box_score[pk.pair_sub] * pk.box_score[pk.pair_obj]


def _emit_with(pk: PackedFrames, num_predicates: int) -> Emitted:
    """One prediction per row: three per pair; entries pair-major."""
    att, spa, con = _groups(pk, num_predicates)
    num = len(pk.rel)
    ks, bests = zip(
        _group_argmax(att, ATTENTION.start),
        _group_argmax(spa, SPATIAL.start),
        _group_argmax(con, CONTACTING.start),
    )
    k = np.stack(ks, axis=1).reshape(-1)
    score = (_pair_scores(pk)[:, None] * np.stack(bests, axis=1)).reshape(-1)
    pair = np.repeat(np.arange(num, dtype=np.int64), 3)
    block = np.tile(np.arange(3, dtype=np.int64), num)
    return Emitted(pk.pair_frame[pair], pair, block, k, score)


def _emit_semi(pk: PackedFrames, num_predicates: int, semi_thresh: float) -> Emitted:
    """Attention rows: argmax; spatial / contacting rows: every cell > tau."""
    att, spa, con = _groups(pk, num_predicates)
    rel = pk.rel
    k_att, best_att = _group_argmax(att, ATTENTION.start)
    # STTran's row test: the sum of the group's first two cells is positive
    att_rows = rel[:, ATTENTION.start] + rel[:, ATTENTION.start + 1] > 0
    spa_rows = rel[:, SPATIAL.start] + rel[:, SPATIAL.start + 1] > 0
    con_rows = rel[:, CONTACTING.start] + rel[:, CONTACTING.start + 1] > 0
    mask = np.empty((len(rel), 1 + SPATIAL.size + CONTACTING.size), dtype=bool)
    mask[:, 0] = att_rows
    np.logical_and(spa > semi_thresh, spa_rows[:, None], out=mask[:, 1 : 1 + SPATIAL.size])
    np.logical_and(con > semi_thresh, con_rows[:, None], out=mask[:, 1 + SPATIAL.size :])
    p, c = np.nonzero(mask)  # pair-major, then column: emission order within a pair
    k = _SEMI_COLUMN_PREDICATE[c]
    is_att = c == 0
    k[is_att] = k_att[p[is_att]]
    # attention rows always have a positive maximum (rows sum to 1), so R[r, k] = rel[p, k]
    return Emitted(pk.pair_frame[p], p, _SEMI_COLUMN_BLOCK[c], k, _pair_scores(pk)[p] * rel[p, k])


# columns of the semi mask: [attention argmax | spatial | contacting] (release columns)
_SEMI_COLUMN_PREDICATE = np.r_[0, np.arange(SPATIAL.start, CONTACTING.stop)].astype(np.int64)
_SEMI_COLUMN_BLOCK = np.r_[0, np.full(SPATIAL.size, 1), np.full(CONTACTING.size, 2)].astype(
    np.int64
)


def _column_block() -> np.ndarray:
    blocks = np.zeros(NUM_ALL_PREDICATES, dtype=np.int64)
    blocks[SPATIAL.start : SPATIAL.stop] = 1
    blocks[CONTACTING.start : CONTACTING.stop] = 2
    return blocks


def _frame_thresholds(overall: np.ndarray, pk: PackedFrames) -> np.ndarray:
    """(F,) value of each frame's 100th largest compact cell (frames with >= 100 positive cells).

    Frames are bucketed by pair count so each bucket is a dense (F_P, K P) matrix.
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
        dense.partition(kth, axis=1)  # in place: ``dense`` is a fresh gather
        thr[frames] = dense[:, kth]
    return thr


def _emit_no(pk: PackedFrames, num_predicates: int) -> Tuple[Emitted, FrameRanker]:
    """Top-100 cells of the 3P x K matrix per frame, zero cells included.

    Only the K group cells of a pair can be non-zero. Frames with >= 100 positive cells emit the
    cells at or above their 100th largest value; other frames emit all positive cells plus the
    first zero cells in flat order, which lie in the first 12 rows. The ranking then keeps 100.
    """
    overall = _pair_scores(pk)[:, None] * pk.rel  # (P, K) compact cells
    removed = removed_columns(num_predicates)
    if len(removed):
        overall[:, removed] = -1.0  # columns removed from the matrix
    positive = overall > 0
    n_pos = np.bincount(pk.pair_frame, weights=positive.sum(axis=1), minlength=pk.num_frames)
    counts = pk.pair_start[1:] - pk.pair_start[:-1]
    zero_regime = (n_pos < NO_CONSTRAINT_TOP) & (counts > 0)
    thr = _frame_thresholds(overall, pk)
    thr[zero_regime] = np.nextafter(0.0, 1.0)  # O >= thr  <=>  O > 0
    mask = overall >= thr[pk.pair_frame][:, None]
    p, k = np.nonzero(mask)  # pair-major, then column
    cells = Emitted(pk.pair_frame[p], p, _column_block()[k], k.astype(np.int64), overall[p, k])
    needed = np.minimum(NO_CONSTRAINT_TOP, 3 * counts * num_predicates) - n_pos
    frames = np.nonzero(zero_regime)[0]
    zeros = _zero_cells(pk, overall, frames, needed[frames].astype(np.int64), num_predicates)
    # zero cells rank after every positive cell of their frame, in flat (key) order
    first = np.searchsorted(zeros.frame, zeros.frame, side="left")
    n_cells = np.bincount(cells.frame, minlength=pk.num_frames)
    zero_rank = n_cells[zeros.frame] + np.arange(len(zeros.frame)) - first
    ranker = FrameRanker(cells.frame, cells.score, lambda i: cells.keys(pk, i), zero_rank)
    if len(zeros.frame) == 0:
        return cells, ranker
    return Emitted(*(np.concatenate([a, b]) for a, b in zip(cells, zeros))), ranker


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
        return _empty()
    counts = (pk.pair_start[1:] - pk.pair_start[:-1])[frames]
    start = pk.pair_start[frames]
    r = np.arange(min(_ROWS_FOR_ZEROS, 3 * int(counts.max())))[None, :]
    valid = r < 3 * counts[:, None]  # (Fz, R)
    block = r // np.maximum(counts[:, None], 1)
    pair = start[:, None] + r % np.maximum(counts[:, None], 1)  # (Fz, R) global pair
    pair = np.where(valid, pair, 0)
    cols = _column_block()
    vals = overall[pair]  # (Fz, R, K) cell values if the column is in the row's block
    in_block = cols[None, None, :] == block[:, :, None]
    is_zero = np.where(in_block, vals == 0, True) & valid[:, :, None]
    removed = removed_columns(num_predicates)
    if len(removed):
        is_zero[:, :, removed] = False
    fi, ri, k = np.nonzero(is_zero)  # frame-major, then row, then column: flat order
    first = np.searchsorted(fi, np.arange(len(frames)))
    keep = np.arange(len(fi)) - first[fi] < needed[fi]
    fi, ri, k = fi[keep], ri[keep], k[keep]
    return Emitted(frames[fi], pair[fi, ri], block[fi, ri], k.astype(np.int64), np.zeros(len(fi)))


def _emit_ag_paper(pk: PackedFrames, num_predicates: int) -> Emitted:
    """One prediction per pair: argmax over all predicate types jointly, on (person, object)."""
    rel = pk.rel
    removed = removed_columns(num_predicates)
    if len(removed):
        rel = rel.copy()
        rel[:, removed] = -1.0
    if len(rel):
        arg, best = _row_argmax(rel)
        k = arg.astype(np.int64)
    else:
        k, best = np.zeros(0, np.int64), np.zeros(0)
    pairs = np.arange(len(rel), dtype=np.int64)
    score = _pair_scores(pk) * best
    return Emitted(pk.pair_frame, pairs, np.zeros(len(rel), dtype=np.int64), k, score)


def emit_ranked(
    pk: PackedFrames, constraint: str, num_predicates: int = RELEASE.size, semi_thresh: float = 0.9
) -> Tuple[Emitted, FrameRanker]:
    """Predictions of every frame under ``constraint`` and a ranker of their within-frame ranks.

    Args:
        pk: packed frames.
        constraint: "with" | "semi" | "no" | "ag_paper".
        num_predicates: size of the scored vocabulary: 26, or 25 (``other_relationship``
            removed); the packed frames are always in release columns.
        semi_thresh: per-cell threshold of "semi" (strict >), in [0, 1).
    """
    if num_predicates not in NUM_PREDICATES_CHOICES:
        raise EvaluationInputError(
            f"num_predicates must be one of {NUM_PREDICATES_CHOICES}, got {num_predicates}"
        )
    if constraint == "no":
        return _emit_no(pk, num_predicates)
    if constraint == "with":
        em = _emit_with(pk, num_predicates)
    elif constraint == "semi":
        if not 0.0 <= semi_thresh < 1.0:
            raise EvaluationInputError(f"semi_thresh must be in [0, 1), got {semi_thresh}")
        em = _emit_semi(pk, num_predicates, semi_thresh)
    elif constraint == "ag_paper":
        em = _emit_ag_paper(pk, num_predicates)
    else:
        raise EvaluationInputError(
            f"unknown constraint {constraint!r}; expected 'with', 'semi', 'no' or 'ag_paper'"
        )
    return em, FrameRanker(em.frame, em.score, lambda i: em.keys(pk, i))
