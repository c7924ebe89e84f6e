"""``VIDEO_BACKBONE_REGISTRY`` and ``build_video_backbone``: nothing else lives here."""

from detectron2.config import CfgNode
from detectron2.utils.registry import Registry
from torch import nn

__all__ = ["VIDEO_BACKBONE_REGISTRY", "build_video_backbone"]

VIDEO_BACKBONE_REGISTRY = Registry("VIDEO_BACKBONE")
VIDEO_BACKBONE_REGISTRY.__doc__ = """Clip backbones, looked up by ``cfg.MODEL.VIDEO.BACKBONE``.

A registered class is called as ``cls(cfg)`` (``@configurable``) and returns an ``nn.Module`` whose
``forward(x)`` takes a normalised float clip ``x`` of shape (B, 3, T, H, W) and returns the pooled
clip feature (B, D): a global average over time and space, so any crop size works. The module
exposes ``output_dim`` (= D) and, for :class:`ag_detectron.checkpoint.VideoCheckpointer`, its
checkpoint layout: ``PYTORCHVIDEO_HEAD_INDEX`` (the head's index in ``pytorchvideo``'s ``Net``;
``self.blocks`` keeps ``Net``'s indices) and ``stem_prefix(pathway)``, ``fusion_prefix(stage)``,
``stage_prefix(stage, pathway)`` (module paths of PySlowFast's ``s1.pathway{p}_stem``,
``s{k}_fuse``, ``s{k}.pathway{p}_*``; ``KeyError`` for what the backbone does not have).
"""


def build_video_backbone(cfg: CfgNode) -> nn.Module:
    """Build the clip backbone named by ``cfg.MODEL.VIDEO.BACKBONE``."""
    return VIDEO_BACKBONE_REGISTRY.get(cfg.MODEL.VIDEO.BACKBONE)(cfg)
