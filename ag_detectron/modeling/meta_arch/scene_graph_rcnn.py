"""``SceneGraphRCNN``: a Detectron2 Faster R-CNN plus a person→object relation head.

Per frame the detector's backbone features are computed once; the *entities* (boxes that enter
the scene graph) depend on ``MODEL.ROI_RELATION_HEAD.MODE``:

* ``predcls``: the ground-truth boxes and classes; scores 1.
* ``sgcls``: the ground-truth boxes; the person box keeps class ``person`` (score 1), every other
  box takes the most probable *object* class (person and background excluded) of the detector's
  box predictor on that box, with that probability as score (``class_probs`` holds the
  distribution for the soft frequency prior).
* ``sgdet``: the detector's detections (its test-time score threshold, NMS and
  ``DETECTIONS_PER_IMAGE``); subjects are the top ``NUM_PERSONS`` person detections, objects all
  non-person detections; output order persons first, then objects.

Pairs are every subject × every object (:mod:`..relation_heads.sampling`); a frame without a
person (ground truth or detected) or without objects has zero pairs and an empty ``relations``.

Training (``relations`` required in every input): in predcls/sgcls entity i *is* GT box i. In
sgdet a detection takes the class and relations of the GT box it overlaps most at IoU ≥
``MATCH_IOU_THRESH`` (a person detection only matches the GT person, object detections only GT
objects); unmatched detections give negative pairs; ``SUPPLY_GT`` appends the unmatched GT boxes
(STTran). At most ``BATCH_SIZE_PER_IMAGE`` pairs per image are kept (positives first). Predicate
losses use positive pairs only.

Freezing: the RPN and the box head/predictor never train here (they run in eval mode without
gradients: no detector losses are computed). ``FREEZE_DETECTOR=True`` (default) also freezes the
backbone, so only the relation head trains; ``False`` fine-tunes the backbone through the
relation losses. sgcls/sgdet refuse a config without ``MODEL.WEIGHTS`` unless
``ALLOW_RANDOM_DETECTOR``. When a checkpoint holds detector weights but no relation-head weights,
the head's S/O/union branches are initialised from the detector's box head (``INIT_FROM_BOX_HEAD``).

Inference output per image (design.md): ``{"instances": Instances(pred_boxes, pred_classes,
scores), "relations": Instances(pair_idx, attention_scores, spatial_scores, contacting_scores)}``
with boxes in the original image size (``height``/``width`` of the input, default the image).
"""

import logging
from typing import Dict, List, Optional, Tuple

import torch
from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY, GeneralizedRCNN
from detectron2.structures import Boxes, ImageList, Instances
from torch import nn

from ag_detectron.errors import ConfigError
from ag_detectron.modes import RelationMode
from ag_detectron.vocabulary import PERSON_CATEGORY_ID

from ..relation_heads.build import build_relation_head
from ..relation_heads.sampling import (
    cat_pair_targets,
    jitter_boxes,
    match_entities_to_gt,
    pair_targets,
    person_object_pairs,
    select_sgdet_entities,
    subsample_pairs,
    unmatched_gt,
)
from .detector_ops import classify_boxes, rescale_instances
from .feature_cache import FeatureCache

__all__ = ["SceneGraphRCNN"]

logger = logging.getLogger(__name__)


@META_ARCH_REGISTRY.register()
class SceneGraphRCNN(GeneralizedRCNN):
    """Faster R-CNN (frozen) + relation head; outputs ``{"instances", "relations"}`` per image."""

    task = "scene_graph"  # the engine's loaders and evaluators (ag_detectron.engine.tasks)

    @configurable
    def __init__(
        self,
        *,
        relation_head: nn.Module,
        mode: RelationMode,
        freeze_detector: bool = True,
        init_from_box_head: bool = True,
        num_persons: int = 1,
        match_iou_thresh: float = 0.5,
        supply_gt: bool = False,
        batch_size_per_image: int = 64,
        positive_fraction: float = 0.5,
        person_class: int = PERSON_CATEGORY_ID,
        feature_cache: Optional[FeatureCache] = None,
        train_box_jitter: float = 0.0,
        **kwargs,
    ):
        """
        Args:
            relation_head: a module from ``ROI_RELATION_HEAD_REGISTRY``.
            mode: predcls / sgcls / sgdet.
            freeze_detector: freeze the backbone too (RPN and box head are always frozen).
            init_from_box_head: initialise the head's branches from the detector's box head when a
                loaded state dict has no relation-head weights.
            num_persons: sgdet subjects per image.
            match_iou_thresh: sgdet training matching IoU.
            supply_gt: sgdet training adds unmatched GT boxes.
            batch_size_per_image / positive_fraction: training pairs per image.
            person_class: category id of ``person``.
            feature_cache: training-time cache of the frozen backbone's features (requires
                ``freeze_detector``); None computes them every time.
            train_box_jitter: predcls/sgcls training: move each GT box edge by N(0, this) × the box
                size before pooling and spatial features (0 = off).
            kwargs: ``GeneralizedRCNN`` arguments (backbone, proposal_generator, roi_heads, ...).
        """
        super().__init__(**kwargs)
        self.relation_head = relation_head
        self.mode = mode
        self.freeze_detector = freeze_detector
        self.init_from_box_head = init_from_box_head
        self.num_persons = num_persons
        self.match_iou_thresh = match_iou_thresh
        self.supply_gt = supply_gt
        self.batch_size_per_image = batch_size_per_image
        self.positive_fraction = positive_fraction
        self.person_class = person_class
        if feature_cache is not None and not freeze_detector:
            raise ConfigError(
                "MODEL.ROI_RELATION_HEAD.FEATURE_CACHE_MB > 0 needs FREEZE_DETECTOR=True "
                "(the cache keeps features of a frozen backbone)"
            )
        self.feature_cache = feature_cache
        if train_box_jitter < 0:
            raise ConfigError(
                f"MODEL.ROI_RELATION_HEAD.TRAIN_BOX_JITTER={train_box_jitter}; expected >= 0"
            )
        self.train_box_jitter = train_box_jitter
        for module in self._frozen_modules():
            for p in module.parameters():
                p.requires_grad_(False)
        self._register_load_state_dict_pre_hook(self._init_head_from_detector)

    @classmethod
    def from_config(cls, cfg):
        r = cfg.MODEL.ROI_RELATION_HEAD
        mode = RelationMode.parse(r.MODE)
        if mode.needs_trained_detector and not cfg.MODEL.WEIGHTS and not r.ALLOW_RANDOM_DETECTOR:
            raise ConfigError(
                f"MODEL.ROI_RELATION_HEAD.MODE={mode.value!r} needs a trained detector in "
                "MODEL.WEIGHTS (train the Faster R-CNN config first); set MODEL.ROI_RELATION_HEAD."
                "ALLOW_RANDOM_DETECTOR=True to allow a random detector (tests only)"
            )
        if (
            not cfg.MODEL.WEIGHTS
            and r.NAME == "RelDNHead"
            and r.RELDN.USE_VISUAL
            and r.FREEZE_DETECTOR
        ):
            logger.warning(
                "MODEL.WEIGHTS is empty: RelDNHead's visual branches pool features of a random, "
                "frozen backbone (train the detector first and point MODEL.WEIGHTS at it)"
            )
        if r.NUM_PERSONS < 1:
            raise ConfigError(f"MODEL.ROI_RELATION_HEAD.NUM_PERSONS={r.NUM_PERSONS}; expected >= 1")
        cache_dtypes = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": None}
        if r.FEATURE_CACHE_DTYPE not in cache_dtypes:
            raise ConfigError(
                f"MODEL.ROI_RELATION_HEAD.FEATURE_CACHE_DTYPE={r.FEATURE_CACHE_DTYPE!r}; "
                f"expected one of {sorted(cache_dtypes)}"
            )
        ret = super().from_config(cfg)
        ret.update(
            relation_head=build_relation_head(cfg, ret["backbone"].output_shape()),
            mode=mode,
            freeze_detector=r.FREEZE_DETECTOR,
            init_from_box_head=r.INIT_FROM_BOX_HEAD,
            num_persons=r.NUM_PERSONS,
            match_iou_thresh=r.MATCH_IOU_THRESH,
            supply_gt=r.SUPPLY_GT,
            batch_size_per_image=r.BATCH_SIZE_PER_IMAGE,
            positive_fraction=r.POSITIVE_FRACTION,
            feature_cache=(
                FeatureCache(int(r.FEATURE_CACHE_MB * 2**20), cache_dtypes[r.FEATURE_CACHE_DTYPE])
                if r.FEATURE_CACHE_MB > 0
                else None
            ),
            train_box_jitter=r.TRAIN_BOX_JITTER,
        )
        return ret

    # ---------------------------------------------------------------- freezing / weights
    def _frozen_modules(self) -> List[nn.Module]:
        modules = [m for m in (self.proposal_generator, self.roi_heads) if m is not None]
        if self.freeze_detector:
            modules.append(self.backbone)
        return modules

    def train(self, mode: bool = True) -> "SceneGraphRCNN":
        """Like ``nn.Module.train`` but frozen detector parts always stay in eval mode."""
        super().train(mode)
        for module in self._frozen_modules():
            module.eval()
        return self

    def _init_head_from_detector(self, state_dict, prefix, *args) -> None:
        """Load-state-dict pre-hook: copy detector box-head weights into the relation head's
        branches when the incoming state dict has the former but none of the latter."""
        init_map = getattr(self.relation_head, "init_map", None)
        if not self.init_from_box_head or init_map is None:
            return
        own = self.state_dict()
        for src, dsts in init_map().items():
            src_keys = [k for k in state_dict if k.startswith(prefix + src)]
            if not src_keys:
                continue
            for dst in dsts:
                dst_full = prefix + "relation_head." + dst
                if any(k.startswith(dst_full) for k in state_dict):
                    continue
                copied = 0
                for k in src_keys:
                    new = dst_full + k[len(prefix + src) :]
                    if new in own and own[new].shape == state_dict[k].shape:
                        state_dict[new] = state_dict[k].clone()
                        copied += 1
                logger.info("Initialised %s from %s (%d tensors)", dst_full, prefix + src, copied)

    # ---------------------------------------------------------------- forward
    def forward(self, batched_inputs: List[Dict]):
        """Training: ``Dict[str, Tensor]`` of ``loss_rel_*``; eval: :meth:`inference`."""
        if not self.training:
            return self.inference(batched_inputs)
        for field in ("instances", "relations"):
            if any(field not in x for x in batched_inputs):
                raise ValueError(
                    f"SceneGraphRCNN training needs {field!r} in every input "
                    "(RelationDatasetMapper output, design.md); the dataset must carry relation "
                    "annotations"
                )
        images = self.preprocess_image(batched_inputs)
        features = self._features(images, [x["image"] for x in batched_inputs])
        gt_instances = [x["instances"].to(self.device) for x in batched_inputs]
        gt_relations = [x["relations"].to(self.device) for x in batched_inputs]
        entities, gt_index = self._entities(images, features, gt_instances, training=True)

        all_pairs, all_targets = [], []
        for ent, gidx, gt, rel in zip(entities, gt_index, gt_instances, gt_relations):
            pairs = self._pairs(ent)
            targets = pair_targets(
                pairs,
                gidx,
                len(gt),
                rel.gt_pair_idx,
                rel.gt_attention,
                rel.gt_spatial,
                rel.gt_contacting,
            )
            keep = subsample_pairs(
                targets.is_positive, self.batch_size_per_image, self.positive_fraction
            )
            all_pairs.append(pairs[keep])
            all_targets.append(targets.index(keep))
        return self.relation_head(features, entities, all_pairs, cat_pair_targets(all_targets))

    def inference(
        self,
        batched_inputs: List[Dict],
        detected_instances: Optional[List[Instances]] = None,
        do_postprocess: bool = True,
    ) -> List[Dict]:
        """Scene graphs of a batch (``detected_instances`` is not supported and must be None)."""
        assert not self.training
        assert detected_instances is None, (
            "SceneGraphRCNN.inference: detected_instances unsupported"
        )
        images = self.preprocess_image(batched_inputs)
        features = self._features(images)
        gt_instances = None
        if self.mode.uses_gt_boxes:
            if any("instances" not in x for x in batched_inputs):
                raise ValueError(
                    f"SceneGraphRCNN in {self.mode.value} mode needs ground-truth 'instances' "
                    "(gt_boxes, gt_classes) in every input at test time"
                )
            gt_instances = [x["instances"].to(self.device) for x in batched_inputs]
        entities, _ = self._entities(images, features, gt_instances, training=False)
        pairs = [self._pairs(e) for e in entities]
        relations = self.relation_head(features, entities, pairs)
        if not do_postprocess:
            return [{"instances": e, "relations": r} for e, r in zip(entities, relations)]
        results = []
        for x, ent, rel, size in zip(batched_inputs, entities, relations, images.image_sizes):
            height, width = x.get("height", size[0]), x.get("width", size[1])
            out = rescale_instances(ent, height, width)
            out.remove("is_subject")
            if out.has("class_probs"):
                out.remove("class_probs")
            rel_out = Instances((height, width), **rel.get_fields())
            results.append({"instances": out, "relations": rel_out})
        return results

    # ---------------------------------------------------------------- helpers
    def _features(
        self, images: ImageList, raw_images: Optional[List[torch.Tensor]] = None
    ) -> Dict[str, torch.Tensor]:
        """Backbone features; skipped (``{}``) in predcls when the head uses no image features.

        ``raw_images`` (the inputs' ``image`` tensors) key the training-time feature cache."""
        if self.mode is RelationMode.PREDCLS and not getattr(
            self.relation_head, "uses_features", True
        ):
            return {}
        if self.training and self.feature_cache is not None:
            return self.feature_cache(images.tensor, self.backbone, raw_images)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_detector):
            return self.backbone(images.tensor)

    def _pairs(self, entities: Instances) -> torch.Tensor:
        is_subject = entities.is_subject
        return person_object_pairs(is_subject, ~is_subject)

    def _entities(
        self,
        images: ImageList,
        features: Dict[str, torch.Tensor],
        gt_instances: Optional[List[Instances]],
        training: bool,
    ) -> Tuple[List[Instances], List[torch.Tensor]]:
        """Entities per image (``pred_boxes``, ``pred_classes``, ``scores``, ``is_subject``,
        optional ``class_probs``) and, in training, each entity's GT index (−1 = unmatched)."""
        if self.mode is RelationMode.SGDET:
            return self._sgdet_entities(images, features, gt_instances, training)
        entities, gt_index = [], []
        probs = None
        if self.mode is RelationMode.SGCLS:
            with torch.no_grad():
                probs = classify_boxes(
                    self.roi_heads, features, [gt.gt_boxes for gt in gt_instances]
                )
        for i, gt in enumerate(gt_instances):
            is_person = gt.gt_classes == self.person_class
            ent = Instances(gt.image_size)
            boxes = gt.gt_boxes.tensor
            if training and self.train_box_jitter > 0:
                boxes = jitter_boxes(boxes, self.train_box_jitter, gt.image_size)
            ent.pred_boxes = Boxes(boxes.clone())
            ent.is_subject = is_person
            if probs is None:
                ent.pred_classes = gt.gt_classes.clone()
                ent.scores = torch.ones(len(gt), device=self.device)
            else:
                ent.pred_classes, ent.scores, ent.class_probs = self._sgcls_labels(
                    probs[i], is_person
                )
            entities.append(ent)
            gt_index.append(torch.arange(len(gt), device=self.device))
        return entities, gt_index

    def _sgcls_labels(self, probs: torch.Tensor, is_person: torch.Tensor):
        """(N, K+1) detector probabilities → classes, scores, (N, K) class distributions."""
        num_classes = probs.shape[1] - 1
        dist = probs[:, :num_classes].clone()
        obj = dist.clone()
        obj[:, self.person_class] = -1.0
        scores, classes = obj.max(dim=1)
        person_dist = torch.zeros_like(dist)
        person_dist[:, self.person_class] = 1.0
        classes = torch.where(is_person, torch.full_like(classes, self.person_class), classes)
        scores = torch.where(is_person, torch.ones_like(scores), scores)
        dist = torch.where(is_person[:, None], person_dist, dist)
        return classes, scores, dist

    def _sgdet_entities(self, images, features, gt_instances, training):
        with torch.no_grad():
            proposals, _ = self.proposal_generator(images, features, None)
            detections, _ = self.roi_heads(images, features, proposals, None)
        entities, gt_index = [], []
        for i, det in enumerate(detections):
            keep = select_sgdet_entities(
                det.pred_classes, det.scores, self.person_class, self.num_persons
            )
            ent = Instances(det.image_size)
            ent.pred_boxes = Boxes(det.pred_boxes.tensor[keep].detach())
            ent.pred_classes = det.pred_classes[keep]
            ent.scores = det.scores[keep]
            ent.is_subject = ent.pred_classes == self.person_class
            if training:
                ent, gidx = self._match_sgdet(ent, gt_instances[i])
                gt_index.append(gidx)
            entities.append(ent)
        return entities, gt_index

    def _match_sgdet(self, ent: Instances, gt: Instances) -> Tuple[Instances, torch.Tensor]:
        """Match detections to GT (a matched detection takes the GT class); SUPPLY_GT adds
        the unmatched GT boxes."""
        gidx = match_entities_to_gt(
            ent.pred_boxes,
            ent.is_subject,
            gt.gt_boxes,
            gt.gt_classes,
            self.person_class,
            self.match_iou_thresh,
        )
        matched = gidx >= 0
        ent.pred_classes = torch.where(matched, gt.gt_classes[gidx.clamp_min(0)], ent.pred_classes)
        if self.supply_gt:
            missing = unmatched_gt(gidx, len(gt))
            if len(missing):
                extra = Instances(ent.image_size)
                extra.pred_boxes = Boxes(gt.gt_boxes.tensor[missing])
                extra.pred_classes = gt.gt_classes[missing]
                extra.scores = torch.ones(len(missing), device=self.device)
                extra.is_subject = extra.pred_classes == self.person_class
                ent = Instances.cat([ent, extra])
                gidx = torch.cat([gidx, missing])
        return ent, gidx
