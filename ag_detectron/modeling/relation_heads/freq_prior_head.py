"""``FrequencyPriorHead``: the "Freq Prior" baseline — the frequency table alone, no visual input.

Per (person, object) pair the logits are the table row of the object class (soft form ``dist @
table`` with ``FREQ_SOFT`` and class distributions, i.e. sgcls); inference applies the attention
softmax and the spatial/contacting sigmoid. The table comes from
``MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE``, so the head is usable **without training** (the paper's
baseline), or from a checkpoint: without the file the table starts from zeros (warning) and training
refuses to start unless ``MODEL.WEIGHTS`` filled it. With ``FREQ_TRAINABLE=True`` the table is a
parameter trained by the same per-group losses as ``RelDNHead`` (positives only; no "related"
logit).
"""

from typing import Dict, List, Optional, Union

import torch
from detectron2.config import configurable
from detectron2.layers import ShapeSpec
from detectron2.structures import Instances
from torch import nn

from ag_detectron.errors import ConfigError
from ag_detectron.vocabulary import RELEASE, PredicateVocabulary

from .build import ROI_RELATION_HEAD_REGISTRY
from .common import (
    check_table_for_training,
    initial_frequency_table,
    loss_type_from_config,
    pair_frequency_logits,
    predicate_losses,
    vocabulary_from_config,
)
from .freq_prior import FrequencyBias
from .inference import group_probabilities, split_relations
from .sampling import PairTargets

__all__ = ["FrequencyPriorHead"]


@ROI_RELATION_HEAD_REGISTRY.register()
class FrequencyPriorHead(nn.Module):
    """Relation scores from object-class frequencies only."""

    @configurable
    def __init__(
        self,
        *,
        freq_bias: FrequencyBias,
        vocabulary: PredicateVocabulary = RELEASE,
        loss_type: str = "bce",
        freq_soft: bool = False,
        stats_problem: Optional[str] = None,
    ):
        """
        Args:
            freq_bias: the (C, K) table, learnable or fixed.
            vocabulary: the predicate vocabulary (group widths and kinds).
            loss_type: "bce" or "margin" for the multi-label groups.
            freq_soft: soft form when entities carry ``class_probs``.
            stats_problem: why the table was not read from the stats file (it starts from
                zeros); raised at the first training step unless a checkpoint filled the table.
        """
        super().__init__()
        if freq_bias.table.shape[1] != vocabulary.size:
            raise ConfigError(
                f"FrequencyPriorHead: table has {freq_bias.table.shape[1]} predicate columns, "
                f"the vocabulary {vocabulary.describe()}"
            )
        self.freq_bias = freq_bias
        self.vocabulary = vocabulary
        self.loss_type = loss_type
        self.freq_soft = freq_soft
        self.stats_problem = stats_problem

    @classmethod
    def from_config(cls, cfg, input_shape: Dict[str, ShapeSpec]):
        r = cfg.MODEL.ROI_RELATION_HEAD
        vocab = vocabulary_from_config(cfg)
        table, problem = initial_frequency_table(cfg, vocab, required_for_training=True)
        return {
            "freq_bias": FrequencyBias(table, r.FREQ_TRAINABLE),
            "vocabulary": vocab,
            "loss_type": loss_type_from_config(cfg),
            "freq_soft": r.FREQ_SOFT,
            "stats_problem": problem,
        }

    @property
    def uses_features(self) -> bool:
        """False: predcls skips the backbone for this head."""
        return False

    def init_map(self) -> Dict[str, List[str]]:
        """No branch is initialised from the detector."""
        return {}

    def logits(self, entities: List[Instances], pairs: List[torch.Tensor]) -> torch.Tensor:
        """(sum P_i, K) table logits of each pair's object class (or class distribution)."""
        return pair_frequency_logits(self.freq_bias, entities, pairs, self.freq_soft)

    def forward(
        self,
        features: Dict[str, torch.Tensor],
        entities: List[Instances],
        pairs: List[torch.Tensor],
        targets: Optional[PairTargets] = None,
    ) -> Union[Dict[str, torch.Tensor], List[Instances]]:
        """Same contract as ``RelDNHead.forward``; ``features`` are unused."""
        logits = self.logits(entities, pairs)
        if self.training:
            if targets is None:
                raise ValueError("FrequencyPriorHead: targets are required in training")
            check_table_for_training(self.freq_bias, self.stats_problem)
            return predicate_losses(logits, targets, self.vocabulary, self.loss_type)
        probs = group_probabilities(logits, self.vocabulary)
        return split_relations(pairs, probs, [e.image_size for e in entities], self.vocabulary)
