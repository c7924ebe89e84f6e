"""On-disk cache of parsed dataset dicts, keyed by the source files' size + mtime and the loader
options.

Cache directory: ``$AG_CACHE`` if set, else ``~/.cache/ag_detectron``. One file per (root, split,
options), ``<prefix>_<params hash>_<sources hash>.pkl``; when the sources change, the new file
replaces the old one. A cache file is valid only while every source file has the recorded size and
mtime (nanoseconds) and the loader version is unchanged.

File layout (``docs/ag_format.md``, "Parse cache"): a 24-byte header, then a pickle::

    bytes 0-7    magic b"AGCACHE1" (format version in the last byte)
    bytes 8-15   payload length (little-endian unsigned 64-bit)
    bytes 16-19  CRC-32 of the payload (little-endian unsigned 32-bit)
    bytes 20-23  zero
    bytes 24-    payload: the pickled object

A file whose magic, length or checksum does not match (truncated, bytes flipped, written by an
older version) is never unpickled: :func:`load_cached` logs one warning naming the file and returns
None, and the caller parses the sources again and rewrites it. Writers never share a file: each
writes its own temporary file in the cache directory and moves it into place with ``os.replace``
(atomic on POSIX), so two processes writing the same cache at once leave one complete file, and a
reader sees either the old or a new complete file.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import pickle
import struct
import tempfile
import zlib
from typing import Any, Dict, Optional, Sequence

from detectron2.structures import BoxMode

from ag_detectron.errors import DatasetFormatError

from .safe_pickle import RestrictedUnpickler

__all__ = ["default_cache_dir", "cache_path", "load_cached", "save_cached"]

logger = logging.getLogger(__name__)

# Globals the cache files may contain besides builtins and NumPy arrays.
_CACHE_GLOBALS = {("detectron2.structures.boxes", "BoxMode"): BoxMode}

MAGIC = b"AGCACHE1"
_HEADER = struct.Struct("<8sQI4x")  # magic, payload length, CRC-32 of the payload
HEADER_SIZE = _HEADER.size  # 24


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


def _read_checked(path: str) -> bytes:
    """The payload of cache file ``path`` after checking magic, length and CRC-32.

    Raises:
        DatasetFormatError: the header or the payload does not match (message says which).
    """
    with open(path, "rb") as f:
        header = f.read(HEADER_SIZE)
        if len(header) < HEADER_SIZE:
            raise DatasetFormatError(f"{path}: {len(header)} bytes, shorter than the cache header")
        magic, length, crc = _HEADER.unpack(header)
        if magic != MAGIC:
            raise DatasetFormatError(f"{path}: not a cache file of this version (magic {magic!r})")
        payload = f.read(length + 1)  # one byte more than announced detects trailing data
    if len(payload) != length:
        raise DatasetFormatError(
            f"{path}: payload of {len(payload)} bytes, header says {length} (truncated or appended)"
        )
    if zlib.crc32(payload) != crc:
        raise DatasetFormatError(f"{path}: payload checksum mismatch (corrupted)")
    return payload


def load_cached(path: str) -> Optional[Any]:
    """The cached object, or None if the file is absent or fails any check (module docstring).

    A failed check is logged as one warning naming the file and the reason; the caller rebuilds.
    """
    if not os.path.isfile(path):
        return None
    try:
        payload = _read_checked(path)
        return RestrictedUnpickler(io.BytesIO(payload), path, _CACHE_GLOBALS).load()
    except OSError as e:
        logger.warning(f"Ignoring unreadable cache file {path}; it will be rebuilt: {e}")
    except DatasetFormatError as e:
        logger.warning(f"Ignoring invalid cache file {path}; it will be rebuilt: {e}")
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as e:
        # checksum matched but the pickle does not load: written by an incompatible version
        logger.warning(
            f"Ignoring unreadable cache file {path}; it will be rebuilt: {type(e).__name__}: {e}"
        )
    return None


class _ChecksumWriter:
    """File wrapper for ``pickle.dump`` that counts the bytes written and their CRC-32."""

    def __init__(self, f):
        self._f, self.length, self.crc = f, 0, 0

    def write(self, data) -> int:
        # bytes, or a PickleBuffer / memoryview for large buffers (e.g. NumPy arrays, protocol 5)
        view = memoryview(data)
        self.length += view.nbytes
        self.crc = zlib.crc32(view, self.crc)
        return self._f.write(view)


def save_cached(path: str, obj: Any) -> None:
    """Atomically write ``obj`` to ``path`` with the checked header (module docstring).

    The pickle streams into a temporary file in the same directory (header written last), which
    ``os.replace`` moves into place. There is no fsync: a file cut short by a crash fails the length
    check and is rebuilt. Older files for the same parameters (``<prefix>_<params hash>_*.pkl``,
    i.e. stale source versions) are then removed. Failure to write (read-only or full disk) is
    logged as a warning; the caller's result is unaffected.
    """
    directory = os.path.dirname(path)
    tmp = None
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=".pkl", dir=directory)
        with os.fdopen(fd, "wb") as f:
            f.write(bytes(HEADER_SIZE))
            writer = _ChecksumWriter(f)
            pickle.dump(obj, writer, protocol=pickle.HIGHEST_PROTOCOL)
            f.seek(0)
            f.write(_HEADER.pack(MAGIC, writer.length, writer.crc))
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
