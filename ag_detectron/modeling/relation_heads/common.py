"""Config helpers shared by the relation heads: predicate vocabulary, frequency table, losses."""

import logging
import os
from typing import Dict, List, Optional, Tuple

import torch
from detectron2.data import MetadataCatalog

from ag_detectron.errors import ConfigError
from ag_detectron.vocabulary import PredicateVocabulary, predicate_vocabulary

from .freq_prior import FrequencyBias, build_frequency_table
from .inference import group_probabilities
from .losses import LOSS_TYPES, attention_loss, multilabel_loss
from .sampling import PairTargets

__all__ = [
    "vocabulary_from_config",
    "check_dataset_vocabularies",
    "initial_frequency_table",
    "predicate_losses",
]

logger = logging.getLogger(__name__)

_NUM_PREDICATES_KEY = "MODEL.ROI_RELATION_HEAD.NUM_PREDICATES"


def vocabulary_from_config(cfg) -> PredicateVocabulary:
    """The vocabulary of ``MODEL.ROI_RELATION_HEAD.NUM_PREDICATES`` (26 release, 25 paper),
    checked against every registered dataset of ``DATASETS.TRAIN`` / ``DATASETS.TEST``."""
    vocab = predicate_vocabulary(cfg.MODEL.ROI_RELATION_HEAD.NUM_PREDICATES, _NUM_PREDICATES_KEY)
    check_dataset_vocabularies(cfg, vocab)
    return vocab


def check_dataset_vocabularies(cfg, vocab: PredicateVocabulary) -> None:
    """Raise ConfigError when a dataset of ``DATASETS.TRAIN`` / ``DATASETS.TEST`` whose metadata
    carries ``predicate_classes`` has another vocabulary than the model's ``vocab``.

    Datasets that are not registered (yet) or carry no predicate metadata are not checked.
    """
    registered = set(MetadataCatalog.list())
    for key in ("TRAIN", "TEST"):
        for name in cfg.DATASETS.get(key, ()):
            if name not in registered:
                continue
            meta = MetadataCatalog.get(name)
            if not meta.get("predicate_classes", None):
                continue
            found = PredicateVocabulary.from_metadata(meta, where=f"dataset {name!r}")
            if found != vocab:
                raise ConfigError(
                    f"DATASETS.{key} has {name!r} with {found.describe()}, but the model is built "
                    f"for {vocab.describe()} ({_NUM_PREDICATES_KEY}={vocab.size}); set "
                    f"{_NUM_PREDICATES_KEY} {found.size} (the *_25 configs do) or use datasets "
                    f"of that vocabulary"
                )


def loss_type_from_config(cfg) -> str:
    loss_type = cfg.MODEL.ROI_RELATION_HEAD.LOSS_TYPE
    if loss_type not in LOSS_TYPES:
        raise ConfigError(
            f"MODEL.ROI_RELATION_HEAD.LOSS_TYPE={loss_type!r}; expected one of {LOSS_TYPES}"
        )
    return loss_type


def initial_frequency_table(
    cfg, vocab: PredicateVocabulary, required_for_training: bool
) -> Tuple[torch.Tensor, Optional[str]]:
    """The (C, K) table from ``FREQ_BIAS_FILE`` and, when it could not be read, why.

    The statistics are needed to *train*, not to run a trained model: its table is in the
    checkpoint. So an empty or absent file never stops the model from being built; the table
    starts from zeros (warning) and the reason is returned. The heads raise it as a ConfigError
    at their first training step when ``required_for_training`` (the frequency prior always; RelDN
    when a file was named but is absent) and no checkpoint has filled the table.
    """
    path = cfg.MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE
    num_classes = cfg.MODEL.ROI_HEADS.NUM_CLASSES
    if path and os.path.isfile(path):
        table = build_frequency_table(path, num_classes, vocab.group_sizes, list(vocab.multi_label))
        return table, None
    key = "MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE"
    problem = (
        f"{key}={path!r} does not exist" if path else f"{key} is empty"
    ) + "; training needs the stats file written by tools/compute_predicate_stats.py"
    logger.warning(
        "%s. The frequency table starts from zeros: fine for inference with a trained checkpoint "
        "(MODEL.WEIGHTS), which holds the learned table.",
        problem,
    )
    return torch.zeros(num_classes, vocab.size), (
        problem if required_for_training or path else None
    )


def check_table_for_training(freq_bias, problem: Optional[str]) -> None:
    """Raise ``problem`` (ConfigError) when training would start from a table that neither the
    stats file nor a checkpoint filled (still all zeros)."""
    if problem is not None and not bool(torch.any(freq_bias.table != 0)):
        raise ConfigError(problem)


def predicate_losses(
    logits: torch.Tensor, targets: PairTargets, vocab: PredicateVocabulary, loss_type: str
) -> Dict[str, torch.Tensor]:
    """``loss_rel_<group>`` on the positive pairs of (P, K) logits: cross-entropy for single-label
    groups, ``loss_type`` for multi-label ones."""
    pos = targets.is_positive
    losses = {}
    for group, g_logits in zip(vocab.groups, torch.split(logits[pos], list(vocab.group_sizes), 1)):
        target = targets.group(group.name)[pos]
        losses[f"loss_rel_{group.name}"] = (
            multilabel_loss(g_logits, target, loss_type)
            if group.multi_label
            else attention_loss(g_logits, target)
        )
    return losses


def predicate_probabilities(logits: torch.Tensor, vocab: PredicateVocabulary) -> torch.Tensor:
    """(P, K) probabilities (single-label groups softmax, multi-label sigmoid), concatenated."""
    return torch.cat(group_probabilities(logits, vocab), dim=1)


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
