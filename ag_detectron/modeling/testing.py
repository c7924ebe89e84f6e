"""Tiny, randomly initialised scene-graph configs and hand-made mapper outputs for tests and smoke
runs (CPU, seconds). Not used by the models themselves."""

from typing import Dict, Optional, Sequence

import torch
from detectron2.config import CfgNode, get_cfg
from detectron2.structures import Boxes, Instances

from ag_detectron.config import add_ag_config
from ag_detectron.vocabulary import RELEASE, PredicateVocabulary

__all__ = ["tiny_scene_graph_cfg", "make_relation_input", "default_frame"]


def tiny_scene_graph_cfg(
    mode: str = "predcls", head: str = "RelDNHead", c4: bool = False, freq_file: str = ""
) -> CfgNode:
    """A ResNet-18 FPN (or C4) Faster R-CNN + relation head, random init, BN, 64×96 images, CPU.

    Random init needs trainable BN (``NORM="BN"``, ``FREEZE_AT=0``); FrozenBN diverges.
    """
    cfg = get_cfg()
    add_ag_config(cfg)
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.META_ARCHITECTURE = "SceneGraphRCNN"
    cfg.MODEL.WEIGHTS = ""
    cfg.MODEL.RESNETS.DEPTH = 18
    cfg.MODEL.RESNETS.RES2_OUT_CHANNELS = 64
    cfg.MODEL.RESNETS.NORM = "BN"
    cfg.MODEL.BACKBONE.FREEZE_AT = 0
    cfg.MODEL.ROI_HEADS.NUM_CLASSES = 36
    cfg.MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE = 32
    cfg.MODEL.RPN.POST_NMS_TOPK_TEST = 50
    cfg.MODEL.ROI_HEADS.SCORE_THRESH_TEST = 0.0
    cfg.TEST.DETECTIONS_PER_IMAGE = 20
    if c4:
        cfg.MODEL.BACKBONE.NAME = "build_resnet_backbone"
        cfg.MODEL.RESNETS.OUT_FEATURES = ["res4"]
        cfg.MODEL.RPN.IN_FEATURES = ["res4"]
        cfg.MODEL.ROI_HEADS.NAME = "Res5ROIHeads"
        cfg.MODEL.ROI_HEADS.IN_FEATURES = ["res4"]
        cfg.MODEL.ROI_BOX_HEAD.POOLER_RESOLUTION = 8
        cfg.MODEL.RESNETS.RES5_DILATION = 1
    else:
        cfg.MODEL.BACKBONE.NAME = "build_resnet_fpn_backbone"
        cfg.MODEL.RESNETS.OUT_FEATURES = ["res2", "res3", "res4", "res5"]
        cfg.MODEL.FPN.IN_FEATURES = ["res2", "res3", "res4", "res5"]
        cfg.MODEL.FPN.OUT_CHANNELS = 32
        cfg.MODEL.ANCHOR_GENERATOR.SIZES = [[16], [32], [64], [128], [256]]
        cfg.MODEL.RPN.IN_FEATURES = ["p2", "p3", "p4", "p5", "p6"]
        cfg.MODEL.ROI_HEADS.NAME = "StandardROIHeads"
        cfg.MODEL.ROI_HEADS.IN_FEATURES = ["p2", "p3", "p4", "p5"]
        cfg.MODEL.ROI_BOX_HEAD.NAME = "FastRCNNConvFCHead"
        cfg.MODEL.ROI_BOX_HEAD.NUM_FC = 2
        cfg.MODEL.ROI_BOX_HEAD.FC_DIM = 64
        cfg.MODEL.ROI_BOX_HEAD.POOLER_RESOLUTION = 7
    cfg.INPUT.MIN_SIZE_TEST = 64
    cfg.INPUT.MAX_SIZE_TEST = 96
    cfg.MODEL.ROI_RELATION_HEAD.NAME = head
    cfg.MODEL.ROI_RELATION_HEAD.MODE = mode
    cfg.MODEL.ROI_RELATION_HEAD.ALLOW_RANDOM_DETECTOR = True
    cfg.MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE = freq_file
    return cfg


def make_relation_input(
    boxes: Sequence[Sequence[float]],
    classes: Sequence[int],
    relations: Sequence[Dict[str, Sequence[int]]] = (),
    image_size=(64, 96),
    seed: int = 0,
    original_size: Optional[Sequence[int]] = None,
    vocabulary: PredicateVocabulary = RELEASE,
) -> Dict:
    """One mapper-output dict (design.md) from hand-written boxes and relations.

    Args:
        boxes: (N, 4) XYXY in image coordinates; classes: N category ids.
        relations: ``{"pair": (s, o), "attention": [g], "spatial": [g..], "contacting": [g..]}``
            with ids of ``vocabulary`` (release ids by default).
        original_size: (height, width) for the output rescaling; default ``image_size``.
    """
    g = torch.Generator().manual_seed(seed)
    h, w = image_size
    inst = Instances((h, w))
    inst.gt_boxes = Boxes(torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4))
    inst.gt_classes = torch.tensor(classes, dtype=torch.long)
    rel = Instances((h, w))
    multi_hot = torch.zeros(len(relations), vocabulary.size)
    for i, r in enumerate(relations):
        for key in vocabulary.group_names:
            multi_hot[i, list(r.get(key, []))] = 1.0
    rel.gt_pair_idx = torch.tensor([r["pair"] for r in relations], dtype=torch.long).reshape(-1, 2)
    for group in vocabulary.groups:
        rel.set(group.target_field, multi_hot[:, group.start : group.stop])
    oh, ow = original_size or image_size
    return {
        "image": torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8),
        "instances": inst,
        "relations": rel,
        "height": oh,
        "width": ow,
    }


def default_frame(seed: int = 0, **kwargs) -> Dict:
    """A person and two objects with three relations (test helper)."""
    return make_relation_input(
        [[5, 5, 40, 60], [30, 20, 60, 50], [60, 10, 90, 40]],
        [0, 5, 12],
        [
            {"pair": (0, 1), "attention": [0], "spatial": [3, 5], "contacting": [14]},
            {"pair": (0, 2), "attention": [1], "spatial": [6], "contacting": [17, 21]},
        ],
        seed=seed,
        **kwargs,
    )
