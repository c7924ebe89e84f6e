"""Pair construction, detection↔ground-truth matching, pair targets and pair subsampling.

Pure tensor functions, no Python loops over pairs (docs/model.md):

* **Pairs** are subject × object over one image's entity boxes (:func:`person_object_pairs`):
  every subject (the person) with every object, never object→object, no overlap filter.
* **Matching** (sgdet training, :func:`match_entities_to_gt`): a detection labelled person may
  only match a ground-truth person, any other detection only a ground-truth object; it takes the
  GT box it overlaps most when that IoU ≥ the threshold (0.5), else it is unmatched (−1).
  In predcls/sgcls the entities *are* the GT boxes (``gt_index = arange(N)``).
* **Targets** (:func:`pair_targets`): a pair is positive when its (subject, object) GT indices
  form an annotated relation; it then takes that relation's multi-hot predicates. Everything else
  is a negative (used only by the "related" logit and the contrastive losses).
* **Subsampling** (:func:`subsample_pairs`): at most ``batch_size`` pairs per image, positives
  first up to ``positive_fraction`` (Detectron2's ``subsample_labels``).
"""

from typing import List, NamedTuple, Optional

import torch
from detectron2.modeling.sampling import subsample_labels
from detectron2.structures import Boxes, pairwise_iou

__all__ = [
    "PairTargets",
    "person_object_pairs",
    "select_sgdet_entities",
    "match_entities_to_gt",
    "pair_targets",
    "subsample_pairs",
    "cat_pair_targets",
    "unmatched_gt",
    "jitter_boxes",
]


class PairTargets(NamedTuple):
    """Training targets of P pairs.

    Attributes:
        is_positive: (P,) bool, the pair is an annotated relation (or matches one).
        attention: (P, A) float one-hot (zeros for negatives).
        spatial: (P, S) float multi-hot.
        contacting: (P, C) float multi-hot.
    """

    is_positive: torch.Tensor
    attention: torch.Tensor
    spatial: torch.Tensor
    contacting: torch.Tensor

    def group(self, name: str) -> torch.Tensor:
        """Targets of the predicate group called ``name`` (a field of this tuple)."""
        return getattr(self, name)

    def index(self, idx: torch.Tensor) -> "PairTargets":
        return PairTargets(*(t[idx] for t in self))


def cat_pair_targets(targets: List[PairTargets]) -> PairTargets:
    """Concatenate per-image targets along the pair dimension."""
    return PairTargets(*(torch.cat(list(ts), dim=0) for ts in zip(*targets)))


def person_object_pairs(is_subject: torch.Tensor, is_object: torch.Tensor) -> torch.Tensor:
    """All (subject, object) index pairs of one image, subject-major.

    Args:
        is_subject: (N,) bool, entities used as subjects (the person(s)).
        is_object: (N,) bool, entities used as objects.

    Returns:
        (P, 2) long, P = |subjects| · |objects| minus self-pairs; (0, 2) without subject/object.
    """
    subj = torch.nonzero(is_subject, as_tuple=False).flatten()
    obj = torch.nonzero(is_object, as_tuple=False).flatten()
    s = subj[:, None].expand(len(subj), len(obj)).reshape(-1)
    o = obj[None, :].expand(len(subj), len(obj)).reshape(-1)
    keep = s != o
    return torch.stack([s[keep], o[keep]], dim=1)


def select_sgdet_entities(
    classes: torch.Tensor, scores: torch.Tensor, person_class: int, num_persons: int
) -> torch.Tensor:
    """Which detections enter the scene graph, in output order: persons first, then objects.

    The top-``num_persons`` person detections by score are the subjects; every non-person
    detection is an object (in the detector's order); other person detections are dropped.

    Args:
        classes: (N,) long detector classes; scores: (N,) float.

    Returns:
        (M,) long indices into the detections.
    """
    person = torch.nonzero(classes == person_class, as_tuple=False).flatten()
    order = torch.argsort(scores[person], descending=True, stable=True)
    person = person[order[:num_persons]]
    objects = torch.nonzero(classes != person_class, as_tuple=False).flatten()
    return torch.cat([person, objects])


def match_entities_to_gt(
    boxes: Boxes,
    is_person: torch.Tensor,
    gt_boxes: Boxes,
    gt_classes: torch.Tensor,
    person_class: int,
    iou_thresh: float,
) -> torch.Tensor:
    """Match entity boxes to ground-truth boxes of the same role (person / object).

    Args:
        boxes: N entity boxes; is_person: (N,) bool role of each entity.
        gt_boxes: G ground-truth boxes; gt_classes: (G,) long.
        person_class: the person category id; iou_thresh: minimum IoU (inclusive).

    Returns:
        (N,) long index of the matched GT box, −1 where none has IoU ≥ ``iou_thresh``.
    """
    n = len(boxes)
    if n == 0 or len(gt_boxes) == 0:
        return torch.full((n,), -1, dtype=torch.long, device=gt_classes.device)
    iou = pairwise_iou(boxes, gt_boxes)  # (N, G)
    same_role = is_person[:, None] == (gt_classes == person_class)[None, :]
    iou = torch.where(same_role, iou, iou.new_full((), -1.0))
    best_iou, best = iou.max(dim=1)
    return torch.where(best_iou >= iou_thresh, best, torch.full_like(best, -1))


def pair_targets(
    pairs: torch.Tensor,
    gt_index: torch.Tensor,
    num_gt: int,
    gt_pair_idx: torch.Tensor,
    gt_attention: torch.Tensor,
    gt_spatial: torch.Tensor,
    gt_contacting: torch.Tensor,
) -> PairTargets:
    """Targets of entity pairs from the GT relations of one image.

    Args:
        pairs: (P, 2) long entity indices (subject, object).
        gt_index: (N,) long GT index of each entity, −1 when unmatched.
        num_gt: number of GT boxes G.
        gt_pair_idx: (R, 2) long GT indices of the annotated relations.
        gt_attention / gt_spatial / gt_contacting: (R, A) / (R, S) / (R, C) float.

    Returns:
        :class:`PairTargets` of the P pairs.
    """
    device = pairs.device
    lookup = torch.full((num_gt + 1, num_gt + 1), -1, dtype=torch.long, device=device)
    if len(gt_pair_idx):
        lookup[gt_pair_idx[:, 0], gt_pair_idx[:, 1]] = torch.arange(len(gt_pair_idx), device=device)
    # Unmatched entities (−1) index the extra last row/column, which holds −1.
    s = gt_index[pairs[:, 0]].clamp_min(-1)
    o = gt_index[pairs[:, 1]].clamp_min(-1)
    rel = lookup[torch.where(s < 0, num_gt, s), torch.where(o < 0, num_gt, o)]
    positive = rel >= 0
    rel_safe = rel.clamp_min(0)

    def take(values: torch.Tensor) -> torch.Tensor:
        if len(values) == 0:
            return values.new_zeros((len(pairs), values.shape[1]))
        return values[rel_safe] * positive[:, None].to(values.dtype)

    return PairTargets(positive, take(gt_attention), take(gt_spatial), take(gt_contacting))


def subsample_pairs(
    is_positive: torch.Tensor, batch_size: int, positive_fraction: float
) -> torch.Tensor:
    """Indices of the pairs kept for training (positives first), sorted ascending.

    Args:
        is_positive: (P,) bool.

    Returns:
        (K,) long, K ≤ ``batch_size``.
    """
    if len(is_positive) <= batch_size:
        return torch.arange(len(is_positive), device=is_positive.device)
    labels = is_positive.long()
    pos, neg = subsample_labels(labels, batch_size, positive_fraction, 0)
    return torch.sort(torch.cat([pos, neg])).values


def unmatched_gt(gt_index: torch.Tensor, num_gt: int, candidates: Optional[torch.Tensor] = None):
    """(K,) long GT indices no entity matched (restricted to ``candidates`` (G,) bool if given)."""
    matched = torch.zeros(num_gt, dtype=torch.bool, device=gt_index.device)
    matched[gt_index[gt_index >= 0]] = True
    missing = ~matched
    if candidates is not None:
        missing &= candidates
    return torch.nonzero(missing, as_tuple=False).flatten()


def jitter_boxes(
    boxes: torch.Tensor,
    scale: float,
    image_size: "tuple",
    generator: Optional[torch.Generator] = None,
    min_size: float = 1.0,
) -> torch.Tensor:
    """Training augmentation for given boxes: each edge moved by N(0, scale) × the box's width
    (x edges) or height (y edges), then clipped to the image and kept at least ``min_size`` wide
    and high.

    Args:
        boxes: (N, 4) XYXY.
        scale: standard deviation as a fraction of the box size (0 returns a copy).
        image_size: (H, W).
        generator: optional RNG (default: torch's global one).

    Returns:
        (N, 4) XYXY, new tensor.
    """
    out = boxes.clone()
    if scale <= 0 or len(boxes) == 0:
        return out
    w = (boxes[:, 2] - boxes[:, 0]).clamp(min=min_size)
    h = (boxes[:, 3] - boxes[:, 1]).clamp(min=min_size)
    size = torch.stack([w, h, w, h], dim=1)
    noise = torch.randn(boxes.shape, generator=generator, dtype=boxes.dtype, device=boxes.device)
    out = out + noise * scale * size
    height, width = float(image_size[0]), float(image_size[1])
    out[:, 0::2] = out[:, 0::2].clamp(0, width)
    out[:, 1::2] = out[:, 1::2].clamp(0, height)
    # keep x1 < x2, y1 < y2 with at least min_size, inside the image where possible
    x1 = torch.minimum(out[:, 0], out[:, 2]).clamp(max=max(width - min_size, 0))
    y1 = torch.minimum(out[:, 1], out[:, 3]).clamp(max=max(height - min_size, 0))
    x2 = torch.maximum(torch.maximum(out[:, 0], out[:, 2]), x1 + min_size)
    y2 = torch.maximum(torch.maximum(out[:, 1], out[:, 3]), y1 + min_size)
    return torch.stack([x1, y1, x2, y2], dim=1)
