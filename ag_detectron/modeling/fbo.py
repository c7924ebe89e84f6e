"""Feature-bank operators (FBOs): combine a clip feature with a window of bank entries.

``FBO_REGISTRY`` holds :class:`AvgFBO`, :class:`MaxFBO` and :class:`NonLocalFBO` (LFB's non-local
operator), selected in configs by the short names ``avg``, ``max``, ``nl`` (or a registered class
name). Every FBO is called as ``fbo(clip, bank, mask)``::

    clip  (B, Ds)      the short-term clip feature S
    bank  (B, W, Db)   a padded window of bank entries (feature_bank.FeatureBank.windows)
    mask  (B, W) bool  True for real entries, False for padding
    ->    (B, fbo.output_dim)

and the classifier reads ``concat(S, FBO(S, bank))``. Padding never influences the output. A
window without any real entry gives zeros (``avg`` / ``max``) or the identity path (``nl``).

``nl`` (two stacked blocks by default, as LFB on Charades)::

    A = Dropout(Linear(S -> d))               (B, d)
    E = Dropout(Linear(bank -> d))            (B, W, d)
    per block:  att = softmax(theta(A) . phi(E)^T / sqrt(d))  over the real entries  (B, W)
                Z   = Dropout(LayerNorm(W_out(att @ g(E))))                         (B, d)
                A   = ReLU(A + Z)
    -> A (B, d)

theta, phi, g are initialised N(0, 0.01) with zero bias and ``W_out`` is all zero, so at
initialisation Z = 0 and the operator returns ReLU(A): the identity path of the clip feature.
"""

from __future__ import annotations

import math

import torch
from detectron2.config import configurable
from detectron2.utils.registry import Registry
from torch import nn

from ag_detectron.errors import ConfigError

__all__ = [
    "FBO_REGISTRY",
    "FBO_SHORT_NAMES",
    "build_fbo",
    "AvgFBO",
    "MaxFBO",
    "NonLocalFBO",
    "NonLocalBlock",
]

FBO_SHORT_NAMES = {"avg": "AvgFBO", "max": "MaxFBO", "nl": "NonLocalFBO"}

FBO_REGISTRY = Registry("FBO")
FBO_REGISTRY.__doc__ = """
Registry for feature-bank operators, looked up by ``cfg.MODEL.SGFB.FBO.NAME`` (a short name of
``FBO_SHORT_NAMES`` or a registered class name).

The registered class is built as ``obj(cfg, clip_dim=Ds, bank_dim=Db)`` (``@configurable``) or
with keyword arguments. It must be an ``nn.Module`` with an ``output_dim`` attribute whose
``forward(clip (B, Ds), bank (B, W, Db), mask (B, W) bool)`` returns ``(B, output_dim)``.
"""


def _check(clip: torch.Tensor, bank: torch.Tensor, mask: torch.Tensor) -> None:
    if bank.ndim != 3 or mask.shape != bank.shape[:2] or clip.shape[0] != bank.shape[0]:
        raise ValueError(
            f"FBO inputs clip {tuple(clip.shape)}, bank {tuple(bank.shape)}, mask "
            f"{tuple(mask.shape)}; expected (B, Ds), (B, W, Db), (B, W)"
        )


@FBO_REGISTRY.register()
class AvgFBO(nn.Module):
    """Mean of the real entries of the window: ``(B, W, Db) -> (B, Db)`` (zeros when none).

    ``include_padding=True`` divides by W instead (average pooling over the zero-padded window).
    """

    @configurable
    def __init__(self, *, bank_dim: int, include_padding: bool = False) -> None:
        super().__init__()
        self.output_dim = bank_dim
        self.include_padding = include_padding

    @classmethod
    def from_config(cls, cfg, clip_dim: int, bank_dim: int):
        return {"bank_dim": bank_dim, "include_padding": cfg.MODEL.SGFB.FBO.AVG_INCLUDE_PADDING}

    def forward(self, clip: torch.Tensor, bank: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        _check(clip, bank, mask)
        m = mask.to(bank.dtype).unsqueeze(-1)
        total = (bank * m).sum(dim=1)
        if self.include_padding:
            return total / bank.shape[1]
        return total / m.sum(dim=1).clamp(min=1.0)


@FBO_REGISTRY.register()
class MaxFBO(nn.Module):
    """Element-wise max over the real entries of the window: ``(B, W, Db) -> (B, Db)`` (zeros when
    the window has no real entry)."""

    @configurable
    def __init__(self, *, bank_dim: int) -> None:
        super().__init__()
        self.output_dim = bank_dim

    @classmethod
    def from_config(cls, cfg, clip_dim: int, bank_dim: int):
        return {"bank_dim": bank_dim}

    def forward(self, clip: torch.Tensor, bank: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        _check(clip, bank, mask)
        filled = bank.masked_fill(~mask.unsqueeze(-1), float("-inf"))
        out = filled.amax(dim=1)
        return torch.where(mask.any(dim=1, keepdim=True), out, torch.zeros_like(out))


class NonLocalBlock(nn.Module):
    """One LFB non-local block: the clip state ``A (B, d)`` attends over the projected entries
    ``E (B, W, d)`` (module docstring); ``W_out`` starts at zero."""

    def __init__(self, dim: int, dropout: float = 0.2, layer_norm: bool = True) -> None:
        super().__init__()
        self.theta = nn.Linear(dim, dim)
        self.phi = nn.Linear(dim, dim)
        self.g = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)
        self.norm = nn.LayerNorm(dim) if layer_norm else nn.Identity()
        self.dropout = nn.Dropout(dropout)
        self.scale = 1.0 / math.sqrt(dim)
        for layer in (self.theta, self.phi, self.g):
            nn.init.normal_(layer.weight, std=0.01)
            nn.init.zeros_(layer.bias)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, a: torch.Tensor, e: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """a: (B, d), e: (B, W, d), mask: (B, W) bool -> (B, d)."""
        logits = torch.einsum("bd,bwd->bw", self.theta(a), self.phi(e)) * self.scale
        logits = logits.masked_fill(~mask, float("-inf"))
        att = torch.softmax(logits, dim=1)
        att = torch.where(mask.any(dim=1, keepdim=True), att, torch.zeros_like(att))
        z = self.out(torch.einsum("bw,bwd->bd", att, self.g(e)))
        z = self.dropout(self.norm(z))
        return torch.relu(a + z)


@FBO_REGISTRY.register()
class NonLocalFBO(nn.Module):
    """LFB's non-local FBO: ``num_layers`` stacked :class:`NonLocalBlock` s of width ``dim``
    (LFB Charades: 2 blocks, 512-d, dropout 0.2, layer norm). Output ``(B, dim)``."""

    @configurable
    def __init__(
        self,
        *,
        clip_dim: int,
        bank_dim: int,
        dim: int = 512,
        num_layers: int = 2,
        dropout: float = 0.2,
        layer_norm: bool = True,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ConfigError(f"MODEL.SGFB.FBO.NL_LAYERS={num_layers}; expected >= 1")
        self.output_dim = dim
        self.clip_proj = nn.Linear(clip_dim, dim)
        self.bank_proj = nn.Linear(bank_dim, dim)
        for layer in (self.clip_proj, self.bank_proj):
            nn.init.normal_(layer.weight, std=0.01)
            nn.init.zeros_(layer.bias)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            NonLocalBlock(dim, dropout, layer_norm) for _ in range(num_layers)
        )

    @classmethod
    def from_config(cls, cfg, clip_dim: int, bank_dim: int):
        f = cfg.MODEL.SGFB.FBO
        return {
            "clip_dim": clip_dim,
            "bank_dim": bank_dim,
            "dim": f.NL_DIM,
            "num_layers": f.NL_LAYERS,
            "dropout": f.NL_DROPOUT,
            "layer_norm": f.NL_LAYER_NORM,
        }

    def forward(self, clip: torch.Tensor, bank: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        _check(clip, bank, mask)
        a = self.dropout(self.clip_proj(clip))
        e = self.dropout(self.bank_proj(bank))
        for block in self.blocks:
            a = block(a, e, mask)
        return a


def build_fbo(cfg, clip_dim: int, bank_dim: int) -> nn.Module:
    """Build the FBO named by ``cfg.MODEL.SGFB.FBO.NAME`` for a clip feature of width
    ``clip_dim`` and bank entries of width ``bank_dim``.

    Raises:
        ConfigError: the name is not registered.
    """
    name = cfg.MODEL.SGFB.FBO.NAME
    cls_name = FBO_SHORT_NAMES.get(name, name)
    if cls_name not in FBO_REGISTRY:
        known = sorted(FBO_SHORT_NAMES) + sorted(k for k, _ in FBO_REGISTRY)
        raise ConfigError(f"MODEL.SGFB.FBO.NAME={name!r} is not a registered FBO; known: {known}")
    return FBO_REGISTRY.get(cls_name)(cfg, clip_dim=clip_dim, bank_dim=bank_dim)
