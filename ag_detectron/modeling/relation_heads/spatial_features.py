"""The 28-d box-pair spatial feature of RelDN (docs/model.md); pure tensor functions.

For boxes ``b1``, ``b2`` with centres ``(x̄, ȳ)``, widths ``w`` and heights ``h``::

    Δ(b1→b2) = ((x̄2 − x̄1) / w1, (ȳ2 − ȳ1) / h1, log(w2 / w1), log(h2 / h1))
    pair(b1, b2) = [Δ(b1→b2), Δ(b2→b1)[:2]]                                     (6-d)

The feature of a (subject s, object o) pair with union box u (min/max corners) is::

    [pair(s, o), pair(s, u), pair(u, o),                                           (18-d)
     x1s/W, y1s/H, x2s/W, y2s/H, area_s/(W·H), x1o/W, y1o/H, x2o/W, y2o/H, area_o/(W·H)]   (10-d)

with ``(H, W)`` the image size the boxes live in. Widths and heights are clamped to ``min_size``
pixels so that degenerate boxes give finite features.
"""

from typing import Tuple, Union

import torch

__all__ = ["union_boxes", "box_delta", "pair_delta", "spatial_features", "SPATIAL_FEATURE_DIM"]

SPATIAL_FEATURE_DIM = 28


def union_boxes(boxes1: torch.Tensor, boxes2: torch.Tensor) -> torch.Tensor:
    """Smallest boxes enclosing each pair.

    Args:
        boxes1, boxes2: (P, 4) XYXY.

    Returns:
        (P, 4) XYXY.
    """
    return torch.cat(
        [torch.minimum(boxes1[:, :2], boxes2[:, :2]), torch.maximum(boxes1[:, 2:], boxes2[:, 2:])],
        dim=1,
    )


def _centre_size(boxes: torch.Tensor, min_size: float) -> Tuple[torch.Tensor, ...]:
    w = (boxes[:, 2] - boxes[:, 0]).clamp(min=min_size)
    h = (boxes[:, 3] - boxes[:, 1]).clamp(min=min_size)
    cx = (boxes[:, 0] + boxes[:, 2]) * 0.5
    cy = (boxes[:, 1] + boxes[:, 3]) * 0.5
    return cx, cy, w, h


def box_delta(boxes1: torch.Tensor, boxes2: torch.Tensor, min_size: float = 1.0) -> torch.Tensor:
    """``Δ(b1→b2)``: (P, 4) = (dx / w1, dy / h1, log(w2 / w1), log(h2 / h1)), (P, 4) XYXY inputs."""
    cx1, cy1, w1, h1 = _centre_size(boxes1, min_size)
    cx2, cy2, w2, h2 = _centre_size(boxes2, min_size)
    return torch.stack(
        [(cx2 - cx1) / w1, (cy2 - cy1) / h1, torch.log(w2 / w1), torch.log(h2 / h1)], dim=1
    )


def pair_delta(boxes1: torch.Tensor, boxes2: torch.Tensor, min_size: float = 1.0) -> torch.Tensor:
    """``[Δ(b1→b2), Δ(b2→b1)[:2]]``: (P, 6)."""
    return torch.cat(
        [box_delta(boxes1, boxes2, min_size), box_delta(boxes2, boxes1, min_size)[:, :2]], dim=1
    )


def _normalised_box(boxes: torch.Tensor, height: torch.Tensor, width: torch.Tensor) -> torch.Tensor:
    """(P, 5) = box / (W, H, W, H) and area / (W·H); ``height``/``width`` (P,) per box."""
    scale = torch.stack([width, height, width, height], dim=1)
    area = (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)
    return torch.cat([boxes / scale, (area / (width * height))[:, None]], dim=1)


def spatial_features(
    subject_boxes: torch.Tensor,
    object_boxes: torch.Tensor,
    image_size: Union[Tuple[int, int], torch.Tensor],
    min_size: float = 1.0,
) -> torch.Tensor:
    """The 28-d spatial feature of each (subject, object) box pair.

    Args:
        subject_boxes, object_boxes: (P, 4) XYXY in the coordinates of an image of ``image_size``.
        image_size: (H, W) of all pairs, or a (P, 2) tensor of each pair's (H, W) (pairs of several
            images in one call).
        min_size: lower clamp of widths and heights (pixels) inside the deltas.

    Returns:
        (P, 28) float tensor; row layout in the module docstring.
    """
    if torch.is_tensor(image_size) and image_size.dim() == 2:
        sizes = image_size.to(subject_boxes.dtype)
    else:
        sizes = subject_boxes.new_tensor([float(image_size[0]), float(image_size[1])]).expand(
            len(subject_boxes), 2
        )
    height, width = sizes[:, 0], sizes[:, 1]
    union = union_boxes(subject_boxes, object_boxes)
    return torch.cat(
        [
            pair_delta(subject_boxes, object_boxes, min_size),
            pair_delta(subject_boxes, union, min_size),
            pair_delta(union, object_boxes, min_size),
            _normalised_box(subject_boxes, height, width),
            _normalised_box(object_boxes, height, width),
        ],
        dim=1,
    )
