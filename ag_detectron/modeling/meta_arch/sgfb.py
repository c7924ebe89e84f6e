"""``SGFB``: clip feature S + feature-bank operator over a bank window -> FC -> sigmoid.

The Action Genome paper's scene-graph feature-bank model, and with an LFB bank (clip features) the
LFB baseline; with the oracle bank the (label-leaking) upper bound. "3D CNN alone" is
:class:`~.clip_classifier.ClipClassifier`. See docs/feature_bank.md "Model".
"""

import logging
from typing import Any, Dict, List, Union

import torch
from detectron2.config import CfgNode, configurable
from detectron2.modeling import META_ARCH_REGISTRY
from torch import nn

from ...errors import ConfigError
from ..fbo import build_fbo
from .clip_classifier import ClipClassifier, init_clip_input

__all__ = ["SGFB"]

logger = logging.getLogger(__name__)


@META_ARCH_REGISTRY.register()
class SGFB(nn.Module):
    """Feature-bank action classifier (BCE-with-logits), Detectron2 meta-architecture::

        S   = backbone(clip)                       (B, Ds)   frozen by default (LFB stage 2)
        F   = fbo(S, bank_window, bank_mask)       (B, Df)
        out = cls_head(dropout(concat(S, F)))      (B, K)    logits; sigmoid at inference

    Input: the clip mapper's dicts (``"clip"`` uint8 (3, T, H, W), ``"labels"`` (K,) in training,
    ``"video_id"``, ...) plus ``"bank_window"`` float32 (W, Db) and ``"bank_mask"`` bool (W,) from
    :class:`~ag_detectron.data.bank_mapper.FeatureBankClipMapper`. With precomputed clip
    features (``MODEL.SGFB.CLIP_FEATURE_BANK``) the dicts carry ``"clip_feature"`` float32 (Ds,)
    instead of ``"clip"``, and S is that feature: before its first use the model checks that the
    bank's recorded backbone hash is the hash of its own loaded, frozen backbone.

    Output as :class:`ClipClassifier`: training ``{"loss_action"}``; inference one dict per clip
    ``{"scores": (K,), "clip_feature": (Ds,)}``.

    ``backbone`` has the module names of ``ClipClassifier.backbone``, so ``MODEL.WEIGHTS`` can name
    a stage-1 clip-classifier checkpoint: :class:`ag_detectron.checkpoint.VideoCheckpointer` loads
    the backbone, drops the stage-1 classifier (``cls_score``, ``checkpoint_ignored_prefixes``)
    and leaves the FBO and ``cls_head`` (``checkpoint_new_prefixes``) at their initialisation.
    """

    task = "feature_bank_classification"
    #: modules a stage-1 clip checkpoint does not have (they keep their initialisation).
    checkpoint_new_prefixes = ("fbo.", "cls_head.")
    #: checkpoint modules SGFB replaces (the stage-1 classifier), dropped with a note.
    checkpoint_ignored_prefixes = ("cls_score.",)

    @configurable
    def __init__(
        self,
        *,
        backbone: nn.Module,
        fbo: nn.Module,
        num_classes: int,
        pixel_mean: List[float],
        pixel_std: List[float],
        dropout: float = 0.3,
        head_init_std: float = 0.01,
        freeze_backbone: bool = True,
        weights_strict: bool = True,
        clip_feature_bank: str = "",
        clip_feature_backbone_hash: str = "",
    ) -> None:
        """
        Args:
            backbone: maps (B, 3, T, H, W) float to (B, Ds), exposes ``output_dim`` = Ds.
            fbo: a feature-bank operator (``ag_detectron.modeling.fbo``), ``output_dim`` = Df.
            num_classes: K.
            pixel_mean, pixel_std: per-channel RGB normalisation, 0-255 scale.
            dropout: dropout probability on ``concat(S, F)``.
            head_init_std: std of the classifier's normal initialisation (bias 0).
            freeze_backbone: no gradients into the backbone, its BatchNorm always in eval mode.
            weights_strict: see :class:`ClipClassifier`.
            clip_feature_bank: path of the precomputed clip-feature bank ("" = none; messages).
            clip_feature_backbone_hash: the backbone hash that bank records; inputs with
                ``"clip_feature"`` are refused unless the loaded backbone has this hash.
        """
        super().__init__()
        init_clip_input(self, backbone, pixel_mean, pixel_std, freeze_backbone, weights_strict)
        self.fbo = fbo
        self.num_classes = num_classes
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.cls_head = nn.Linear(backbone.output_dim + fbo.output_dim, num_classes)
        nn.init.normal_(self.cls_head.weight, std=head_init_std)
        nn.init.zeros_(self.cls_head.bias)
        self.clip_feature_bank = clip_feature_bank
        self.clip_feature_backbone_hash = clip_feature_backbone_hash
        self._clip_features_checked = False

    @classmethod
    def from_config(cls, cfg: CfgNode) -> Dict[str, Any]:
        args = ClipClassifier.from_config(cfg)  # backbone, classes, normalisation, checks
        s = cfg.MODEL.SGFB
        bank_dim = int(s.BANK_DIM)
        if s.BANK_DIR:
            from ...feature_bank.from_config import open_feature_bank

            bank = open_feature_bank(cfg)  # provenance checked here, at model build
            bank_dim = bank.dim
            logger.info(
                f"SGFB: bank {bank.index_path} kind={bank.provenance.kind} dim={bank.dim} "
                f"rate={bank.provenance.rate} videos={len(bank)} entries={bank.num_entries}"
            )
        elif bank_dim <= 0:
            raise ConfigError(
                "MODEL.SGFB.BANK_DIR is empty and MODEL.SGFB.BANK_DIM is 0: the model cannot know "
                "the bank entry width; set BANK_DIR (or BANK_DIM without a bank)"
            )
        clip_dim = args["backbone"].output_dim
        if s.CLIP_FEATURE_BANK:
            from ...feature_bank.from_config import open_clip_feature_bank

            clip_bank = open_clip_feature_bank(cfg)
            if clip_bank.dim != clip_dim:
                raise ConfigError(
                    f"MODEL.SGFB.CLIP_FEATURE_BANK {clip_bank.index_path}: entries of width "
                    f"{clip_bank.dim}; the backbone outputs {clip_dim}"
                )
            args.update(
                clip_feature_bank=clip_bank.index_path,
                clip_feature_backbone_hash=clip_bank.provenance.vocabulary["backbone_hash"],
            )
        args.update(
            fbo=build_fbo(cfg, clip_dim=clip_dim, bank_dim=bank_dim),
            dropout=s.DROPOUT,
            freeze_backbone=s.FREEZE_BACKBONE,
        )
        return args

    device = ClipClassifier.device
    preprocess_clips = ClipClassifier.preprocess_clips
    losses = ClipClassifier.losses

    def clip_features(self, batched_inputs: List[Dict[str, Any]]) -> torch.Tensor:
        """(B, Ds): the backbone on ``"clip"``, or the precomputed ``"clip_feature"`` rows."""
        if "clip_feature" not in batched_inputs[0]:
            return ClipClassifier.clip_features(self, batched_inputs)
        self._check_precomputed_features()
        feats = torch.stack([x["clip_feature"] for x in batched_inputs])
        return feats.to(self.device, torch.float32, non_blocking=True)

    def _check_precomputed_features(self) -> None:
        """Once: the precomputed features must be this (frozen) backbone's (module docstring)."""
        if self._clip_features_checked:
            return
        from ...feature_bank import FeatureBankError
        from ...feature_bank.provenance import hash_module_state

        if not self.clip_feature_backbone_hash:
            raise ValueError(
                "SGFB input carries 'clip_feature' but MODEL.SGFB.CLIP_FEATURE_BANK is not set"
            )
        found = hash_module_state(self.backbone)
        if found != self.clip_feature_backbone_hash:
            raise FeatureBankError(
                f"{self.clip_feature_bank}: clip features of backbone "
                f"{self.clip_feature_backbone_hash}, but the loaded backbone (MODEL.WEIGHTS) is "
                f"{found}; extract the bank with these weights or unset "
                "MODEL.SGFB.CLIP_FEATURE_BANK"
            )
        self._clip_features_checked = True

    def train(self, mode: bool = True) -> "SGFB":
        """As ``nn.Module.train``; a frozen backbone stays in eval mode (BatchNorm statistics)."""
        super().train(mode)
        if self.freeze_backbone:
            self.backbone.eval()
        return self

    def bank_inputs(self, batched_inputs: List[Dict[str, Any]]) -> Any:
        """Stack ``"bank_window"`` (W, Db) and ``"bank_mask"`` (W,) -> (B, W, Db) float32 and
        (B, W) bool on the model's device."""
        for x in batched_inputs:
            if "bank_window" not in x or "bank_mask" not in x:
                raise ValueError(
                    f"video {x.get('video_id')!r}: SGFB input needs 'bank_window' and 'bank_mask' "
                    f"(FeatureBankClipMapper; task 'feature_bank_classification')"
                )
        bank = torch.stack([x["bank_window"] for x in batched_inputs])
        mask = torch.stack([x["bank_mask"] for x in batched_inputs])
        return bank.to(self.device, torch.float32, non_blocking=True), mask.to(self.device)

    def forward(
        self, batched_inputs: List[Dict[str, Any]]
    ) -> Union[Dict[str, torch.Tensor], List[Dict[str, torch.Tensor]]]:
        """Training: ``{"loss_action"}``; inference: ``[{"scores": (K,), "clip_feature": (Ds,)}]``
        per clip."""
        features = self.clip_features(batched_inputs)  # (B, Ds)
        bank, mask = self.bank_inputs(batched_inputs)  # (B, W, Db), (B, W)
        combined = torch.cat([features, self.fbo(features, bank, mask)], dim=1)  # (B, Ds + Df)
        logits = self.cls_head(self.dropout(combined))  # (B, K)
        if self.training:
            return {"loss_action": self.losses(logits, batched_inputs)}
        scores = logits.sigmoid()
        return [{"scores": s, "clip_feature": f} for s, f in zip(scores, features)]
