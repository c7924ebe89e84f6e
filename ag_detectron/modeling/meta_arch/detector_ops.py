"""Thin wrappers around the (frozen) Detectron2 detector used by ``SceneGraphRCNN``:
classify given boxes (sgcls), detect (sgdet), rescale entities to the original image size."""

from typing import Dict, List

import torch
import torch.nn.functional as F
from detectron2.modeling.roi_heads import Res5ROIHeads
from detectron2.structures import Boxes, Instances
from torch import nn

__all__ = ["classify_boxes", "rescale_instances"]


def classify_boxes(
    roi_heads: nn.Module, features: Dict[str, torch.Tensor], boxes: List[Boxes]
) -> List[torch.Tensor]:
    """Class probabilities of given boxes from the detector's box predictor.

    Supports ``StandardROIHeads`` (FPN) and ``Res5ROIHeads`` (C4) and their subclasses.

    Args:
        boxes: per image, N_i boxes in the coordinates of the feature maps' input image.

    Returns:
        per image, (N_i, K + 1) softmax probabilities (last column = background).
    """
    if isinstance(roi_heads, Res5ROIHeads):
        x = roi_heads._shared_roi_transform([features[f] for f in roi_heads.in_features], boxes)
        x = x.mean(dim=(2, 3))
    else:
        x = roi_heads.box_pooler([features[f] for f in roi_heads.box_in_features], boxes)
        x = roi_heads.box_head(x)
    scores = roi_heads.box_predictor(x)[0]
    return list(torch.split(F.softmax(scores, dim=-1), [len(b) for b in boxes]))


def rescale_instances(instances: Instances, height: int, width: int) -> Instances:
    """Entities in original image coordinates (like ``detector_postprocess``, without dropping
    empty boxes, so that ``pair_idx`` stays valid): boxes scaled and clipped."""
    out_h, out_w = instances.image_size
    result = Instances((height, width), **instances.get_fields())
    boxes = Boxes(instances.pred_boxes.tensor.clone())
    boxes.scale(width / out_w, height / out_h)
    boxes.clip((height, width))
    result.pred_boxes = boxes
    return result
