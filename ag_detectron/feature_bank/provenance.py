"""Provenance of a feature bank: who produced it, with which weights, vocabulary and rate.

A bank is only meaningful for the producer that wrote it: a scene-graph bank from another detector
or vocabulary has the same shape and would silently train the wrong model. Every shard and every
consolidated index therefore stores a :class:`BankProvenance`, and readers compare it field by
field with what they expect (``FeatureBank.open(..., expected=...)``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from typing import Any, Dict, Mapping, Optional, Sequence, Union

from .errors import FeatureBankError

__all__ = [
    "PRODUCER_KINDS",
    "BankProvenance",
    "hash_config",
    "hash_file",
    "hash_module_state",
    "scene_graph_vocabulary",
    "check_provenance",
]

PRODUCER_KINDS = ("scene_graph", "lfb", "oracle")
BANK_DTYPES = ("float16", "float32")


@dataclasses.dataclass(frozen=True)
class BankProvenance:
    """What produced a bank. Stored as JSON in every shard and in the consolidated index.

    Attributes:
        kind: ``"scene_graph"`` (predicted confidence matrices), ``"lfb"`` (clip features of a
            separately trained clip model) or ``"oracle"`` (Action Genome ground truth).
        dim: length D of one entry (910 = 35 x 26, 875 = 35 x 25, or the clip feature width).
        rate: entries per second of video for regularly sampled banks (2.0 = LFB); ``None`` for
            banks with irregular timestamps (the oracle: Action Genome's annotated frames).
        vocabulary: JSON-able description of what the D columns mean, e.g.
            ``{"objects": [...35 names], "predicates": [...26 names]}`` or
            ``{"feature_dim": 2048}``.
        producer_config_hash: hash of the producer's config (:func:`hash_config`), "" if none.
        weights_hash: hash of the producer's weights file (:func:`hash_file`), "" if none.
        dtype: storage dtype of the entries, ``"float16"`` (default) or ``"float32"``.
    """

    kind: str
    dim: int
    rate: Optional[float]
    vocabulary: Any
    producer_config_hash: str = ""
    weights_hash: str = ""
    dtype: str = "float16"

    def __post_init__(self) -> None:
        if self.kind not in PRODUCER_KINDS:
            raise FeatureBankError(
                f"provenance field 'kind': {self.kind!r}; expected one of {PRODUCER_KINDS}"
            )
        if isinstance(self.dim, bool) or not isinstance(self.dim, int) or self.dim <= 0:
            raise FeatureBankError(f"provenance field 'dim': {self.dim!r}; expected an int > 0")
        if self.rate is not None and not (self.rate > 0 and math.isfinite(self.rate)):
            raise FeatureBankError(
                f"provenance field 'rate': {self.rate!r}; expected entries/s > 0 or None"
            )
        if self.dtype not in BANK_DTYPES:
            raise FeatureBankError(
                f"provenance field 'dtype': {self.dtype!r}; expected one of {BANK_DTYPES}"
            )
        # the vocabulary must survive a JSON round trip unchanged (tuples become lists)
        object.__setattr__(self, "vocabulary", json.loads(json.dumps(self.vocabulary)))

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str) -> "BankProvenance":
        """Parse the stored form; ``where`` (a file name) is named in the error."""
        names = [f.name for f in dataclasses.fields(cls)]
        if not isinstance(d, Mapping):
            raise FeatureBankError(f"{where}: provenance is not a JSON object")
        unknown = sorted(set(d) - set(names))
        missing = sorted(n for n in ("kind", "dim", "rate", "vocabulary") if n not in d)
        if unknown or missing:
            raise FeatureBankError(
                f"{where}: provenance fields unknown {unknown}, missing {missing}; "
                f"expected the fields {names}"
            )
        try:
            return cls(**d)
        except FeatureBankError as e:
            raise FeatureBankError(f"{where}: {e}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def hash_config(config: Union[str, Mapping[str, Any], Any]) -> str:
    """SHA-256 (first 16 hex digits) of a producer config.

    Accepts a YAML/JSON string, a mapping (hashed as sorted JSON), or a Detectron2 ``CfgNode``
    (hashed through its ``dump()``).
    """
    if hasattr(config, "dump"):
        text = config.dump()
    elif isinstance(config, str):
        text = config
    else:
        text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def hash_file(path: str, chunk: int = 1 << 20) -> str:
    """SHA-256 (first 16 hex digits) of a file's bytes, e.g. a checkpoint."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()[:16]


def hash_module_state(module: Any) -> str:
    """SHA-256 (first 16 hex digits) of a ``torch.nn.Module``'s ``state_dict`` (names, dtypes,
    shapes and bytes, in key order): the identity of a frozen network independent of the
    checkpoint file that holds it (a stage-1 checkpoint and a stage-2 one that kept the backbone
    frozen give the same hash for their backbones)."""
    import torch

    h = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode("utf-8"))
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())  # any dtype, 0-d included
    return h.hexdigest()[:16]


def scene_graph_vocabulary(objects: Sequence[str], predicates: Sequence[str]) -> Dict[str, Any]:
    """The vocabulary of a confidence-matrix bank: column ``i * len(predicates) + j`` is
    (``objects[i]``, ``predicates[j]``)."""
    return {"objects": list(objects), "predicates": list(predicates)}


def _describe(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _first_difference(found: Any, expected: Any) -> str:
    """A short description of where two vocabularies differ."""
    if isinstance(found, dict) and isinstance(expected, dict):
        for key in sorted(set(found) | set(expected)):
            if found.get(key) != expected.get(key):
                return f"[{key!r}]" + _first_difference(found.get(key), expected.get(key))
    if isinstance(found, list) and isinstance(expected, list):
        if len(found) != len(expected):
            return f": {len(found)} items, expected {len(expected)}"
        for i, (a, b) in enumerate(zip(found, expected)):
            if a != b:
                return f"[{i}]: {_describe(a)}, expected {_describe(b)}"
    return f": {_describe(found)}, expected {_describe(expected)}"


def check_provenance(
    found: BankProvenance,
    expected: Union[BankProvenance, Mapping[str, Any]],
    where: str,
) -> None:
    """Raise :class:`FeatureBankError` naming ``where`` and the first mismatching field.

    ``expected`` is a full :class:`BankProvenance` or a mapping holding only the fields the
    caller cares about (e.g. ``{"kind": "scene_graph", "dim": 910}``).
    """
    want = expected.to_dict() if isinstance(expected, BankProvenance) else dict(expected)
    have = found.to_dict()
    unknown = sorted(set(want) - set(have))
    if unknown:
        raise FeatureBankError(
            f"{where}: the expected provenance names unknown fields {unknown}; "
            f"known: {sorted(have)}"
        )
    if "vocabulary" in want:
        want["vocabulary"] = json.loads(json.dumps(want["vocabulary"]))
    for name in (
        "kind",
        "dim",
        "vocabulary",
        "rate",
        "dtype",
        "producer_config_hash",
        "weights_hash",
    ):
        if name in want and have[name] != want[name]:
            raise FeatureBankError(
                f"{where}: provenance field '{name}'{_first_difference(have[name], want[name])}; "
                f"this bank was produced by another model, vocabulary or setting "
                f"(kind={found.kind!r}); re-extract it or point the config at the right bank"
            )
