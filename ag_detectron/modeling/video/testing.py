"""Tiny clip-model configs and hand-made clip-mapper outputs for tests and smoke runs (CPU)."""

from typing import Any, Dict, List, Optional

import torch
from detectron2.config import CfgNode, get_cfg

from ag_detectron.config import add_ag_config

__all__ = ["tiny_clip_cfg", "make_clip_inputs"]


def tiny_clip_cfg(backbone: str = "SlowFast", num_classes: int = 5) -> CfgNode:
    """A ``ClipClassifier`` config with a slim (stem width 16) R50 backbone, no datasets, CPU."""
    cfg = get_cfg()
    add_ag_config(cfg)
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.META_ARCHITECTURE = "ClipClassifier"
    cfg.MODEL.WEIGHTS = ""
    cfg.MODEL.VIDEO.BACKBONE = backbone
    cfg.MODEL.VIDEO.STEM_WIDTH = 16
    cfg.MODEL.VIDEO.NUM_CLASSES = num_classes
    if backbone == "I3D":
        cfg.MODEL.VIDEO.NONLOCAL.LOCATION = [[], [1], [1], []]
    cfg.DATASETS.TRAIN = ()
    cfg.DATASETS.TEST = ()
    return cfg


def make_clip_inputs(
    batch: int, num_classes: int, t: int = 8, size: int = 32, seed: Optional[int] = 0
) -> List[Dict[str, Any]]:
    """``batch`` dicts as the clip mapper produces them: uint8 (3, T, H, W) clips, multi-hot
    labels."""
    g = torch.Generator().manual_seed(seed if seed is not None else 0)
    out = []
    for i in range(batch):
        labels = torch.zeros(num_classes)
        labels[i % num_classes] = 1.0
        clip = torch.randint(0, 256, (3, t, size, size), generator=g, dtype=torch.uint8)
        out.append({"clip": clip, "labels": labels, "video_id": f"V{i:04d}"})
    return out
