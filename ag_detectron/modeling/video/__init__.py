"""Clip backbones for video models (registry, SlowFast, I3D with non-local blocks)."""

from .build import VIDEO_BACKBONE_REGISTRY, build_video_backbone  # isort:skip

from .nonlocal_block import NonLocalBlock, NonLocalResStage
from .resnet3d import I3D  # registration
from .slowfast import SlowFast  # registration

__all__ = [
    "VIDEO_BACKBONE_REGISTRY",
    "build_video_backbone",
    "NonLocalBlock",
    "NonLocalResStage",
    "SlowFast",
    "I3D",
]
