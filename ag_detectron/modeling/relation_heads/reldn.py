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

``SPATIAL_IN_VISUAL`` (False = the RelDN paper's plain sum): the visual MLP also sees an
embedding of the 28-d box feature, ``vis_g(cat(s, u, o, e(spt)))`` with ``e = 28 → H → H``
(LeakyReLU after each layer), so that appearance and geometry can interact inside one MLP. A
sum of per-branch logits cannot represent an interaction such as "looking_at iff the head faces
the side the object is on" (subject appearance × relative position); this is the role of the
union-box masks of Motifs / STTran.
"""

import logging
from typing import Dict, List, Optional, Sequence, Union

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

__all__ = ["RelDNHead", "mlp"]

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
        contrastive: bool = False,
        contrastive_weights: Sequence[float] = (1.0, 0.5, 0.1),
        contrastive_margins: Sequence[float] = (0.2, 0.2, 0.2),
        spatial_in_visual: bool = False,
        spatial_embed_dim: int = 64,
        zero_init_logits: bool = False,
        feature_norm: bool = False,
        freeze_branch_heads: bool = False,
        feature_dropout: float = 0.0,
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
            contrastive / contrastive_weights / contrastive_margins: graphical contrastive losses
                (sgdet training only), λ1..λ3 and α1..α3.
            spatial_in_visual: concatenate an embedding of the 28-d box feature to the visual
                MLP input (needs ``pair_features``).
            spatial_embed_dim: width H of that embedding (28 → H → H).
            zero_init_logits: zero the last layer of every logit branch, so that training starts
                from the frequency prior with no large early gradients into the branch heads.
            feature_norm: LayerNorm (no affine) on the subject / object / union features before
                the logit branches (the box-head features have row norms ~10–20).
            freeze_branch_heads: keep the S/O/union branch heads (copies of the detector's box
                head) fixed; only the logit branches and the frequency table train.
            feature_dropout: dropout probability on the subject / object / union features before
                the logit branches (training only; 0 = none, the RelDN paper).
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
        self.spatial_embed: Optional[nn.Module] = None
        if pair_features is not None:
            d = pair_features.out_dim
            e = 0
            if spatial_in_visual:
                e = spatial_embed_dim
                self.spatial_embed = nn.Sequential(
                    mlp([SPATIAL_FEATURE_DIM, e, e]), nn.LeakyReLU(0.1)
                )
            self.visual = mlp([3 * d + e, 3 * d // 2, d, out])
            self.subject_logits = mlp([d, out])
            self.object_logits = mlp([d, out])
        self.feature_norm = (
            nn.LayerNorm(pair_features.out_dim, elementwise_affine=False)
            if feature_norm and pair_features is not None
            else None
        )
        self.spatial = (
            mlp([SPATIAL_FEATURE_DIM, spatial_hidden_dim, spatial_hidden_dim, out])
            if spatial_hidden_dim is not None
            else None
        )
        if not 0.0 <= feature_dropout < 1.0:
            raise ConfigError(
                f"MODEL.ROI_RELATION_HEAD.RELDN.FEATURE_DROPOUT={feature_dropout}; expected [0, 1)"
            )
        self.feature_dropout = (
            nn.Dropout(feature_dropout)
            if feature_dropout > 0 and pair_features is not None
            else None
        )
        if freeze_branch_heads and pair_features is not None:
            for p in pair_features.parameters():
                p.requires_grad_(False)
        if zero_init_logits:
            for branch in (
                getattr(self, "visual", None),
                getattr(self, "subject_logits", None),
                getattr(self, "object_logits", None),
                self.spatial,
            ):
                if branch is not None:
                    nn.init.zeros_(branch[-1].weight)
        self.freq_bias = freq_bias
        self.stats_problem = stats_problem
        self.num_object_classes = num_object_classes
        self.mode = mode
        self.loss_type = loss_type
        self.related_loss_weight = related_loss_weight
        self.use_related_score = use_related_score
        self.freq_soft = freq_soft
        self.contrastive = contrastive
        self.contrastive_weights = tuple(contrastive_weights)
        self.contrastive_margins = tuple(contrastive_margins)

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
            "contrastive": r.RELDN.CONTRASTIVE_LOSS,
            "contrastive_weights": tuple(r.RELDN.CONTRASTIVE_WEIGHTS),
            "contrastive_margins": tuple(r.RELDN.CONTRASTIVE_MARGINS),
            "spatial_in_visual": r.RELDN.SPATIAL_IN_VISUAL,
            "spatial_embed_dim": r.RELDN.SPATIAL_EMBED_DIM,
            "zero_init_logits": r.RELDN.ZERO_INIT_LOGITS,
            "feature_norm": r.RELDN.FEATURE_NORM,
            "freeze_branch_heads": r.RELDN.FREEZE_BRANCH_HEADS,
            "feature_dropout": r.RELDN.FEATURE_DROPOUT,
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
        if self.spatial is not None or self.spatial_embed is not None:
            subj = torch.cat([e.pred_boxes.tensor[p[:, 0]] for e, p in zip(entities, pairs)])
            obj = torch.cat([e.pred_boxes.tensor[p[:, 1]] for e, p in zip(entities, pairs)])
            sizes = torch.cat(
                [subj.new_tensor(e.image_size).expand(len(p), 2) for e, p in zip(entities, pairs)]
            )
            spt = spatial_features(subj, obj, sizes)  # one call for the batch: per-pair (H, W)
        if self.pair_features is not None:
            s, o, u = self.pair_features(features, [e.pred_boxes for e in entities], pairs)
            if self.feature_norm is not None:
                s, o, u = self.feature_norm(s), self.feature_norm(o), self.feature_norm(u)
            if self.feature_dropout is not None:
                s, o, u = self.feature_dropout(s), self.feature_dropout(o), self.feature_dropout(u)
            vis_in = [s, u, o]
            if self.spatial_embed is not None:
                vis_in.append(self.spatial_embed(spt))
            parts += [
                self.visual(torch.cat(vis_in, dim=1)),
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
        if self.contrastive:
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
                    self.contrastive_margins,
                    self.contrastive_weights,
                )
            )
        return losses
