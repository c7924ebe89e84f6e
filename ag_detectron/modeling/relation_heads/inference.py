"""Relation post-processing: logits → per-group probabilities → ``relations`` Instances (design.md).

Single-label groups (attention): softmax over the group; multi-label groups (spatial,
contacting): element-wise sigmoid. Group widths and fields come from the model's
:class:`~ag_detectron.vocabulary.PredicateVocabulary`. With ``related_logits`` given
(``USE_RELATED_SCORE``), every probability is multiplied by ``sigmoid(related)``.
"""

from typing import List, Optional, Sequence, Tuple

import torch
from detectron2.structures import Instances

from ag_detectron.vocabulary import PredicateVocabulary

__all__ = ["group_probabilities", "make_relations", "split_relations"]


def group_probabilities(
    logits: torch.Tensor,
    vocab: PredicateVocabulary,
    related_logits: Optional[torch.Tensor] = None,
) -> List[torch.Tensor]:
    """Split (P, K) logits into the vocabulary's groups and turn each into probabilities.

    Returns:
        One (P, size_g) tensor per group: softmax for single-label, sigmoid for multi-label groups.
    """
    out = []
    for g, group in zip(torch.split(logits, list(vocab.group_sizes), dim=1), vocab.groups):
        p = torch.sigmoid(g) if group.multi_label else torch.softmax(g, dim=1)
        if related_logits is not None:
            p = p * torch.sigmoid(related_logits)[:, None]
        out.append(p)
    return out


def make_relations(
    pair_idx: torch.Tensor,
    probs: Sequence[torch.Tensor],
    image_size: Tuple[int, int],
    vocab: PredicateVocabulary,
) -> Instances:
    """``Instances(pair_idx (P, 2), <group>_scores (P, size_g) for each group)`` for one image
    (release: attention (P, 3), spatial (P, 6), contacting (P, 17))."""
    rel = Instances(image_size)
    rel.pair_idx = pair_idx
    for group, p in zip(vocab.groups, probs):
        setattr(rel, group.score_field, p)
    return rel


def split_relations(
    pairs: List[torch.Tensor],
    probs: Sequence[torch.Tensor],
    image_sizes: List[Tuple[int, int]],
    vocab: PredicateVocabulary,
) -> List[Instances]:
    """Split batch-concatenated probabilities back into one ``relations`` Instances per image.

    Args:
        pairs: per image (P_i, 2) long indices into that image's entities.
        probs: per group (sum P_i, size_g).
    """
    counts = [len(p) for p in pairs]
    per_group = [torch.split(p, counts, dim=0) for p in probs]
    return [
        make_relations(pairs[i], [g[i] for g in per_group], image_sizes[i], vocab)
        for i in range(len(pairs))
    ]
