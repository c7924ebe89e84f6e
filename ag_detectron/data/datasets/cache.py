"""On-disk cache of parsed dataset dicts, keyed by the source files' size + mtime and the loader
options.

Cache directory: ``$AG_CACHE`` if set, else ``~/.cache/ag_detectron``. One file per (root, split,
options), ``<prefix>_<sha1>.pkl``; writes go to a temporary file in the same directory and are moved
into place with ``os.replace``, so a crash never leaves a half-written cache file. A cache file is
valid only while every source file has the recorded size and mtime (nanoseconds) and the loader
version is unchanged; an unreadable cache file is ignored (with a warning) and rewritten.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import tempfile
from typing import Any, Dict, Optional, Sequence

from detectron2.structures import BoxMode

from ag_detectron.errors import DatasetFormatError

from .safe_pickle import safe_load

__all__ = ["default_cache_dir", "cache_path", "load_cached", "save_cached"]

logger = logging.getLogger(__name__)

# Globals the cache files may contain besides builtins and NumPy arrays.
_CACHE_GLOBALS = {("detectron2.structures.boxes", "BoxMode"): BoxMode}


def default_cache_dir() -> str:
    """``$AG_CACHE`` or ``~/.cache/ag_detectron``."""
    return os.environ.get("AG_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "ag_detectron"
    )


def _fingerprint(paths: Sequence[str]) -> list:
    out = []
    for p in paths:
        st = os.stat(p)
        out.append([os.path.abspath(p), st.st_size, st.st_mtime_ns])
    return out


def cache_path(
    prefix: str, sources: Sequence[str], params: Dict[str, Any], cache_dir: Optional[str] = None
) -> str:
    """Path of the cache file for these source files (by size + mtime) and parameters
    (JSON-able)."""
    blob = json.dumps({"sources": _fingerprint(sources), "params": params}, sort_keys=True)
    digest = hashlib.sha1(blob.encode("utf-8")).hexdigest()[:20]
    return os.path.join(cache_dir or default_cache_dir(), f"{prefix}_{digest}.pkl")


def load_cached(path: str) -> Optional[Any]:
    """The cached object, or None if the file is absent or unreadable."""
    if not os.path.isfile(path):
        return None
    try:
        return safe_load(path, extra_globals=_CACHE_GLOBALS)
    except DatasetFormatError as e:
        logger.warning(f"Ignoring unreadable cache file {path}: {e}")
        return None


def save_cached(path: str, obj: Any) -> None:
    """Atomically write ``obj`` to ``path`` (temp file in the same directory + ``os.replace``).

    Failure to write
    (read-only or full disk) is logged as a warning; the caller's result is unaffected.
    """
    directory = os.path.dirname(path)
    tmp = None
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=".pkl", dir=directory)
        with os.fdopen(fd, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        logger.warning(f"Could not write cache file {path}: {e}")
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)
