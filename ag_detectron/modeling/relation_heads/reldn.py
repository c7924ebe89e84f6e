"""``RelDNHead``: RelDN's relation predictor adapted to Action Genome (docs/model.md).

For every (person, object) pair and predicate group g of the vocabulary (release: attention 3,
spatial 6, contacting 17; paper: contacting 16)::

    logits_g = vis_g(cat(s, u, o)) + sbj_g(s) + obj_g(o) + spt_g(28-d box feature) + freq_g[c_o]

``s``, ``o``, ``u`` are the subject, object and union-box features of
:class:`~.pair_features.PairFeatureExtractor` (trainable copies of the detector's box head over
the detector's feature maps); ``vis`` is an MLP ``3D → 3D/2 → D → K+1``, ``sbj``/``obj`` are
linear ``D → K+1``, ``spt`` is ``28 → H → H → K+1`` (LeakyReLU 0.1 between layers, Xavier
init, zero bias), ``freq`` is :class:`~.freq_prior.FrequencyBias` indexed by the object class
(soft form ``dist @ table`` with ``FREQ_SOFT`` when class distributions are available). The
extra (K+1)-th output is the binary "related" logit (sum of the non-frequency branches), trained
in sgdet only (``loss_rel_related``) and used by the contrastive losses. ``USE_VISUAL`` /
``USE_SPATIAL`` / ``USE_FREQ`` switch branches off for ablations.

Contrastive losses are grouped in :class:`ContrastiveLossOptions` (None = off). Options that
were measured without a gain and never set by a config (a spatial embedding inside the visual MLP,
zero-initialised logit layers, feature LayerNorm, frozen branch heads, feature dropout) were
removed; docs/model.md keeps their measurements.
"""

import logging
from typing import Dict, List, NamedTuple, Optional, Sequence, Union

import torch
from detectron2.config import configurable
from detectron2.layers import ShapeSpec
from detectron2.structures import Instances
from torch import nn

from ag_detectron.errors import ConfigError
from ag_detectron.modes import RelationMode
from ag_detectron.vocabulary import RELEASE, PredicateVocabulary

from .build import ROI_RELATION_HEAD_REGISTRY
from .common import (
    check_table_for_training,
    initial_frequency_table,
    loss_type_from_config,
    pair_frequency_logits,
    predicate_losses,
    predicate_probabilities,
    vocabulary_from_config,
)
from .freq_prior import FrequencyBias
from .inference import group_probabilities, split_relations
from .losses import graphical_contrastive_losses, related_loss
from .pair_features import PairFeatureExtractor, Res5BranchHead
from .sampling import PairTargets
from .spatial_features import SPATIAL_FEATURE_DIM, spatial_features

__all__ = ["RelDNHead", "ContrastiveLossOptions", "mlp"]

logger = logging.getLogger(__name__)


def mlp(dims: Sequence[int], negative_slope: float = 0.1) -> nn.Sequential:
    """Linear layers ``dims[0] → … → dims[-1]`` with LeakyReLU between, Xavier init, zero bias."""
    layers: List[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        lin = nn.Linear(a, b)
        nn.init.xavier_uniform_(lin.weight)
        nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i < len(dims) - 2:
            layers.append(nn.LeakyReLU(negative_slope))
    return nn.Sequential(*layers)


class ContrastiveLossOptions(NamedTuple):
    """RelDN's graphical contrastive losses (sgdet training): weights λ1..λ3 and margins α1..α3
    of the entity, class and predicate terms."""

    weights: Sequence[float] = (1.0, 0.5, 0.1)
    margins: Sequence[float] = (0.2, 0.2, 0.2)


@ROI_RELATION_HEAD_REGISTRY.register()
class RelDNHead(nn.Module):
    """Visual + spatial + frequency relation predictor with per-group losses."""

    @configurable
    def __init__(
        self,
        *,
        pair_features: Optional[PairFeatureExtractor],
        spatial_hidden_dim: Optional[int],
        freq_bias: Optional[FrequencyBias],
        vocabulary: PredicateVocabulary = RELEASE,
        num_object_classes: int = 36,
        mode: RelationMode = RelationMode.PREDCLS,
        loss_type: str = "bce",
        related_loss_weight: float = 1.0,
        use_related_score: bool = False,
        freq_soft: bool = False,
        contrastive: Optional[ContrastiveLossOptions] = None,
        stats_problem: Optional[str] = None,
    ):
        """
        Args:
            pair_features: S/O/union feature extractor; None disables the visual branches.
            spatial_hidden_dim: width of the spatial MLP; None disables the spatial branch.
            freq_bias: frequency table; None disables the frequency branch.
            vocabulary: the predicate vocabulary (group widths and kinds).
            num_object_classes: C, including person.
            mode: the task mode (losses on negatives only in sgdet).
            loss_type: "bce" or "margin" for the multi-label groups.
            related_loss_weight: weight of ``loss_rel_related`` (sgdet training).
            use_related_score: multiply sigmoid(related) into the probabilities at inference.
            freq_soft: use ``class_probs`` of entities with the soft frequency form when present.
            contrastive: graphical contrastive losses (sgdet training only); None = off.
            stats_problem: why the frequency table was not read from a named stats file; raised
                at the first training step unless a checkpoint filled the table.
        """
        super().__init__()
        if pair_features is None and spatial_hidden_dim is None and freq_bias is None:
            raise ConfigError("RelDNHead: USE_VISUAL, USE_SPATIAL and USE_FREQ are all False")
        self.vocabulary = vocabulary
        self.num_predicates = vocabulary.size
        out = self.num_predicates + 1  # + "related"
        self.pair_features = pair_features
        if pair_features is not None:
            d = pair_features.out_dim
            self.visual = mlp([3 * d, 3 * d // 2, d, out])
            self.subject_logits = mlp([d, out])
            self.object_logits = mlp([d, out])
        self.spatial = (
            mlp([SPATIAL_FEATURE_DIM, spatial_hidden_dim, spatial_hidden_dim, out])
            if spatial_hidden_dim is not None
            else None
        )
        self.freq_bias = freq_bias
        self.stats_problem = stats_problem
        self.num_object_classes = num_object_classes
        self.mode = mode
        self.loss_type = loss_type
        self.related_loss_weight = related_loss_weight
        self.use_related_score = use_related_score
        self.freq_soft = freq_soft
        self.contrastive = contrastive

    @classmethod
    def from_config(cls, cfg, input_shape: Dict[str, ShapeSpec]):
        r = cfg.MODEL.ROI_RELATION_HEAD
        vocab = vocabulary_from_config(cfg)
        freq_bias, problem = None, None
        if r.RELDN.USE_FREQ:
            table, problem = initial_frequency_table(cfg, vocab, required_for_training=False)
            freq_bias = FrequencyBias(table, r.FREQ_TRAINABLE)
        return {
            "pair_features": (
                PairFeatureExtractor.from_config(cfg, input_shape) if r.RELDN.USE_VISUAL else None
            ),
            "spatial_hidden_dim": r.RELDN.SPATIAL_HIDDEN_DIM if r.RELDN.USE_SPATIAL else None,
            "freq_bias": freq_bias,
            "stats_problem": problem,
            "vocabulary": vocab,
            "num_object_classes": cfg.MODEL.ROI_HEADS.NUM_CLASSES,
            "mode": RelationMode.parse(r.MODE),
            "loss_type": loss_type_from_config(cfg),
            "related_loss_weight": r.RELATED_LOSS_WEIGHT,
            "use_related_score": r.USE_RELATED_SCORE,
            "freq_soft": r.FREQ_SOFT,
            "contrastive": (
                ContrastiveLossOptions(
                    tuple(r.RELDN.CONTRASTIVE_WEIGHTS), tuple(r.RELDN.CONTRASTIVE_MARGINS)
                )
                if r.RELDN.CONTRASTIVE_LOSS
                else None
            ),
        }

    @property
    def uses_features(self) -> bool:
        """Whether the head pools image features (False with ``USE_VISUAL=False``)."""
        return self.pair_features is not None

    def init_map(self) -> Dict[str, List[str]]:
        """``{detector prefix: [relation-head prefixes]}``: initialise the branch heads from the
        detector's box head (used by ``SceneGraphRCNN`` when loading a detector-only checkpoint)."""
        if self.pair_features is None:
            return {}
        if isinstance(self.pair_features.subject_head, Res5BranchHead):
            src, suffix = "roi_heads.res5.", "res5."
        else:
            src, suffix = "roi_heads.box_head.", ""
        return {src: [f"pair_features.{n}_head.{suffix}" for n in ("subject", "object", "union")]}

    def logits(
        self,
        features: Dict[str, torch.Tensor],
        entities: List[Instances],
        pairs: List[torch.Tensor],
    ) -> torch.Tensor:
        """(sum P_i, K + 1) logits: K predicates (group-major) then "related"."""
        parts = []
        spt = None
        if self.spatial is not None:
            subj = torch.cat([e.pred_boxes.tensor[p[:, 0]] for e, p in zip(entities, pairs)])
            obj = torch.cat([e.pred_boxes.tensor[p[:, 1]] for e, p in zip(entities, pairs)])
            sizes = torch.cat(
                [subj.new_tensor(e.image_size).expand(len(p), 2) for e, p in zip(entities, pairs)]
            )
            spt = spatial_features(subj, obj, sizes)  # one call for the batch: per-pair (H, W)
        if self.pair_features is not None:
            s, o, u = self.pair_features(features, [e.pred_boxes for e in entities], pairs)
            parts += [
                self.visual(torch.cat([s, u, o], dim=1)),
                self.subject_logits(s),
                self.object_logits(o),
            ]
        if self.spatial is not None:
            parts.append(self.spatial(spt))
        if self.freq_bias is not None:
            freq = pair_frequency_logits(self.freq_bias, entities, pairs, self.freq_soft)
            parts.append(torch.cat([freq, freq.new_zeros(len(freq), 1)], dim=1))
        total = parts[0]
        for p in parts[1:]:
            total = total + p
        return total

    def forward(
        self,
        features: Dict[str, torch.Tensor],
        entities: List[Instances],
        pairs: List[torch.Tensor],
        targets: Optional[PairTargets] = None,
    ) -> Union[Dict[str, torch.Tensor], List[Instances]]:
        """
        Args:
            features: detector feature maps by name.
            entities: per image, ``Instances`` with ``pred_boxes`` (N_i) and ``pred_classes``.
            pairs: per image, (P_i, 2) long indices into ``entities[i]``.
            targets: training only, targets of the concatenated pairs.

        Returns:
            Training: loss dict. Inference: per image ``Instances(pair_idx, attention_scores,
            spatial_scores, contacting_scores)``.
        """
        logits = self.logits(features, entities, pairs)
        pred_logits, related = logits[:, :-1], logits[:, -1]
        if self.training:
            if targets is None:
                raise ValueError("RelDNHead: targets are required in training")
            if self.freq_bias is not None:
                check_table_for_training(self.freq_bias, self.stats_problem)
            return self.losses(pred_logits, related, targets, entities, pairs)
        probs = group_probabilities(
            pred_logits, self.vocabulary, related if self.use_related_score else None
        )
        return split_relations(pairs, probs, [e.image_size for e in entities], self.vocabulary)

    def losses(
        self,
        pred_logits: torch.Tensor,
        related: torch.Tensor,
        targets: PairTargets,
        entities: List[Instances],
        pairs: List[torch.Tensor],
    ) -> Dict[str, torch.Tensor]:
        """Predicate losses on positives; sgdet adds ``loss_rel_related`` (+ contrastive)."""
        losses = predicate_losses(pred_logits, targets, self.vocabulary, self.loss_type)
        if self.mode is not RelationMode.SGDET:
            # Keep the "related" output in the graph (zero) so every parameter receives a gradient.
            first = f"loss_rel_{self.vocabulary.groups[0].name}"
            losses[first] = losses[first] + related.sum() * 0.0
            return losses
        losses["loss_rel_related"] = self.related_loss_weight * related_loss(
            related, targets.is_positive
        )
        if self.contrastive is not None:
            offsets = torch.cumsum(torch.tensor([0] + [len(e) for e in entities[:-1]]), 0).tolist()
            global_pairs = torch.cat([p + off for p, off in zip(pairs, offsets)], dim=0)
            classes = torch.cat([e.pred_classes for e in entities], dim=0)
            multi_hot = torch.cat([targets.group(g) for g in self.vocabulary.group_names], dim=1)
            losses.update(
                graphical_contrastive_losses(
                    global_pairs,
                    classes,
                    related,
                    predicate_probabilities(pred_logits, self.vocabulary),
                    targets.is_positive,
                    multi_hot,
                    self.num_object_classes,
                    self.contrastive.margins,
                    self.contrastive.weights,
                )
            )
        return losses
