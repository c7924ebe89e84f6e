"""On-disk cache of parsed dataset dicts, keyed by the source files' size + mtime and the loader
options.

Cache directory: ``$AG_CACHE`` if set, else ``~/.cache/ag_detectron``. One file per (root, split,
options), ``<prefix>_<params hash>_<sources hash>.pkl``; when the sources change, the new file
replaces the old one. Writes go to a temporary file in the same directory and are moved into place
with ``os.replace``, so a crash never leaves a half-written cache file. A cache file is valid only
while every source file has the recorded size and mtime (nanoseconds) and the loader version is
unchanged; an unreadable cache file is ignored (with a warning) and rewritten.
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
    """Path of the cache file for these parameters (JSON-able) and source files (size + mtime).

    The name is ``<prefix>_<params hash>_<sources hash>.pkl``: a new version of the source files
    gets a new name, and :func:`save_cached` removes the older versions of the same parameters.
    """
    params_blob = json.dumps(params, sort_keys=True).encode("utf-8")
    sources_blob = json.dumps(_fingerprint(sources), sort_keys=True).encode("utf-8")
    p_hash = hashlib.sha1(params_blob).hexdigest()[:12]
    s_hash = hashlib.sha1(sources_blob).hexdigest()[:12]
    return os.path.join(cache_dir or default_cache_dir(), f"{prefix}_{p_hash}_{s_hash}.pkl")


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

    Older files for the same parameters (``<prefix>_<params hash>_*.pkl``, i.e. stale source
    versions) are then removed. Failure to write (read-only or full disk) is logged as a warning;
    the caller's result is unaffected.
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
        _remove_stale_versions(path)
    except OSError as e:
        logger.warning(f"Could not write cache file {path}: {e}")
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)


def _remove_stale_versions(path: str) -> None:
    stem = os.path.basename(path).rsplit("_", 1)[0] + "_"
    directory = os.path.dirname(path)
    for name in os.listdir(directory):
        if name.startswith(stem) and name.endswith(".pkl") and name != os.path.basename(path):
            try:
                os.remove(os.path.join(directory, name))
            except OSError:
                pass  # another process may have removed it already
