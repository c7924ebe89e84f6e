"""Relation (person -> object pair) helpers: build the ``relations`` Instances and re-index pairs.

A frame's relations cannot be fields of its N-box ``Instances`` (there are R pairs), so they live in
their own ``Instances`` whose ``gt_pair_idx`` (R, 2) indexes into the box ``Instances``
(docs/design.md).
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Sequence, Tuple

import torch
from detectron2.structures import Instances

from ag_detectron.vocabulary import RELEASE

__all__ = ["remap_pairs", "relations_to_instances", "filter_relations", "GROUP_FIELDS"]

# predicate group name -> field of the relations Instances (same names in every vocabulary)
GROUP_FIELDS = {g.name: g.target_field for g in RELEASE.groups}


def remap_pairs(
    pair_idx: torch.Tensor, keep_mask: torch.Tensor
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Re-index pairs after boxes were filtered.

    Args:
        pair_idx: (R, 2) long, indices into the N boxes before filtering.
        keep_mask: (N,) bool, which boxes were kept (e.g. from
            ``filter_empty_instances(return_mask=True)``).

    Returns:
        new_pair_idx: (R', 2) long, indices into the kept boxes, for the pairs whose both boxes
            survive.
        pair_keep: (R,) bool, which of the input pairs survive (use it to filter the pair labels).
    """
    keep_mask = torch.as_tensor(keep_mask, dtype=torch.bool)
    pair_idx = torch.as_tensor(pair_idx, dtype=torch.long).reshape(-1, 2)
    n = keep_mask.numel()
    if pair_idx.numel() and (int(pair_idx.min()) < 0 or int(pair_idx.max()) >= n):
        raise IndexError(
            f"pair indices must lie in [0, {n}); got min {int(pair_idx.min())}, max "
            f"{int(pair_idx.max())}"
        )
    new_index = torch.cumsum(keep_mask.long(), dim=0) - 1  # (N,) new position of each kept box
    pair_keep = (
        keep_mask[pair_idx].all(dim=1) if pair_idx.numel() else torch.zeros(0, dtype=torch.bool)
    )
    return new_index[pair_idx[pair_keep]], pair_keep


def relations_to_instances(
    relations: Sequence[Mapping[str, Any]],
    image_size: Tuple[int, int],
    predicate_groups: Mapping[str, Tuple[int, int]],
) -> Instances:
    """Dataset-dict relations -> ``Instances`` of R pairs; relations with ``subject == -1`` are
    skipped.

    Args:
        relations: dicts
            ``{"subject", "object", "attention": [g], "spatial": [g...], "contacting": [g...]}``
            with GLOBAL predicate ids.
        image_size: (H, W).
        predicate_groups: the dataset metadata's ``predicate_groups``, group name -> (start, stop)
            (:meth:`ag_detectron.vocabulary.PredicateVocabulary.metadata`)
            (metadata).

    Returns:
        Instances with ``gt_pair_idx`` (R, 2) long and one float 0/1 field ``gt_<group>``
        (R, stop - start) per group (release: attention 3 one-hot, spatial 6, contacting 17).
    """
    rels = [r for r in relations if r["subject"] >= 0]
    out = Instances(image_size)
    out.gt_pair_idx = torch.tensor(
        [[r["subject"], r["object"]] for r in rels], dtype=torch.long
    ).reshape(-1, 2)
    for group, field in GROUP_FIELDS.items():
        start, stop = predicate_groups[group]
        labels = torch.zeros((len(rels), stop - start), dtype=torch.float32)
        for i, r in enumerate(rels):
            for g in r[group]:
                if not start <= g < stop:
                    raise ValueError(
                        f"predicate id {g} in {group!r} outside the group range [{start}, {stop})"
                    )
                labels[i, g - start] = 1.0
        out.set(field, labels)
    return out


def filter_relations(relations: Instances, keep_mask: torch.Tensor) -> Instances:
    """Drop the pairs whose person or object box was dropped and re-index the rest (see
    :func:`remap_pairs`)."""
    pair_idx, pair_keep = remap_pairs(relations.gt_pair_idx, keep_mask)
    out = relations[pair_keep]
    out.gt_pair_idx = pair_idx
    return out


def pairs_as_lists(relations: Instances) -> List[Dict[str, Any]]:
    """Inverse of :func:`relations_to_instances` for inspection and tests (local ids within each
    group)."""
    out = []
    for i in range(len(relations)):
        rec = {"pair": relations.gt_pair_idx[i].tolist()}
        for group, field in GROUP_FIELDS.items():
            rec[group] = torch.nonzero(relations.get(field)[i]).flatten().tolist()
        out.append(rec)
    return out
