"""``ClipClassifier``: a 3D CNN clip backbone -> pooled clip feature S -> dropout -> FC -> sigmoid.

The "3D CNN alone" action model of Charades (SlowFast / I3D-NL baselines) and the provider of the
short-term clip feature S that the feature-bank models reuse (docs/video.md "Model").
"""

import logging
from typing import Any, Dict, List, Sequence, Union

import torch
import torch.nn.functional as F
from detectron2.config import CfgNode, configurable
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.modeling import META_ARCH_REGISTRY
from torch import nn

from ...errors import ConfigError
from ..video import build_video_backbone

__all__ = ["ClipClassifier"]

logger = logging.getLogger(__name__)


def init_clip_input(
    model: nn.Module,
    backbone: nn.Module,
    pixel_mean: Sequence[float],
    pixel_std: Sequence[float],
    freeze_backbone: bool,
    weights_strict: bool,
) -> None:
    """What every clip model sets up the same way: ``backbone``, the (3, 1, 1, 1) normalisation
    buffers (0-255 scale), the freezing of the backbone (no gradients, eval mode) and
    ``weights_strict`` (read by :class:`ag_detectron.checkpoint.VideoCheckpointer`)."""
    model.backbone = backbone
    model.register_buffer("pixel_mean", torch.tensor(pixel_mean).view(-1, 1, 1, 1), False)
    model.register_buffer("pixel_std", torch.tensor(pixel_std).view(-1, 1, 1, 1), False)
    model.freeze_backbone = freeze_backbone
    model.weights_strict = weights_strict
    if freeze_backbone:
        backbone.requires_grad_(False)
        backbone.eval()


@META_ARCH_REGISTRY.register()
class ClipClassifier(nn.Module):
    """Multi-label clip classifier (BCE-with-logits), Detectron2 meta-architecture.

    Input (one dict per clip, from the clip mapper):

    * ``"clip"``: uint8 (3, T, H, W) RGB, every clip of a batch the same shape;
    * ``"labels"``: float32 (K,) multi-hot (training only);
    * ``"video_id"``; at test also ``"view"``, ``"frame_numbers"``, ``"clip_center_sec"``
      (passed through to the evaluator, unused here).

    The model stacks the clips, moves them to its device, converts them to float and normalises
    them with ``pixel_mean`` / ``pixel_std`` (0-255 scale). Output:

    * training: ``{"loss_action": scalar}``, the mean binary cross-entropy over B x K logits;
    * inference: one dict per clip, ``{"scores": (K,) sigmoid probabilities, "clip_feature": (D,)
      pooled backbone feature S}``. :meth:`clip_features` returns S alone, (B, D).
    """

    task = "clip_classification"

    @configurable
    def __init__(
        self,
        *,
        backbone: nn.Module,
        num_classes: int,
        pixel_mean: Sequence[float],
        pixel_std: Sequence[float],
        dropout: float = 0.5,
        head_init_std: float = 0.01,
        freeze_backbone: bool = False,
        weights_strict: bool = True,
    ) -> None:
        """
        Args:
            backbone: maps (B, 3, T, H, W) float to (B, D), exposes ``output_dim`` = D.
            num_classes: K.
            pixel_mean, pixel_std: per-channel RGB normalisation, 0-255 scale.
            dropout: dropout probability on S before the classifier.
            head_init_std: std of the classifier's normal initialisation (bias 0).
            freeze_backbone: no gradients into the backbone, its BatchNorm always in eval mode.
            weights_strict: how :class:`ag_detectron.checkpoint.VideoCheckpointer` treats a
                checkpoint that does not fit (True: error; False: report and partial load).
        """
        super().__init__()
        init_clip_input(self, backbone, pixel_mean, pixel_std, freeze_backbone, weights_strict)
        self.num_classes = num_classes
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.cls_score = nn.Linear(backbone.output_dim, num_classes)
        nn.init.normal_(self.cls_score.weight, std=head_init_std)
        nn.init.zeros_(self.cls_score.bias)

    @classmethod
    def from_config(cls, cfg: CfgNode) -> Dict[str, Any]:
        v = cfg.MODEL.VIDEO
        for name in list(cfg.DATASETS.TRAIN) + list(cfg.DATASETS.TEST):
            if name not in DatasetCatalog.list():
                continue  # the loader reports unregistered names
            expected = MetadataCatalog.get(name).get("num_classes", None)
            if expected is not None and expected != v.NUM_CLASSES:
                raise ConfigError(
                    f"MODEL.VIDEO.NUM_CLASSES={v.NUM_CLASSES}, but dataset {name!r} has "
                    f"metadata num_classes={expected}; set MODEL.VIDEO.NUM_CLASSES {expected}"
                )
        if len(v.PIXEL_MEAN) != 3 or len(v.PIXEL_STD) != 3:
            raise ConfigError(
                f"MODEL.VIDEO.PIXEL_MEAN / PIXEL_STD need 3 values (RGB), got {list(v.PIXEL_MEAN)} "
                f"and {list(v.PIXEL_STD)}"
            )
        return {
            "backbone": build_video_backbone(cfg),
            "num_classes": v.NUM_CLASSES,
            "pixel_mean": list(v.PIXEL_MEAN),
            "pixel_std": list(v.PIXEL_STD),
            "dropout": v.DROPOUT,
            "head_init_std": v.HEAD_INIT_STD,
            "freeze_backbone": v.FREEZE_BACKBONE,
            "weights_strict": v.WEIGHTS_STRICT,
        }

    @property
    def device(self) -> torch.device:
        return self.pixel_mean.device

    def train(self, mode: bool = True) -> "ClipClassifier":
        """As ``nn.Module.train``; a frozen backbone stays in eval mode (BatchNorm statistics)."""
        super().train(mode)
        if self.freeze_backbone:
            self.backbone.eval()
        return self

    def preprocess_clips(self, batched_inputs: List[Dict[str, Any]]) -> torch.Tensor:
        """Stack ``"clip"`` uint8 (3, T, H, W) tensors -> normalised float (B, 3, T, H, W) on the
        model's device (uint8 is moved first: 4x less to copy)."""
        clips = torch.stack([x["clip"] for x in batched_inputs]).to(self.device, non_blocking=True)
        # One new float tensor, normalised in place (the out-of-place form makes three).
        return clips.float().sub_(self.pixel_mean).div_(self.pixel_std)

    def clip_features(self, batched_inputs: List[Dict[str, Any]]) -> torch.Tensor:
        """The pooled clip feature S of each clip, (B, D) with D = ``backbone.output_dim``."""
        if self.freeze_backbone:
            with torch.no_grad():
                return self.backbone(self.preprocess_clips(batched_inputs))
        return self.backbone(self.preprocess_clips(batched_inputs))

    def forward(
        self, batched_inputs: List[Dict[str, Any]]
    ) -> Union[Dict[str, torch.Tensor], List[Dict[str, torch.Tensor]]]:
        """Training: ``{"loss_action"}``; inference: ``[{"scores": (K,), "clip_feature": (D,)}]``
        per clip."""
        features = self.clip_features(batched_inputs)  # (B, D)
        logits = self.cls_score(self.dropout(features))  # (B, K)
        if self.training:
            return {"loss_action": self.losses(logits, batched_inputs)}
        scores = logits.sigmoid()
        return [{"scores": s, "clip_feature": f} for s, f in zip(scores, features)]

    def losses(self, logits: torch.Tensor, batched_inputs: List[Dict[str, Any]]) -> torch.Tensor:
        """Mean BCE-with-logits of (B, K) logits against the stacked (B, K) ``"labels"``."""
        for x in batched_inputs:
            if "labels" not in x or x["labels"].shape != (self.num_classes,):
                found = tuple(x["labels"].shape) if "labels" in x else "no 'labels'"
                raise ValueError(
                    f"video {x.get('video_id')!r}: training input needs 'labels' of shape "
                    f"({self.num_classes},) (MODEL.VIDEO.NUM_CLASSES), got {found}"
                )
        labels = torch.stack([x["labels"] for x in batched_inputs]).to(self.device)
        return F.binary_cross_entropy_with_logits(logits, labels.float())
