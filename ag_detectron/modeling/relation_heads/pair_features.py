"""Subject, object and union-box RoI features of relation pairs (RelDN's S/O/predicate branches).

All boxes of a batch (every entity box plus every pair's union box) are pooled from the
detector's feature maps in **one** ``ROIPooler`` call; three trainable branch heads with the
detector's box-head architecture (FPN: ``FastRCNNConvFCHead``; C4: a ``res5`` stage + average
pooling) turn them into subject, object and union features. The subject and object heads run
once per distinct entity and are gathered per pair.
"""

import copy
from typing import Dict, List, Tuple

import torch
from detectron2.layers import ShapeSpec
from detectron2.modeling.poolers import ROIPooler
from detectron2.modeling.roi_heads import ROI_HEADS_REGISTRY, Res5ROIHeads
from detectron2.modeling.roi_heads.box_head import build_box_head
from detectron2.structures import Boxes
from torch import nn

from .spatial_features import union_boxes

__all__ = ["Res5BranchHead", "PairFeatureExtractor", "build_branch_head", "build_pair_pooler"]


class Res5BranchHead(nn.Module):
    """C4 branch: a ``res5`` stage on pooled ``res4`` features, averaged to (M, C_out)."""

    def __init__(self, res5: nn.Module, out_channels: int):
        super().__init__()
        self.res5 = res5
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(M, C_in, R, R) → (M, C_out)."""
        return self.res5(x).mean(dim=(2, 3))


def _is_res5_detector(cfg) -> bool:
    return issubclass(ROI_HEADS_REGISTRY.get(cfg.MODEL.ROI_HEADS.NAME), Res5ROIHeads)


def build_pair_pooler(
    cfg, input_shape: Dict[str, ShapeSpec]
) -> Tuple[ROIPooler, List[str], int, int]:
    """The relation pooler from ``MODEL.ROI_RELATION_HEAD.{IN_FEATURES, POOLER_*}`` (empty/0 =
    the detector's ``ROI_HEADS.IN_FEATURES`` / ``ROI_BOX_HEAD.POOLER_*``).

    Returns:
        (pooler, in_features, in_channels, resolution).
    """
    rcfg = cfg.MODEL.ROI_RELATION_HEAD
    in_features = list(rcfg.IN_FEATURES) or list(cfg.MODEL.ROI_HEADS.IN_FEATURES)
    resolution = rcfg.POOLER_RESOLUTION or cfg.MODEL.ROI_BOX_HEAD.POOLER_RESOLUTION
    sampling_ratio = rcfg.POOLER_SAMPLING_RATIO or cfg.MODEL.ROI_BOX_HEAD.POOLER_SAMPLING_RATIO
    pooler_type = rcfg.POOLER_TYPE or cfg.MODEL.ROI_BOX_HEAD.POOLER_TYPE
    channels = {input_shape[f].channels for f in in_features}
    assert len(channels) == 1, (
        f"relation IN_FEATURES {in_features} have different channels {channels}"
    )
    pooler = ROIPooler(
        output_size=resolution,
        scales=tuple(1.0 / input_shape[f].stride for f in in_features),
        sampling_ratio=sampling_ratio,
        pooler_type=pooler_type,
    )
    return pooler, in_features, channels.pop(), resolution


def build_branch_head(cfg, in_channels: int, resolution: int) -> Tuple[nn.Module, int, str]:
    """One branch head with the detector's box-head architecture.

    Returns:
        (module, output dim, detector state-dict prefix it can be initialised from).
    """
    if _is_res5_detector(cfg):
        res5, out_channels = Res5ROIHeads._build_res5_block(cfg)
        return Res5BranchHead(res5, out_channels), out_channels, "roi_heads."
    head = build_box_head(cfg, ShapeSpec(channels=in_channels, height=resolution, width=resolution))
    out = head.output_shape
    dim = out.channels if isinstance(out, ShapeSpec) else int(out)
    if isinstance(out, ShapeSpec) and (out.height or out.width):
        dim = out.channels * (out.height or 1) * (out.width or 1)
    return head, dim, "roi_heads.box_head."


class PairFeatureExtractor(nn.Module):
    """Pools entity and union boxes once and runs the subject / object / union branch heads."""

    def __init__(
        self,
        *,
        pooler: ROIPooler,
        in_features: List[str],
        subject_head: nn.Module,
        object_head: nn.Module,
        union_head: nn.Module,
        out_dim: int,
    ):
        """
        Args:
            pooler: RoI pooler over ``in_features``.
            subject_head, object_head, union_head: (M, C, R, R) pooled features → (M, out_dim).
        """
        super().__init__()
        self.pooler = pooler
        self.in_features = in_features
        self.subject_head = subject_head
        self.object_head = object_head
        self.union_head = union_head
        self.out_dim = out_dim

    @classmethod
    def from_config(cls, cfg, input_shape: Dict[str, ShapeSpec]) -> "PairFeatureExtractor":
        pooler, in_features, channels, resolution = build_pair_pooler(cfg, input_shape)
        head, dim, _ = build_branch_head(cfg, channels, resolution)
        return cls(
            pooler=pooler,
            in_features=in_features,
            subject_head=head,
            object_head=copy.deepcopy(head),
            union_head=copy.deepcopy(head),
            out_dim=dim,
        )

    def forward(
        self, features: Dict[str, torch.Tensor], boxes: List[Boxes], pairs: List[torch.Tensor]
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """
        Args:
            features: backbone feature maps (N_img, C, H_l, W_l) by name.
            boxes: per image, N_i entity boxes.
            pairs: per image, (P_i, 2) long indices into that image's entities.

        Returns:
            subject, object, union features, each (sum P_i, out_dim).
        """
        feats = [features[f] for f in self.in_features]
        pooled_boxes, entity_rows, union_rows, offset = [], [], [], 0
        for b, p in zip(boxes, pairs):
            t = b.tensor
            u = union_boxes(t[p[:, 0]], t[p[:, 1]])
            pooled_boxes.append(Boxes(torch.cat([t, u], dim=0)))
            entity_rows.append(offset + p)
            union_rows.append(offset + len(t) + torch.arange(len(p), device=t.device))
            offset += len(t) + len(p)
        pooled = self.pooler(feats, pooled_boxes)
        entity_rows = torch.cat(entity_rows, dim=0)
        union_rows = torch.cat(union_rows, dim=0)

        subj_rows, subj_inv = torch.unique(entity_rows[:, 0], return_inverse=True)
        obj_rows, obj_inv = torch.unique(entity_rows[:, 1], return_inverse=True)
        subj = self.subject_head(pooled[subj_rows]).flatten(1)[subj_inv]
        obj = self.object_head(pooled[obj_rows]).flatten(1)[obj_inv]
        union = self.union_head(pooled[union_rows]).flatten(1)
        return subj, obj, union
