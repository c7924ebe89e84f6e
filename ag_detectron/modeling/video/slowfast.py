"""SlowFast backbone (Feichtenhofer et al., ICCV 2019) built with ``pytorchvideo.models``."""

from typing import Any, Dict, List

import torch
from detectron2.config import CfgNode, configurable
from pytorchvideo.models.slowfast import create_slowfast
from torch import nn

from .build import VIDEO_BACKBONE_REGISTRY

__all__ = ["SlowFast"]


@VIDEO_BACKBONE_REGISTRY.register()
class SlowFast(nn.Module):
    """Two-pathway SlowFast ResNet; returns the concatenated pooled features of both pathways.

    The input is one clip tensor (B, 3, T, H, W) at the fast pathway's frame rate; the slow pathway
    is built from it here (every ``alpha``-th frame: 0, alpha, 2 alpha, ...). The stem and the four
    residual stages are ``pytorchvideo``'s (``create_slowfast`` without its head), kept in
    ``self.blocks`` under the same indices as in ``pytorchvideo``'s ``Net`` so its checkpoints load
    by name. Each pathway's res5 output is averaged over T x H x W, so any crop size works:

        slow (B, 32 w, T/alpha, H/32, W/32) -> (B, 32 w)
        fast (B, 32 w / beta_inv, T, H/32, W/32) -> (B, 32 w / beta_inv)
        output (B, 32 w (1 + 1 / beta_inv)) = (B, 2304) for R50/R101 (w = 64, beta_inv = 8)

    where ``w`` is the slow stem width.
    """

    #: pytorchvideo ``Net`` block index of the classification head (after PoolConcatPathway).
    PYTORCHVIDEO_HEAD_INDEX = 6

    @configurable
    def __init__(
        self,
        *,
        depth: int = 50,
        stem_width: int = 64,
        alpha: int = 4,
        beta_inv: int = 8,
        fusion_conv_channel_ratio: int = 2,
        fusion_kernel_size: int = 7,
    ) -> None:
        """
        Args:
            depth: ResNet depth, 50 or 101 (pytorchvideo also has 152).
            stem_width: slow-pathway stem channels (64 in the paper; smaller = a slim model).
            alpha: frame-rate ratio of the fast to the slow pathway.
            beta_inv: channel ratio of the slow to the fast pathway (1 / beta).
            fusion_conv_channel_ratio: output channels of the fast-to-slow lateral convolution
                relative to its input.
            fusion_kernel_size: temporal kernel of the lateral convolution (its stride is alpha).
        """
        super().__init__()
        if stem_width % beta_inv:
            raise ValueError(f"stem_width {stem_width} must be divisible by beta_inv {beta_inv}")
        net = create_slowfast(
            model_depth=depth,
            stem_dim_outs=(stem_width, stem_width // beta_inv),
            slowfast_channel_reduction_ratio=(beta_inv,),
            slowfast_conv_channel_fusion_ratio=fusion_conv_channel_ratio,
            slowfast_fusion_conv_kernel_size=(fusion_kernel_size, 1, 1),
            slowfast_fusion_conv_stride=(alpha, 1, 1),
            head=None,
            head_pool=None,
        )
        self.blocks = nn.ModuleList(list(net.blocks)[:5])  # stem, res2..res5 (with fusions)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.alpha = alpha
        self.output_dim = stem_width * 32 + stem_width * 32 // beta_inv

    @classmethod
    def from_config(cls, cfg: CfgNode) -> Dict[str, Any]:
        v = cfg.MODEL.VIDEO
        return {
            "depth": v.DEPTH,
            "stem_width": v.STEM_WIDTH,
            "alpha": v.SLOWFAST.ALPHA,
            "beta_inv": v.SLOWFAST.BETA_INV,
            "fusion_conv_channel_ratio": v.SLOWFAST.FUSION_CONV_CHANNEL_RATIO,
            "fusion_kernel_size": v.SLOWFAST.FUSION_KERNEL_SIZE,
        }

    def pathways(self, x: torch.Tensor) -> List[torch.Tensor]:
        """(B, 3, T, H, W) -> [slow (B, 3, ceil(T / alpha), H, W), fast (B, 3, T, H, W)]."""
        return [x[:, :, :: self.alpha], x]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) normalised float -> pooled clip feature (B, output_dim)."""
        xs = self.pathways(x)
        for block in self.blocks:
            xs = block(xs)
        return torch.cat([self.pool(p).flatten(1) for p in xs], dim=1)

    # Checkpoint layout (used by ag_detectron.checkpoint): where PySlowFast's modules live here.
    def stem_prefix(self, pathway: int) -> str:
        """Module path of a pathway's stem (PySlowFast ``s1.pathway{p}_stem``)."""
        if pathway not in (0, 1):
            raise KeyError(f"SlowFast has pathways 0 and 1, got {pathway}")
        return f"blocks.0.multipathway_blocks.{pathway}"

    def fusion_prefix(self, stage: int) -> str:
        """Module path of the lateral connection after stage ``stage`` (PySlowFast
        ``s{k}_fuse``)."""
        if stage not in (1, 2, 3, 4):
            raise KeyError(f"SlowFast has lateral connections after stages 1..4, got {stage}")
        return f"blocks.{stage - 1}.multipathway_fusion"

    def stage_prefix(self, stage: int, pathway: int) -> str:
        """Module path of residual stage res``stage`` (2..5) of a pathway (PySlowFast ``s{k}``)."""
        if stage not in (2, 3, 4, 5) or pathway not in (0, 1):
            raise KeyError(f"SlowFast has stages 2..5 and pathways 0, 1; got {stage}, {pathway}")
        return f"blocks.{stage - 1}.multipathway_blocks.{pathway}"
