"""The non-local block (Wang et al., CVPR 2018) and a ResNet stage that interleaves such blocks.

``pytorchvideo.models`` 0.1.5 has no non-local block, so it is written here, in the
embedded-Gaussian ("softmax") form used by the I3D-NL backbones of the non-local and the
long-term-feature-bank papers.
"""

from typing import Dict, Sequence

import torch
from torch import nn

__all__ = ["NonLocalBlock", "NonLocalResStage"]


class NonLocalBlock(nn.Module):
    """Residual non-local block over all positions of a (B, C, T, H, W) feature map.

    ::

        x ──┬── theta (1x1x1, C -> C/2) ─────────────┐
            ├── pool ── phi (1x1x1, C -> C/2) ── softmax(theta·phi / sqrt(C/2)) ── · g
            └── pool ── g   (1x1x1, C -> C/2) ───────────────────────────────────┘
                     └── out (1x1x1, C/2 -> C) ── norm (BatchNorm3d) ── + x

    The output norm's scale starts at zero, so a freshly built block is the identity and can be
    inserted into a pretrained network without changing its output. Sub-module names
    (``conv_theta``, ``conv_phi``, ``conv_g``, ``conv_out``, ``norm``) are PySlowFast's.
    """

    def __init__(
        self,
        dim: int,
        *,
        dim_inner: int = 0,
        pool_size: Sequence[int] = (1, 2, 2),
        instantiation: str = "softmax",
        norm_eps: float = 1e-5,
        norm_momentum: float = 0.1,
    ) -> None:
        """
        Args:
            dim: channels C of the input and output.
            dim_inner: channels of the embedding; 0 = C // 2.
            pool_size: max-pool kernel (= stride) applied to the phi / g inputs (T, H, W); all 1 =
                no pooling.
            instantiation: "softmax" (scaled dot product then softmax) or "dot_product" (divided by
                the number of pooled positions).
        """
        super().__init__()
        if instantiation not in ("softmax", "dot_product"):
            raise ValueError(
                f"instantiation must be 'softmax' or 'dot_product', got {instantiation!r}"
            )
        self.dim_inner = dim_inner or dim // 2
        self.instantiation = instantiation
        self.conv_theta = nn.Conv3d(dim, self.dim_inner, kernel_size=1)
        self.conv_phi = nn.Conv3d(dim, self.dim_inner, kernel_size=1)
        self.conv_g = nn.Conv3d(dim, self.dim_inner, kernel_size=1)
        self.conv_out = nn.Conv3d(self.dim_inner, dim, kernel_size=1)
        self.norm = nn.BatchNorm3d(dim, eps=norm_eps, momentum=norm_momentum)
        pool_size = tuple(int(p) for p in pool_size)
        self.pool = nn.MaxPool3d(pool_size, stride=pool_size) if max(pool_size) > 1 else None
        for conv in (self.conv_theta, self.conv_phi, self.conv_g, self.conv_out):
            nn.init.normal_(conv.weight, std=0.01)
            nn.init.zeros_(conv.bias)
        nn.init.zeros_(self.norm.weight)  # identity at initialisation
        nn.init.zeros_(self.norm.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) -> (B, C, T, H, W)."""
        b, _, t, h, w = x.shape
        theta = self.conv_theta(x).flatten(2)  # (B, C', THW)
        pooled = self.pool(x) if self.pool is not None else x
        phi = self.conv_phi(pooled).flatten(2)  # (B, C', P)
        g = self.conv_g(pooled).flatten(2)  # (B, C', P)
        affinity = torch.einsum("bcq,bcp->bqp", theta, phi)  # (B, THW, P)
        if self.instantiation == "softmax":
            affinity = (affinity * self.dim_inner**-0.5).softmax(dim=-1)
        else:
            affinity = affinity / affinity.shape[-1]
        y = torch.einsum("bqp,bcp->bcq", affinity, g).reshape(b, self.dim_inner, t, h, w)
        return x + self.norm(self.conv_out(y))


class NonLocalResStage(nn.Module):
    """A ``pytorchvideo`` ResStage with non-local blocks after some of its residual blocks.

    Keeps the stage's ``res_blocks`` list (so its parameter names are unchanged) and adds
    ``nonlocal_blocks[str(i)]`` after residual block ``i``.
    """

    def __init__(self, res_blocks: nn.ModuleList, nonlocal_blocks: Dict[int, nn.Module]) -> None:
        super().__init__()
        bad = [i for i in nonlocal_blocks if not 0 <= i < len(res_blocks)]
        if bad:
            raise ValueError(
                f"non-local block indices {bad} outside the stage's {len(res_blocks)} residual "
                "blocks"
            )
        self.res_blocks = res_blocks
        ordered = sorted(nonlocal_blocks.items())
        self.nonlocal_blocks = nn.ModuleDict({str(i): m for i, m in ordered})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, T, H, W) -> (B, C_out, T', H', W')."""
        for i, block in enumerate(self.res_blocks):
            x = block(x)
            nl = self.nonlocal_blocks[str(i)] if str(i) in self.nonlocal_blocks else None
            if nl is not None:
                x = nl(x)
        return x
