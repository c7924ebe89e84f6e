"""The frequency prior: predicate counts per object class, the log/logit table, ``FrequencyBias``.

The subject of every AG relation is the person, so the prior is indexed by the object class only
(docs/model.md). From training-split counts ``n(o)`` (relations whose object has class ``o``)
and ``n(o, r)`` (those carrying predicate ``r``), ``p(r|o) = n(o, r) / n(o)`` and the table is

* single-label groups (attention): ``log p(a|o)``, with ``p`` clipped below at ``eps``;
* multi-label groups (spatial, contacting): ``logit(p(r|o))``, ``p`` clipped to ``[eps, 1 − eps]``.

Classes without any relation in the counts (``n(o) = 0``: ``person``, unseen classes) use the
marginal over all relations instead. ``eps = 1e-3``.

The counts are written once by ``tools/compute_predicate_stats.py`` into a JSON file (format
below) and read through ``MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE``; models never count in
``__init__``::

    {"format": "ag_detectron.predicate_stats.v1", "datasets": [...],
     "object_classes": [36 names], "predicate_classes": [K names (26 or 25)],
     "group_sizes": [3, 6, 17 or 16], "pair_counts": [36 ints],
     "predicate_counts": [[26 ints] × 36], "num_relations": int, "num_skipped_relations": int}
"""

import json
import logging
from typing import Dict, Iterable, List, NamedTuple, Sequence

import numpy as np
import torch
from torch import nn

from ag_detectron.errors import ConfigError

__all__ = [
    "STATS_FORMAT",
    "PredicateCounts",
    "compute_predicate_counts",
    "frequency_table",
    "save_predicate_counts",
    "load_predicate_counts",
    "FrequencyBias",
    "build_frequency_table",
]

logger = logging.getLogger(__name__)

STATS_FORMAT = "ag_detectron.predicate_stats.v1"


class PredicateCounts(NamedTuple):
    """Training-split counts.

    Attributes:
        pair_counts: (C,) int64, ``n(o)``, relations per object class.
        predicate_counts: (C, P) int64, ``n(o, r)``.
        num_skipped_relations: relations without a person subject (not counted).
    """

    pair_counts: np.ndarray
    predicate_counts: np.ndarray
    num_skipped_relations: int = 0


def compute_predicate_counts(
    dataset_dicts: Iterable[Dict], num_object_classes: int, num_predicates: int
) -> PredicateCounts:
    """Count ``n(o)`` and ``n(o, r)`` over per-frame dataset dicts (design.md format).

    Relations with ``subject == -1`` (frame without a person box) are skipped and counted.

    Raises:
        ValueError: a class or predicate id is out of range (names the frame).
    """
    pair_counts = np.zeros(num_object_classes, dtype=np.int64)
    predicate_counts = np.zeros((num_object_classes, num_predicates), dtype=np.int64)
    skipped = 0
    for d in dataset_dicts:
        annos = d["annotations"]
        for rel in d.get("relations", []):
            if rel["subject"] < 0:
                skipped += 1
                continue
            cls = annos[rel["object"]]["category_id"]
            preds = list(rel["attention"]) + list(rel["spatial"]) + list(rel["contacting"])
            if not 0 <= cls < num_object_classes or any(not 0 <= p < num_predicates for p in preds):
                raise ValueError(
                    f"{d.get('image_id', '?')}: relation {rel} has a class/predicate outside "
                    f"[0, {num_object_classes}) / [0, {num_predicates})"
                )
            pair_counts[cls] += 1
            np.add.at(predicate_counts[cls], np.asarray(preds, dtype=np.int64), 1)
    return PredicateCounts(pair_counts, predicate_counts, skipped)


def frequency_table(
    counts: PredicateCounts,
    group_sizes: Sequence[int],
    multi_label: Sequence[bool],
    eps: float = 1e-3,
) -> torch.Tensor:
    """The (C, P) initial frequency table (module docstring).

    Args:
        counts: :class:`PredicateCounts`.
        group_sizes: widths of the contiguous predicate groups, e.g. (3, 6, 17).
        multi_label: per group, whether it is multi-label (logit) or single-label (log).
    """
    n_o = counts.pair_counts.astype(np.float64)
    n_or = counts.predicate_counts.astype(np.float64)
    if n_or.shape[1] != sum(group_sizes):
        raise ConfigError(
            f"predicate counts have {n_or.shape[1]} columns, the head expects "
            f"{sum(group_sizes)} (= {list(group_sizes)})"
        )
    total = max(n_o.sum(), 1.0)
    marginal = n_or.sum(axis=0) / total
    p = np.where(n_o[:, None] > 0, n_or / np.maximum(n_o[:, None], 1.0), marginal[None, :])
    out = np.empty_like(p)
    start = 0
    for size, multi in zip(group_sizes, multi_label):
        g = p[:, start : start + size]
        if multi:
            g = np.clip(g, eps, 1.0 - eps)
            out[:, start : start + size] = np.log(g) - np.log1p(-g)
        else:
            out[:, start : start + size] = np.log(np.clip(g, eps, 1.0))
        start += size
    return torch.as_tensor(out, dtype=torch.float32)


def save_predicate_counts(
    path: str,
    counts: PredicateCounts,
    object_classes: Sequence[str],
    predicate_classes: Sequence[str],
    group_sizes: Sequence[int],
    datasets: Sequence[str],
) -> None:
    """Write the JSON stats file (module docstring)."""
    payload = {
        "format": STATS_FORMAT,
        "datasets": list(datasets),
        "object_classes": list(object_classes),
        "predicate_classes": list(predicate_classes),
        "group_sizes": [int(g) for g in group_sizes],
        "pair_counts": counts.pair_counts.tolist(),
        "predicate_counts": counts.predicate_counts.tolist(),
        "num_relations": int(counts.pair_counts.sum()),
        "num_skipped_relations": int(counts.num_skipped_relations),
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=1)


def load_predicate_counts(
    path: str, num_object_classes: int, group_sizes: Sequence[int]
) -> PredicateCounts:
    """Read and validate a stats file.

    Raises:
        ConfigError: missing/unreadable file, wrong format tag or shapes (names the path and field).
    """
    try:
        with open(path, "r", encoding="utf-8") as f:
            payload = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(
            f"MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE={path!r} cannot be read ({e}); write it with "
            "tools/compute_predicate_stats.py"
        ) from e
    if payload.get("format") != STATS_FORMAT:
        raise ConfigError(
            f"{path}: field 'format' is {payload.get('format')!r}, expected {STATS_FORMAT!r}"
        )
    pair_counts = np.asarray(payload["pair_counts"], dtype=np.int64)
    predicate_counts = np.asarray(payload["predicate_counts"], dtype=np.int64)
    expected = (num_object_classes, sum(group_sizes))
    if pair_counts.shape != expected[:1] or predicate_counts.shape != expected:
        raise ConfigError(
            f"{path}: 'pair_counts' {pair_counts.shape} / 'predicate_counts' "
            f"{predicate_counts.shape}, "
            f"expected ({expected[0]},) / {expected} (MODEL.ROI_HEADS.NUM_CLASSES and "
            "MODEL.ROI_RELATION_HEAD.NUM_PREDICATES; count the stats on a dataset of that "
            "vocabulary, e.g. ag_train_25 for 25)"
        )
    if list(payload.get("group_sizes", group_sizes)) != list(group_sizes):
        raise ConfigError(
            f"{path}: 'group_sizes' {payload['group_sizes']}, expected {list(group_sizes)}"
        )
    return PredicateCounts(
        pair_counts, predicate_counts, int(payload.get("num_skipped_relations", 0))
    )


class FrequencyBias(nn.Module):
    """Frequency table ``(C, P)`` indexed by object class (hard) or class distribution (soft).

    Learnable (``nn.Parameter``) or fixed (buffer).
    """

    def __init__(self, table: torch.Tensor, trainable: bool = True):
        """
        Args:
            table: (C, P) float initial values (:func:`frequency_table` or zeros).
            trainable: register as parameter (True) or buffer (False).
        """
        super().__init__()
        if trainable:
            self.table = nn.Parameter(table.clone().float())
        else:
            self.register_buffer("table", table.clone().float())

    @property
    def num_classes(self) -> int:
        return self.table.shape[0]

    def forward(self, object_classes: torch.Tensor) -> torch.Tensor:
        """(P,) long classes → (P, P_pred) logits."""
        return self.table[object_classes]

    def forward_soft(self, class_probs: torch.Tensor) -> torch.Tensor:
        """(P, C) class distributions → (P, P_pred) expected logits ``dist @ table``."""
        return class_probs @ self.table


def build_frequency_table(
    path: str, num_object_classes: int, group_sizes: Sequence[int], multi_label: List[bool]
) -> torch.Tensor:
    """Load counts from ``path`` and return the (C, P) table."""
    counts = load_predicate_counts(path, num_object_classes, group_sizes)
    logger.info(
        "Frequency prior from %s: %d relations over %d object classes",
        path,
        int(counts.pair_counts.sum()),
        int((counts.pair_counts > 0).sum()),
    )
    return frequency_table(counts, group_sizes, multi_label)
