"""Per-frame ranking of predictions: score descending, exact ties broken by an emission key.

:func:`rank_within_frames` ranks all entries with one row-wise stable sort per bucket of equally
sized frames; :class:`FrameRanker` wraps it for the emitted predictions of one constraint.
"""

from typing import Callable, Optional

import numpy as np

from ag_detectron.errors import EvaluationInputError

__all__ = ["FrameRanker", "rank_within_frames"]


def rank_within_frames(
    frame: np.ndarray, score: np.ndarray, key_of: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """(E,) 0-based rank of each prediction within its frame: ``score`` descending, ties by key.

    Args:
        frame: (E,) grouped (non-decreasing) frame ids.
        score: (E,) scores.
        key_of: maps an index array to the tie-break keys of those entries (any shape).

    Frames are bucketed by prediction count; each bucket is one dense row-wise stable argsort on
    the score. Rows with exact ties that come out of key order are re-sorted by ``(-score, key)``.
    """
    num = len(frame)
    rank = np.empty(num, dtype=np.int64)
    if num == 0:
        return rank
    if np.any(frame[1:] < frame[:-1]):
        raise EvaluationInputError("rank_within_frames: predictions must be grouped by frame")
    starts = np.flatnonzero(np.r_[True, frame[1:] != frame[:-1]])
    counts = np.diff(np.r_[starts, num])
    sizes = np.unique(counts)
    for n in sizes:
        first = starts[counts == n]
        idx = first[:, None] + np.arange(n)[None, :]  # (Fb, n)
        uniform = len(sizes) == 1  # every frame has n entries: idx is arange(num) as (F, n)
        neg = -(score.reshape(-1, n) if uniform else score[idx])
        perm = np.argsort(neg, axis=1, kind="stable")
        if n > 1:
            s_sorted = np.take_along_axis(neg, perm, axis=1)
            tied = (s_sorted[:, 1:] == s_sorted[:, :-1]).any(axis=1)
            if tied.any():
                rows = np.flatnonzero(tied)
                keys = key_of(idx[rows])
                k_sorted = np.take_along_axis(keys, perm[rows], axis=1)
                eq = s_sorted[rows, 1:] == s_sorted[rows, :-1]
                bad = rows[(eq & (k_sorted[:, 1:] < k_sorted[:, :-1])).any(axis=1)]
                if len(bad):
                    perm[bad] = np.lexsort((key_of(idx[bad]), neg[bad]), axis=1)
        ranks = np.empty_like(perm)
        np.put_along_axis(ranks, perm, np.broadcast_to(np.arange(n), perm.shape), axis=1)
        if uniform:
            return ranks.reshape(-1)
        rank[idx] = ranks
    return rank


class FrameRanker:
    """Within-frame ranks (``score`` descending, exact ties by key) of requested entries.

    Entries ``0..G-1`` are ranked together by :func:`rank_within_frames` on first use (one pass,
    cached); entries ``G..E-1`` carry precomputed ranks (``tail_rank``), e.g. the zero-score
    filler cells of the "no" constraint, which rank after every positive cell of their frame.

    Args:
        frame: (G,) frame id of the ranked entries, grouped (non-decreasing).
        score: (G,) scores.
        key_of: maps an index array (any shape) to the tie-break keys of those entries.
        tail_rank: (E - G,) precomputed ranks of further entries G..E-1 (or None).
    """

    def __init__(
        self,
        frame: np.ndarray,
        score: np.ndarray,
        key_of: Callable[[np.ndarray], np.ndarray],
        tail_rank: Optional[np.ndarray] = None,
    ) -> None:
        self._frame = frame
        self._score = score
        self._key_of = key_of
        self._tail = np.zeros(0, dtype=np.int64) if tail_rank is None else tail_rank
        self._ranks: Optional[np.ndarray] = None

    def __call__(self, idx: np.ndarray) -> np.ndarray:
        """(len(idx),) int64 ranks of entries ``idx``."""
        if self._ranks is None:
            head = rank_within_frames(self._frame, self._score, self._key_of)
            self._ranks = np.concatenate([head, self._tail]).astype(np.int64)
        return self._ranks[np.asarray(idx, dtype=np.int64)]
