"""I3D ResNet backbone with optional non-local blocks (the LFB / Action Genome paper backbone)."""

from typing import Any, Dict, Sequence

import torch
from detectron2.config import CfgNode, configurable
from pytorchvideo.models.resnet import create_resnet
from torch import nn

from .build import VIDEO_BACKBONE_REGISTRY
from .nonlocal_block import NonLocalBlock, NonLocalResStage

__all__ = ["I3D"]

# Temporal kernel of conv_a per stage (res2..res5): 3 everywhere in res2, alternating 3/1 in res3
# and res4, 1/3 in res5 (the I3D layout of pytorchvideo's i3d_r50 and PySlowFast's "i3d" arch).
_I3D_CONV_A_KERNELS = (
    (3, 1, 1),
    [(3, 1, 1), (1, 1, 1)],
    [(3, 1, 1), (1, 1, 1)],
    [(1, 1, 1), (3, 1, 1)],
)


@VIDEO_BACKBONE_REGISTRY.register()
class I3D(nn.Module):
    """Inflated 3D ResNet (stem 5x7x7, temporal max-pool 2 after res2) from ``pytorchvideo``'s
    ``create_resnet``, with non-local blocks after chosen residual blocks of chosen stages.

    ``self.blocks`` keeps ``pytorchvideo``'s ``Net`` indices (0 stem, 1 res2, 2 pool, 3 res3,
    4 res4, 5 res5; the head would be 6). res5's output (B, 32 w, T/2, H/32, W/32) is averaged over
    T x H x W -> (B, 32 w) = (B, 2048) for w = 64.
    """

    PYTORCHVIDEO_HEAD_INDEX = 6
    _STAGE_BLOCK_INDEX = {2: 1, 3: 3, 4: 4, 5: 5}

    @configurable
    def __init__(
        self,
        *,
        depth: int = 50,
        stem_width: int = 64,
        nonlocal_location: Sequence[Sequence[int]] = ((), (), (), ()),
        nonlocal_pool: Sequence[int] = (1, 2, 2),
        nonlocal_instantiation: str = "softmax",
    ) -> None:
        """
        Args:
            depth: ResNet depth, 50 or 101.
            stem_width: stem channels (64 standard).
            nonlocal_location: for res2..res5, the indices of the residual blocks followed by a
                non-local block (e.g. LFB's R101: ``[[], [1, 3], [6, 13, 20], []]``).
            nonlocal_pool: max-pool (T, H, W) of the non-local blocks' phi / g inputs.
            nonlocal_instantiation: "softmax" or "dot_product" (:class:`NonLocalBlock`).
        """
        super().__init__()
        if len(nonlocal_location) != 4:
            raise ValueError(
                f"nonlocal_location needs 4 lists (res2..res5), got {len(nonlocal_location)}"
            )
        net = create_resnet(
            model_depth=depth,
            stem_dim_out=stem_width,
            stem_conv_kernel_size=(5, 7, 7),
            stage1_pool=nn.MaxPool3d,
            stage_conv_a_kernel_size=_I3D_CONV_A_KERNELS,
            head=None,
        )
        blocks = list(net.blocks)
        for stage, indices in zip((2, 3, 4, 5), nonlocal_location):
            if not indices:
                continue
            idx = self._STAGE_BLOCK_INDEX[stage]
            dim = stem_width * 4 * 2 ** (stage - 2)
            nl = {
                int(i): NonLocalBlock(
                    dim, pool_size=nonlocal_pool, instantiation=nonlocal_instantiation
                )
                for i in indices
            }
            blocks[idx] = NonLocalResStage(blocks[idx].res_blocks, nl)
        self.blocks = nn.ModuleList(blocks)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.output_dim = stem_width * 32

    @classmethod
    def from_config(cls, cfg: CfgNode) -> Dict[str, Any]:
        v = cfg.MODEL.VIDEO
        return {
            "depth": v.DEPTH,
            "stem_width": v.STEM_WIDTH,
            "nonlocal_location": [list(x) for x in v.NONLOCAL.LOCATION],
            "nonlocal_pool": tuple(v.NONLOCAL.POOL),
            "nonlocal_instantiation": v.NONLOCAL.INSTANTIATION,
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) normalised float -> pooled clip feature (B, output_dim)."""
        for block in self.blocks:
            x = block(x)
        return self.pool(x).flatten(1)

    # Checkpoint layout (used by ag_detectron.checkpoint): where PySlowFast's modules live here.
    def stem_prefix(self, pathway: int) -> str:
        """Module path of the stem (PySlowFast ``s1.pathway0_stem``)."""
        if pathway != 0:
            raise KeyError(f"I3D has a single pathway, got pathway {pathway}")
        return "blocks.0"

    def fusion_prefix(self, stage: int) -> str:
        raise KeyError("I3D has a single pathway and no lateral connections")

    def stage_prefix(self, stage: int, pathway: int) -> str:
        """Module path of residual stage res``stage`` (2..5) (PySlowFast ``s{k}.pathway0_*``)."""
        if pathway != 0 or stage not in self._STAGE_BLOCK_INDEX:
            raise KeyError(f"I3D has one pathway and stages 2..5, got {stage}, {pathway}")
        return f"blocks.{self._STAGE_BLOCK_INDEX[stage]}"
