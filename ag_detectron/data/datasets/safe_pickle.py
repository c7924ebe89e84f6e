"""A restricted unpickler for the downloaded Action Genome annotation pickles.

``person_bbox.pkl`` and ``object_bbox_and_relationship.pkl`` are downloaded files; ``pickle.load``
on them would execute any global a tampered file names. :class:`RestrictedUnpickler` admits only the
globals the release needs to rebuild its NumPy arrays (array reconstruction, dtype, scalar, and
``_codecs.encode``, which protocol-2 pickles use for raw bytes), plus the builtin containers
protocol 2 names as globals (bytes, bytearray, set, frozenset), and refuses everything else *before*
it is called.
"""

from __future__ import annotations

import io
import logging
import pickle
from typing import Any, FrozenSet, Optional, Tuple

import numpy as np

from ag_detectron.errors import DatasetFormatError

__all__ = ["RestrictedUnpickler", "safe_load", "ALLOWED_GLOBALS"]

logger = logging.getLogger(__name__)

# (module, name) pairs that may be resolved. numpy 1.x pickles say ``numpy.core``; numpy 2.x says
# ``numpy._core``; both are admitted and resolved to the installed NumPy's objects.
ALLOWED_GLOBALS: FrozenSet[Tuple[str, str]] = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),  # protocol-5 array reconstruction
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
        # plain containers protocol 2 spells as globals (``__builtin__`` = Python 2 / fix_imports
        # name)
        ("builtins", "bytes"),
        ("__builtin__", "bytes"),
        ("builtins", "bytearray"),
        ("__builtin__", "bytearray"),
        ("builtins", "set"),
        ("__builtin__", "set"),
        ("builtins", "frozenset"),
        ("__builtin__", "frozenset"),
    }
)

_RESOLVE = {
    "_reconstruct": np.ndarray.__reduce__(np.zeros(0))[
        0
    ],  # numpy's own _reconstruct, version-independent
    "scalar": np.float32(0).__reduce__()[0],
    "_frombuffer": np.zeros(1).__reduce_ex__(5)[0],
    "ndarray": np.ndarray,
    "dtype": np.dtype,
    "bytes": bytes,
    "bytearray": bytearray,
    "set": set,
    "frozenset": frozenset,
}


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that resolves only :data:`ALLOWED_GLOBALS` (plus ``extra_globals``).

    Args:
        file: binary file object.
        source: name used in error messages (usually the file path).
        extra_globals: further ``(module, name)`` pairs to admit, each mapped to the object it names
            (used for the loader's own cache files, e.g. detectron2's ``BoxMode``).
    """

    def __init__(
        self, file: io.BufferedIOBase, source: str, extra_globals: Optional[dict] = None
    ) -> None:
        super().__init__(file, encoding="latin1")
        self._source = source
        self._extra = dict(extra_globals or {})

    def find_class(self, module: str, name: str) -> Any:
        key = (module, name)
        if key in self._extra:
            return self._extra[key]
        if key in ALLOWED_GLOBALS:
            if module == "_codecs":
                import codecs

                return codecs.encode
            return _RESOLVE[name]
        raise DatasetFormatError(
            f"{self._source}: refused to unpickle global '{module}.{name}'; an Action Genome "
            f"annotation pickle may only contain builtins and NumPy arrays/dtypes/scalars "
            f"(allowed: {sorted('.'.join(k) for k in ALLOWED_GLOBALS)})"
        )


def safe_load(path: str, extra_globals: Optional[dict] = None) -> Any:
    """Load a pickle file with :class:`RestrictedUnpickler`.

    Raises:
        DatasetFormatError: the file is missing, truncated/corrupt, or names a refused global.
    """
    try:
        with open(path, "rb") as f:
            # one read, then unpickle from memory: much faster than buffered file reads
            data = f.read()
        return RestrictedUnpickler(io.BytesIO(data), path, extra_globals).load()
    except DatasetFormatError:
        raise
    except FileNotFoundError:
        raise DatasetFormatError(f"{path}: file not found") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as e:
        raise DatasetFormatError(f"{path}: not a readable pickle ({type(e).__name__}: {e})") from e
