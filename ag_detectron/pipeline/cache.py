"""The stage cache: a stage's outputs are reused while the key of its inputs is unchanged.

A key is a short hash (:func:`digest`) of everything a stage's outputs depend on: upstream keys,
config dumps, file contents. ``<output>/stages.json`` maps each stage name to the key its outputs
were made from; a stage is skipped when the recorded key equals the new one and all its outputs
exist. ``force=True`` ignores every recorded key (each stage runs once and records its new key).
"""

import hashlib
import json
import os
from typing import Any, Callable, Dict, Sequence, TypeVar

__all__ = ["StageCache", "digest"]

T = TypeVar("T")


def digest(*parts: Any) -> str:
    """A 16-hex-digit SHA-1 of ``parts``, in order.

    Each part is JSON-serialised (sorted keys; ``str`` for other objects), except a
    ``("file", path)`` tuple, which contributes the file's bytes.
    """
    h = hashlib.sha1()
    for p in parts:
        if isinstance(p, tuple) and p and p[0] == "file":
            with open(p[1], "rb") as f:
                h.update(f.read())
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


class StageCache:
    """``stages.json``: stage name → key of the inputs its outputs were made from.

    Args:
        path: the JSON file (created on the first :meth:`done`).
        force: ignore the recorded keys, so that every stage runs again.
    """

    def __init__(self, path: str, force: bool = False):
        self.path, self.force = path, force
        self.keys: Dict[str, str] = {}
        if os.path.isfile(path) and not force:
            with open(path) as f:
                self.keys = json.load(f)

    def valid(self, stage: str, key: str, outputs: Sequence[str]) -> bool:
        """Whether ``stage`` was last made from ``key`` and every path in ``outputs`` exists."""
        return self.keys.get(stage) == key and all(os.path.exists(p) for p in outputs)

    def done(self, stage: str, key: str) -> None:
        """Record that ``stage``'s outputs now come from ``key`` (rewrites the JSON file)."""
        self.keys[stage] = key
        with open(self.path, "w") as f:
            json.dump(self.keys, f, indent=1, sort_keys=True)

    def run(self, stage: str, key: str, outputs: Sequence[str], produce: Callable[[], T]) -> bool:
        """Call ``produce()`` unless :meth:`valid`; record ``key`` after it returns.

        Returns:
            True when ``produce`` ran, False when the outputs were reused.
        """
        if self.valid(stage, key, outputs):
            return False
        produce()
        self.done(stage, key)
        return True
