"""Config helpers shared by the relation heads: predicate groups, the frequency table, losses."""

import logging
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from ag_detectron.errors import ConfigError

from .freq_prior import FrequencyBias, build_frequency_table
from .inference import group_probabilities
from .losses import LOSS_TYPES, attention_loss, multilabel_loss
from .sampling import PairTargets

__all__ = ["groups_from_config", "initial_frequency_table", "predicate_losses", "GROUP_NAMES"]

logger = logging.getLogger(__name__)

GROUP_NAMES = ("attention", "spatial", "contacting")


def groups_from_config(cfg) -> Tuple[Tuple[int, ...], Tuple[bool, ...]]:
    """Group sizes (A, S, C) from ``NUM_*_CLASSES`` and multi-label flags (False, True, True)."""
    r = cfg.MODEL.ROI_RELATION_HEAD
    sizes = (r.NUM_ATTENTION_CLASSES, r.NUM_SPATIAL_CLASSES, r.NUM_CONTACTING_CLASSES)
    if min(sizes) <= 0:
        raise ConfigError(f"MODEL.ROI_RELATION_HEAD.NUM_*_CLASSES must be positive, got {sizes}")
    return sizes, (False, True, True)


def loss_type_from_config(cfg) -> str:
    loss_type = cfg.MODEL.ROI_RELATION_HEAD.LOSS_TYPE
    if loss_type not in LOSS_TYPES:
        raise ConfigError(
            f"MODEL.ROI_RELATION_HEAD.LOSS_TYPE={loss_type!r}; expected one of {LOSS_TYPES}"
        )
    return loss_type


def initial_frequency_table(cfg, required: bool) -> Optional[torch.Tensor]:
    """The (C, P) table from ``FREQ_BIAS_FILE``; zeros (warning) or ConfigError when unset."""
    path = cfg.MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE
    sizes, multi = groups_from_config(cfg)
    num_classes = cfg.MODEL.ROI_HEADS.NUM_CLASSES
    if not path:
        if required:
            raise ConfigError(
                "MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE is empty; the frequency prior needs the "
                "stats "
                "file written by tools/compute_predicate_stats.py"
            )
        logger.warning(
            "MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE is empty: the frequency bias starts from zeros"
        )
        return torch.zeros(num_classes, sum(sizes))
    return build_frequency_table(path, num_classes, sizes, list(multi))


def predicate_losses(
    logits: torch.Tensor, targets: PairTargets, group_sizes: Sequence[int], loss_type: str
) -> Dict[str, torch.Tensor]:
    """``loss_rel_{attention,spatial,contacting}`` on the positive pairs of (P, K) logits."""
    pos = targets.is_positive
    att, spa, con = torch.split(logits[pos], list(group_sizes), dim=1)
    return {
        "loss_rel_attention": attention_loss(att, targets.attention[pos]),
        "loss_rel_spatial": multilabel_loss(spa, targets.spatial[pos], loss_type),
        "loss_rel_contacting": multilabel_loss(con, targets.contacting[pos], loss_type),
    }


def predicate_probabilities(
    logits: torch.Tensor, group_sizes: Sequence[int], multi_label: Sequence[bool]
) -> torch.Tensor:
    """(P, K) probabilities (attention softmax, others sigmoid), concatenated."""
    return torch.cat(group_probabilities(logits, group_sizes, multi_label), dim=1)


def gather_object_classes(entities: List, pairs: List[torch.Tensor]) -> torch.Tensor:
    """(sum P_i,) long predicted class of each pair's object."""
    return torch.cat([e.pred_classes[p[:, 1]] for e, p in zip(entities, pairs)], dim=0)


def pair_frequency_logits(
    freq_bias: FrequencyBias, entities: List, pairs: List[torch.Tensor], soft: bool
) -> torch.Tensor:
    """(sum P_i, K) frequency-table logits of each pair's object: the row of its predicted class, or
    with ``soft`` and ``class_probs`` on every image the expectation ``dist @ table``."""
    if soft and all(e.has("class_probs") for e in entities):
        probs = torch.cat([e.class_probs[p[:, 1]] for e, p in zip(entities, pairs)], dim=0)
        return freq_bias.forward_soft(probs)
    return freq_bias(gather_object_classes(entities, pairs))
