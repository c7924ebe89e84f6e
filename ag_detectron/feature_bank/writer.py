"""Writing a bank: per-video shards (atomic, resumable), consolidation, and the rank split.

The on-disk layout and the reader are in :mod:`.storage`; docs/feature_bank.md describes both.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections import Counter
from typing import Any, Iterable, List, NamedTuple, Optional, Sequence, Union

import numpy as np

from .errors import FeatureBankError
from .provenance import BankProvenance, check_provenance
from .storage import (
    FORMAT_NAME,
    FORMAT_VERSION,
    INDEX_FILE,
    PROVENANCE_FILE,
    SHARD_DIR,
    _atomic_write,
    _check_video_id,
    _read_json,
)

__all__ = ["NONFINITE_RULES", "FeatureBankWriter", "consolidate", "videos_for_rank"]

logger = logging.getLogger(__name__)

NONFINITE_RULES = ("error", "zero")


def videos_for_rank(videos: Iterable[str], rank: int, world: int) -> List[str]:
    """The videos process ``rank`` of ``world`` extracts: the sorted unique ids, every
    ``world``-th one starting at ``rank``. The union over ranks is every video, each once."""
    if not (isinstance(world, int) and world >= 1 and isinstance(rank, int) and 0 <= rank < world):
        raise FeatureBankError(f"videos_for_rank: expected 0 <= rank < world, got {rank}, {world}")
    return sorted(set(videos))[rank::world]


class FeatureBankWriter:
    """Writes one shard per video into ``<bank_dir>/shards`` (module docstring).

    Args:
        bank_dir: the bank directory (created if needed).
        provenance: what produces the entries; must equal the ``provenance.json`` already in
            ``bank_dir`` (a resumed or parallel run of the same producer).
        nonfinite: ``"error"`` (default) refuses a video with a NaN/Inf entry (after the cast to
            the storage dtype, so float16 overflow counts); ``"zero"`` replaces such values by 0
            and counts them in ``stats["nonfinite_values"]``.
        fsync: flush every shard to disk before its rename (crash-safe; slower on slow disks).
    """

    def __init__(
        self,
        bank_dir: str,
        provenance: BankProvenance,
        nonfinite: str = "error",
        fsync: bool = True,
    ) -> None:
        if nonfinite not in NONFINITE_RULES:
            raise FeatureBankError(f"nonfinite={nonfinite!r}; expected one of {NONFINITE_RULES}")
        self.bank_dir = bank_dir
        self.provenance = provenance
        self.nonfinite = nonfinite
        self.fsync = fsync
        self.shard_dir = os.path.join(bank_dir, SHARD_DIR)
        self.stats: Counter = Counter()
        os.makedirs(self.shard_dir, exist_ok=True)
        prov_path = os.path.join(bank_dir, PROVENANCE_FILE)
        if os.path.exists(prov_path):
            found = BankProvenance.from_dict(_read_json(prov_path), prov_path)
            check_provenance(found, provenance, prov_path)
        else:
            text = provenance.to_json().encode("utf-8")
            _atomic_write(prov_path, lambda f: f.write(text), fsync)

    def shard_path(self, video_id: str) -> str:
        _check_video_id(video_id, self.shard_dir)
        return os.path.join(self.shard_dir, video_id + ".npz")

    def done(self, video_id: str) -> bool:
        """Whether the video's shard exists (it is then complete: shards appear by rename)."""
        return os.path.exists(self.shard_path(video_id))

    def write(
        self,
        video_id: str,
        times: Union[np.ndarray, Sequence[float]],
        entries: np.ndarray,
        duration: Optional[float] = None,
        overwrite: bool = False,
    ) -> bool:
        """Store one video's entries; returns False (and writes nothing) when the shard exists.

        Args:
            video_id: e.g. ``"46GP8"``.
            times: ``(n,)`` seconds, finite, >= 0, non-decreasing.
            entries: ``(n, D)`` array (any float dtype; cast to the provenance dtype).
            duration: video length in seconds; default: last time + 1 / rate (last time when the
                rate is None; 0 for an empty video). Clip centres are valid in [0, duration].
            overwrite: replace an existing shard.
        """
        path = self.shard_path(video_id)
        if not overwrite and os.path.exists(path):
            self.stats["skipped_existing"] += 1
            return False
        where = f"{path}: video {video_id}"
        times = np.asarray(times, dtype=np.float64).reshape(-1)
        entries = np.asarray(entries)
        dim = self.provenance.dim
        if entries.ndim != 2 or entries.shape != (len(times), dim):
            raise FeatureBankError(
                f"{where}: entries of shape {tuple(entries.shape)}; expected ({len(times)}, {dim}) "
                f"(one row of the provenance dim per timestamp)"
            )
        if not np.all(np.isfinite(times)) or (len(times) and times[0] < 0):
            raise FeatureBankError(f"{where}: timestamps must be finite seconds >= 0")
        if np.any(np.diff(times) < 0):
            raise FeatureBankError(f"{where}: timestamps are not sorted (non-decreasing)")
        with np.errstate(over="ignore"):  # float16 overflow gives inf, refused just below
            stored = entries.astype(self.provenance.dtype)
        bad = ~np.isfinite(stored)
        if bad.any():
            rows = np.flatnonzero(bad.any(axis=1))
            if self.nonfinite == "error":
                raise FeatureBankError(
                    f"{where}: {int(bad.sum())} NaN/Inf values in {len(rows)} entries (first at "
                    f"t = {times[rows[0]]:.3f} s, row {rows[0]}) after the cast to "
                    f"{self.provenance.dtype}; refusing to store them (nonfinite='zero' replaces "
                    f"them by 0 and counts them)"
                )
            stored[bad] = 0
            self.stats["nonfinite_values"] += int(bad.sum())
            self.stats["nonfinite_videos"] += 1
        if duration is None:
            if len(times) == 0:
                duration = 0.0
            else:
                step = 1.0 / self.provenance.rate if self.provenance.rate else 0.0
                duration = float(times[-1]) + step
        if not (np.isfinite(duration) and duration >= (times[-1] if len(times) else 0.0)):
            raise FeatureBankError(
                f"{where}: duration {duration!r}; expected seconds >= the last timestamp"
            )
        prov = np.array(self.provenance.to_json())

        def _write(f: Any) -> None:
            np.savez(f, times=times, entries=stored, duration=np.float64(duration), provenance=prov)

        _atomic_write(path, _write, self.fsync)
        self.stats["written"] += 1
        return True


class _Shard(NamedTuple):
    times: np.ndarray
    entries: np.ndarray
    duration: float


def _read_shard(path: str, expected: BankProvenance, entries: bool = True) -> _Shard:
    """Read and check one shard; ``entries=False`` skips the (large) entries array."""
    try:
        with np.load(path, allow_pickle=False) as z:
            prov = BankProvenance.from_dict(json.loads(str(z["provenance"])), path)
            ent = z["entries"] if entries else np.zeros((0, expected.dim))
            shard = _Shard(z["times"], ent, float(z["duration"]))
    except FeatureBankError:
        raise
    except Exception as e:  # zipfile.BadZipFile, EOFError, KeyError, ValueError
        raise FeatureBankError(
            f"{path}: unreadable shard ({type(e).__name__}: {e}); delete it and re-run the "
            f"extraction (it resumes and rewrites only the missing videos)"
        ) from None
    check_provenance(prov, expected, path)
    if entries and shard.entries.shape != (len(shard.times), expected.dim):
        raise FeatureBankError(f"{path}: entries {shard.entries.shape} do not match the times")
    return shard


def consolidate(
    bank_dir: str,
    videos: Optional[Iterable[str]] = None,
    fsync: bool = True,
) -> str:
    """Pack every shard of ``bank_dir`` into one memory-mapped bank; returns the index path.

    Args:
        bank_dir: holds ``provenance.json`` and ``shards/`` (possibly merged from several
            machines).
        videos: the videos the bank must contain (e.g. every Charades video); a missing shard is
            an error naming the bank and the first missing videos. Default: every shard found.
        fsync: flush the data files before the index is replaced.
    """
    prov_path = os.path.join(bank_dir, PROVENANCE_FILE)
    provenance = BankProvenance.from_dict(_read_json(prov_path), prov_path)
    shard_dir = os.path.join(bank_dir, SHARD_DIR)
    found = sorted(
        n[: -len(".npz")]
        for n in (os.listdir(shard_dir) if os.path.isdir(shard_dir) else [])
        if n.endswith(".npz") and not n.startswith(".")
    )
    if videos is None:
        wanted = found
    else:
        wanted = sorted(set(videos))
        missing = sorted(set(wanted) - set(found))
        if missing:
            raise FeatureBankError(
                f"{shard_dir}: no shard for {len(missing)} of {len(wanted)} videos (first: "
                f"{missing[:5]}); finish the extraction before consolidating"
            )
    if not wanted:
        raise FeatureBankError(f"{shard_dir}: no shards to consolidate")
    extra = len(set(found) - set(wanted))
    if extra:
        logger.warning(
            "%s: %d shards belong to videos outside the requested list; they are not packed",
            shard_dir,
            extra,
        )
    # pass 1: sizes and provenance (small arrays only); pass 2 copies the entries
    counts = []
    for vid in wanted:
        path = os.path.join(shard_dir, vid + ".npz")
        counts.append(len(_read_shard(path, provenance, entries=False).times))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    total = int(offsets[-1])
    gen = secrets.token_hex(6)
    entries_name, times_name = f"entries-{gen}.npy", f"times-{gen}.npy"
    entries_path = os.path.join(bank_dir, entries_name)
    times_path = os.path.join(bank_dir, times_name)
    durations = []
    try:
        ent = np.lib.format.open_memmap(
            entries_path, mode="w+", dtype=provenance.dtype, shape=(total, provenance.dim)
        )
        tim = np.lib.format.open_memmap(times_path, mode="w+", dtype=np.float64, shape=(total,))
        for vid, a, b in zip(wanted, offsets[:-1], offsets[1:]):
            shard = _read_shard(os.path.join(shard_dir, vid + ".npz"), provenance)
            if len(shard.times) != b - a:
                raise FeatureBankError(f"{shard_dir}/{vid}.npz changed during consolidation")
            ent[a:b] = shard.entries
            tim[a:b] = shard.times
            durations.append(shard.duration)
        ent.flush()
        tim.flush()
        del ent, tim
        if fsync:
            for p in (entries_path, times_path):
                with open(p, "rb+") as f:
                    os.fsync(f.fileno())
        index = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "provenance": provenance.to_dict(),
            "entries_file": entries_name,
            "times_file": times_name,
            "num_entries": total,
            "videos": wanted,
            "offsets": offsets.tolist(),
            "durations": durations,
        }
        text = json.dumps(index).encode("utf-8")
        index_path = os.path.join(bank_dir, INDEX_FILE)
        previous = _read_json(index_path) if os.path.exists(index_path) else None
        _atomic_write(index_path, lambda f: f.write(text), fsync)
    except BaseException:
        for p in (entries_path, times_path):
            if os.path.exists(p):
                os.remove(p)
        raise
    if isinstance(previous, dict):
        for key in ("entries_file", "times_file"):
            old = previous.get(key)
            if isinstance(old, str) and old not in (entries_name, times_name):
                old_path = os.path.join(bank_dir, os.path.basename(old))
                if os.path.exists(old_path):
                    os.remove(old_path)
    logger.info(
        "Consolidated %d videos, %d entries of %s into %s",
        len(wanted),
        total,
        provenance.kind,
        bank_dir,
    )
    return index_path
