"""Relation post-processing: logits → per-group probabilities → ``relations`` Instances (design.md).

Attention: softmax over its group; spatial and contacting: element-wise sigmoid. With
``related_logits`` given (``USE_RELATED_SCORE``), every probability is multiplied by
``sigmoid(related)``.
"""

from typing import List, Optional, Sequence, Tuple

import torch
from detectron2.structures import Instances

__all__ = ["group_probabilities", "make_relations", "split_relations"]

RELATION_FIELDS = ("attention_scores", "spatial_scores", "contacting_scores")


def group_probabilities(
    logits: torch.Tensor,
    group_sizes: Sequence[int],
    multi_label: Sequence[bool],
    related_logits: Optional[torch.Tensor] = None,
) -> List[torch.Tensor]:
    """Split (P, sum(group_sizes)) logits into groups and turn each into probabilities.

    Returns:
        One (P, size_g) tensor per group: softmax for single-label, sigmoid for multi-label groups.
    """
    out = []
    for g, multi in zip(torch.split(logits, list(group_sizes), dim=1), multi_label):
        p = torch.sigmoid(g) if multi else torch.softmax(g, dim=1)
        if related_logits is not None:
            p = p * torch.sigmoid(related_logits)[:, None]
        out.append(p)
    return out


def make_relations(
    pair_idx: torch.Tensor, probs: Sequence[torch.Tensor], image_size: Tuple[int, int]
) -> Instances:
    """``Instances(pair_idx (P, 2), attention_scores (P, 3), spatial_scores (P, 6),
    contacting_scores (P, 17))`` for one image."""
    rel = Instances(image_size)
    rel.pair_idx = pair_idx
    for name, p in zip(RELATION_FIELDS, probs):
        setattr(rel, name, p)
    return rel


def split_relations(
    pairs: List[torch.Tensor],
    probs: Sequence[torch.Tensor],
    image_sizes: List[Tuple[int, int]],
) -> List[Instances]:
    """Split batch-concatenated probabilities back into one ``relations`` Instances per image.

    Args:
        pairs: per image (P_i, 2) long indices into that image's entities.
        probs: per group (sum P_i, size_g).
    """
    counts = [len(p) for p in pairs]
    per_group = [torch.split(p, counts, dim=0) for p in probs]
    return [
        make_relations(pairs[i], [g[i] for g in per_group], image_sizes[i])
        for i in range(len(pairs))
    ]
