"""Bank storage format and reader: per-video shards, consolidated into one memory-mapped file.

Layout of a bank directory (format version 1)::

    <bank>/provenance.json            the producer (BankProvenance), written by the first writer
    <bank>/shards/<VIDEO_ID>.npz      one per video: times (n,) float64 seconds, entries (n, D),
                                      duration () float64 seconds, provenance (JSON string)
    <bank>/index.json                 after consolidate(): provenance, videos, offsets (V + 1),
                                      durations, entry count, the two data file names
    <bank>/entries-<gen>.npy          (N, D) float16 (or float32), videos in index order, each video
                                      one contiguous block of rows sorted by time
    <bank>/times-<gen>.npy            (N,) float64 seconds

Writers create a shard by writing ``.<name>.tmp-<pid>-<rand>`` and renaming it (``os.replace``), so
a shard either exists complete or not at all; a second run skips the videos whose shard exists
(resume), and shards written by several processes or machines into copies of ``shards/`` can be
merged by copying the files together. ``consolidate`` writes a new generation of data files, then
replaces ``index.json`` atomically and removes the previous generation, so readers see either the
old or the new bank (the writer side is :mod:`.writer`). A reader opens ``index.json`` and
memory-maps the two data files; reading a window touches O(log n + W) timestamps and W rows. See
docs/feature_bank.md.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
from collections import Counter
from typing import (
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Union,
)

import numpy as np

from .errors import FeatureBankError
from .provenance import BankProvenance, check_provenance
from .window import WindowSpec, select_window

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "INDEX_FILE",
    "PROVENANCE_FILE",
    "SHARD_DIR",
    "DEFAULT_WINDOW",
    "FeatureBank",
    "Window",
]

logger = logging.getLogger(__name__)

FORMAT_NAME = "ag_detectron.feature_bank"
FORMAT_VERSION = 1
INDEX_FILE = "index.json"
PROVENANCE_FILE = "provenance.json"
SHARD_DIR = "shards"
_VIDEO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
DEFAULT_WINDOW = WindowSpec()  # LFB: 20 entries = +-5 s
_INDEX_KEYS = (
    "provenance",
    "entries_file",
    "times_file",
    "num_entries",
    "videos",
    "offsets",
    "durations",
)


def _atomic_write(path: str, write: Callable[[Any], None], fsync: bool = True) -> None:
    """Write ``path`` through a temporary file in the same directory and ``os.replace``."""
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, f".{name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _check_video_id(video_id: str, where: str) -> None:
    if not isinstance(video_id, str) or not _VIDEO_ID.match(video_id):
        raise FeatureBankError(
            f"{where}: video id {video_id!r} cannot name a shard file; expected letters, digits, "
            f"'_', '.', '-'"
        )


def _read_json(path: str) -> Any:
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise FeatureBankError(f"{path}: not found") from None
    except json.JSONDecodeError as e:
        raise FeatureBankError(f"{path}: not valid JSON ({e}); the file is damaged") from None


def _open_npy(path: str, dtype: np.dtype, shape: tuple) -> np.memmap:
    """Memory-map a .npy file after checking its header and its byte size (truncation)."""
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                header = np.lib.format.read_array_header_1_0(f)  # (shape, fortran, dtype)
            elif version == (2, 0):
                header = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            offset = f.tell()
    except FileNotFoundError:
        raise FeatureBankError(f"{path}: bank data file not found") from None
    except Exception as e:
        raise FeatureBankError(f"{path}: not a readable .npy file ({e})") from None
    found_shape, fortran, found_dtype = header
    if tuple(found_shape) != tuple(shape) or np.dtype(found_dtype) != np.dtype(dtype) or fortran:
        raise FeatureBankError(
            f"{path}: array {tuple(found_shape)} {np.dtype(found_dtype)}; the index expects "
            f"{tuple(shape)} {np.dtype(dtype)}"
        )
    expected_size = offset + int(np.prod(shape)) * np.dtype(dtype).itemsize
    size = os.path.getsize(path)
    if size != expected_size:
        raise FeatureBankError(
            f"{path}: {size} bytes, expected {expected_size} for {tuple(shape)} "
            f"{np.dtype(dtype)}; the file is truncated or damaged (copy it again or re-run "
            f"consolidate)"
        )
    if int(np.prod(shape)) == 0:
        return np.zeros(shape, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)


class Window(NamedTuple):
    """One padded window (see :mod:`.window` for the rules).

    Attributes:
        entries: ``(W, D)`` float32, zero rows where ``mask`` is False.
        mask: ``(W,)`` bool, True for a real bank entry.
        times: ``(W,)`` float64 seconds of each row, NaN for padding.
    """

    entries: np.ndarray
    mask: np.ndarray
    times: np.ndarray


class FeatureBank:
    """A consolidated bank opened read-only; the data stay on disk (memory-mapped).

    Args:
        path: the bank directory (or its ``index.json``).
        expected: provenance the caller requires (a :class:`BankProvenance` or a mapping of some
            of its fields); a mismatch raises :class:`FeatureBankError` naming the field.
        missing: ``"error"`` (default) raises for a video absent from the bank; ``"zero"``
            returns an all-padding window, counts it in ``stats["missing_video_reads"]`` and warns
            once per bank.

    The object pickles without its memory maps (DataLoader workers re-map on first use).
    """

    def __init__(
        self,
        path: str,
        expected: Optional[Union[BankProvenance, Mapping[str, Any]]] = None,
        missing: str = "error",
    ) -> None:
        if missing not in ("error", "zero"):
            raise FeatureBankError(f"missing={missing!r}; expected 'error' or 'zero'")
        self.index_path = path if path.endswith(".json") else os.path.join(path, INDEX_FILE)
        self.bank_dir = os.path.dirname(self.index_path)
        self.missing = missing
        self.stats: Counter = Counter()
        index = _read_json(self.index_path)
        if not isinstance(index, dict) or index.get("format") != FORMAT_NAME:
            raise FeatureBankError(f"{self.index_path}: not a feature-bank index")
        if index.get("version") != FORMAT_VERSION:
            raise FeatureBankError(
                f"{self.index_path}: format version {index.get('version')!r}; this code reads "
                f"version {FORMAT_VERSION}"
            )
        missing_keys = [k for k in _INDEX_KEYS if k not in index]
        if missing_keys:
            raise FeatureBankError(f"{self.index_path}: index misses the fields {missing_keys}")
        self.provenance = BankProvenance.from_dict(index["provenance"], self.index_path)
        if expected is not None:
            check_provenance(self.provenance, expected, self.index_path)
        self.videos: List[str] = list(index["videos"])
        self._offsets = np.asarray(index["offsets"], dtype=np.int64)
        self._durations = np.asarray(index["durations"], dtype=np.float64)
        self._row = {v: i for i, v in enumerate(self.videos)}
        self.num_entries = int(index["num_entries"])
        if (
            len(self._offsets) != len(self.videos) + 1
            or len(self._durations) != len(self.videos)
            or self._offsets[0] != 0
            or self._offsets[-1] != self.num_entries
            or np.any(np.diff(self._offsets) < 0)
        ):
            raise FeatureBankError(f"{self.index_path}: inconsistent offsets / durations / videos")
        self._files = (index["entries_file"], index["times_file"])
        self._entries: Optional[np.ndarray] = None
        self._times: Optional[np.ndarray] = None
        self._map()

    def _map(self) -> None:
        ent_name, tim_name = (os.path.join(self.bank_dir, os.path.basename(n)) for n in self._files)
        self._entries = _open_npy(ent_name, self.provenance.dtype, (self.num_entries, self.dim))
        self._times = _open_npy(tim_name, np.float64, (self.num_entries,))

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        state["_entries"] = state["_times"] = None
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._map()

    @property
    def dim(self) -> int:
        return self.provenance.dim

    def __contains__(self, video_id: str) -> bool:
        return video_id in self._row

    def __len__(self) -> int:
        return len(self.videos)

    def _lookup(self, video_id: str) -> Optional[int]:
        row = self._row.get(video_id)
        if row is None:
            if self.missing == "error":
                raise FeatureBankError(
                    f"{self.index_path}: video {video_id!r} is not in this bank ({len(self.videos)}"
                    f" videos); extract it, or open the bank with missing='zero' to read empty "
                    f"windows (counted)"
                )
            if not self.stats["missing_video_reads"]:
                logger.warning(
                    "%s: video %r is not in the bank; reading empty windows for missing videos "
                    "(missing='zero'); FeatureBank.stats counts them",
                    self.index_path,
                    video_id,
                )
            self.stats["missing_video_reads"] += 1
        return row

    def duration(self, video_id: str) -> float:
        row = self._lookup(video_id)
        return 0.0 if row is None else float(self._durations[row])

    def times(self, video_id: str) -> np.ndarray:
        """``(n,)`` float64 seconds of the video's entries (a memmap view)."""
        row = self._lookup(video_id)
        if row is None:
            return np.zeros((0,), dtype=np.float64)
        return self._times[self._offsets[row] : self._offsets[row + 1]]

    def entries(self, video_id: str) -> np.ndarray:
        """``(n, D)`` entries of the video in the storage dtype (a memmap view)."""
        row = self._lookup(video_id)
        if row is None:
            return np.zeros((0, self.dim), dtype=self.provenance.dtype)
        return self._entries[self._offsets[row] : self._offsets[row + 1]]

    def window(self, video_id: str, centre: float, spec: WindowSpec = DEFAULT_WINDOW) -> Window:
        """The padded window of ``video_id`` around ``centre`` seconds (rules: :mod:`.window`)."""
        out = Window(
            np.zeros((spec.size, self.dim), dtype=np.float32),
            np.zeros((spec.size,), dtype=bool),
            np.full((spec.size,), np.nan),
        )
        self._fill(video_id, centre, spec, out)
        return out

    def windows(
        self,
        video_ids: Sequence[str],
        centres: Sequence[float],
        spec: WindowSpec = DEFAULT_WINDOW,
    ) -> Window:
        """A batch of windows: entries ``(B, W, D)`` float32, mask ``(B, W)``, times ``(B, W)``."""
        if len(video_ids) != len(centres):
            raise FeatureBankError(
                f"windows(): {len(video_ids)} video ids but {len(centres)} clip centres"
            )
        n = len(video_ids)
        out = Window(
            np.zeros((n, spec.size, self.dim), dtype=np.float32),
            np.zeros((n, spec.size), dtype=bool),
            np.full((n, spec.size), np.nan),
        )
        for i, (vid, centre) in enumerate(zip(video_ids, centres)):
            self._fill(vid, float(centre), spec, Window(out.entries[i], out.mask[i], out.times[i]))
        return out

    def _fill(self, video_id: str, centre: float, spec: WindowSpec, out: Window) -> None:
        """Write one window into the zero / False / NaN initialised views ``out``."""
        row = self._lookup(video_id)
        if row is None:
            return
        a, b = int(self._offsets[row]), int(self._offsets[row + 1])
        sel = select_window(
            self._times[a:b],
            centre,
            spec,
            float(self._durations[row]),
            where=f"{self.index_path}: video {video_id}",
        )
        if sel.clamped:
            self.stats["clamped_centres"] += 1
        self.stats["dropped_entries"] += sel.dropped
        lo, hi = a + sel.start, a + sel.stop
        if sel.dropped == 0 and spec.padding == "end":  # the common case: one contiguous copy
            out.entries[: hi - lo] = self._entries[lo:hi]
            out.times[: hi - lo] = self._times[lo:hi]
            out.mask[: hi - lo] = True
            return
        keep = sel.rows >= 0
        rows = sel.rows[keep]
        out.entries[rows] = self._entries[lo:hi][keep]
        out.times[rows] = self._times[lo:hi][keep]
        out.mask[rows] = True
