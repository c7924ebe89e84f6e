"""Relation losses: pure functions of logits and targets (docs/model.md).

* ``loss_rel_attention``: cross-entropy over the single-label group (target = the one-hot's
  argmax; rows without any label are skipped).
* ``loss_rel_spatial`` / ``loss_rel_contacting``: ``"bce"`` = BCE-with-logits on the multi-hot
  targets, mean over pairs × classes; ``"margin"`` = ``MultiLabelMarginLoss`` on the **sigmoid
  probabilities** (STTran parity), mean over pairs.
* These three are computed on positive pairs only; with no positive pair they are an exact zero
  that stays connected to the graph.
* ``loss_rel_related`` (sgdet): BCE of the binary "related" logit on all sampled pairs.
* Graphical contrastive losses (sgdet, optional; :func:`graphical_contrastive_losses`), vectorised
  with ``scatter_reduce`` over (anchor node, key) groups. ``Φ = sigmoid(related logit)`` and the
  hinge is ``h_α(x) = max(0, α − x)``:

  - L1 (entity): per anchor node, ``h_α1(min Φ(pos) − max Φ(neg))``;
  - L2 (class): per anchor node and partner class ``c`` (predicted class of the partner),
    ``h_α2(min Φ(pos of class c) − max Φ(neg of class c))``;
  - L3 (predicate, multi-label; ours): per anchor node and GT predicate ``e`` of its positive
    pairs, ``h_α3(min p_e(pos with e) − max p_e(neg))`` with ``p_e`` the predicate probability.

  Each is averaged over the groups that have both a positive and a negative; subject-anchored
  and object-anchored forms are summed. Unlike RelDN's code there is no dummy pair.
"""

from typing import Dict, Sequence

import torch
import torch.nn.functional as F

__all__ = [
    "attention_loss",
    "multilabel_margin_targets",
    "multilabel_loss",
    "related_loss",
    "contrastive_hinge",
    "graphical_contrastive_losses",
]

LOSS_TYPES = ("bce", "margin")


def _zero(x: torch.Tensor) -> torch.Tensor:
    return x.sum() * 0.0


def attention_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of (P, A) logits against (P, A) one-hot targets; unlabelled rows skipped."""
    has_label = targets.sum(dim=1) > 0
    if not bool(has_label.any()):
        return _zero(logits)
    return F.cross_entropy(logits[has_label], targets[has_label].argmax(dim=1))


def multilabel_margin_targets(multi_hot: torch.Tensor) -> torch.Tensor:
    """(P, C) multi-hot → (P, C) long class indices, ascending, −1 padded (MultiLabelMarginLoss)."""
    num_classes = multi_hot.shape[1]
    idx = torch.arange(num_classes, device=multi_hot.device).expand_as(multi_hot)
    idx = torch.where(multi_hot > 0, idx, torch.full_like(idx, num_classes))
    idx = torch.sort(idx, dim=1).values
    return torch.where(idx == num_classes, torch.full_like(idx, -1), idx)


def multilabel_loss(logits: torch.Tensor, targets: torch.Tensor, loss_type: str) -> torch.Tensor:
    """Multi-label loss of (P, C) logits against (P, C) multi-hot targets.

    Args:
        loss_type: ``"bce"`` or ``"margin"`` (module docstring).
    """
    if len(logits) == 0:
        return _zero(logits)
    if loss_type == "bce":
        return F.binary_cross_entropy_with_logits(logits, targets)
    if loss_type == "margin":
        return F.multilabel_margin_loss(torch.sigmoid(logits), multilabel_margin_targets(targets))
    raise ValueError(f"loss_type={loss_type!r}; expected one of {LOSS_TYPES}")


def related_loss(related_logits: torch.Tensor, is_positive: torch.Tensor) -> torch.Tensor:
    """BCE-with-logits of (P,) "related" logits against (P,) bool targets (mean)."""
    if len(related_logits) == 0:
        return _zero(related_logits)
    return F.binary_cross_entropy_with_logits(related_logits, is_positive.to(related_logits.dtype))


def contrastive_hinge(
    pos_values: torch.Tensor,
    pos_keys: torch.Tensor,
    neg_values: torch.Tensor,
    neg_keys: torch.Tensor,
    num_keys: int,
    margin: float,
) -> torch.Tensor:
    """Mean over keys with both sides of ``max(0, margin − (min pos − max neg))``.

    Args:
        pos_values, pos_keys: (Np,) scores and group keys of positives.
        neg_values, neg_keys: (Nn,) scores and group keys of negatives.
        num_keys: keys lie in ``[0, num_keys)``.

    Returns:
        Scalar; an exact zero connected to the inputs when no key has both sides.
    """
    ref = pos_values if len(pos_values) else neg_values
    pos_min = ref.new_full((num_keys,), float("inf")).scatter_reduce(
        0, pos_keys, pos_values, reduce="amin", include_self=True
    )
    neg_max = ref.new_full((num_keys,), float("-inf")).scatter_reduce(
        0, neg_keys, neg_values, reduce="amax", include_self=True
    )
    valid = torch.isfinite(pos_min) & torch.isfinite(neg_max)
    if not bool(valid.any()):
        return _zero(pos_values) + _zero(neg_values)
    return F.relu(margin - (pos_min[valid] - neg_max[valid])).mean()


def _anchored_losses(
    anchor: torch.Tensor,
    partner_class: torch.Tensor,
    affinity: torch.Tensor,
    probs: torch.Tensor,
    is_positive: torch.Tensor,
    multi_hot: torch.Tensor,
    num_nodes: int,
    num_classes: int,
    margins: Sequence[float],
):
    pos, neg = is_positive, ~is_positive
    l1 = contrastive_hinge(
        affinity[pos], anchor[pos], affinity[neg], anchor[neg], num_nodes, margins[0]
    )
    class_key = anchor * num_classes + partner_class
    l2 = contrastive_hinge(
        affinity[pos],
        class_key[pos],
        affinity[neg],
        class_key[neg],
        num_nodes * num_classes,
        margins[1],
    )
    num_pred = probs.shape[1]
    pred_key = anchor[:, None] * num_pred + torch.arange(num_pred, device=probs.device)[None, :]
    pos_mask = pos[:, None] & (multi_hot > 0)
    neg_mask = neg[:, None].expand_as(pos_mask)
    l3 = contrastive_hinge(
        probs[pos_mask],
        pred_key[pos_mask],
        probs[neg_mask],
        pred_key[neg_mask],
        num_nodes * num_pred,
        margins[2],
    )
    return l1, l2, l3


def graphical_contrastive_losses(
    pairs: torch.Tensor,
    entity_classes: torch.Tensor,
    related_logits: torch.Tensor,
    predicate_probs: torch.Tensor,
    is_positive: torch.Tensor,
    multi_hot: torch.Tensor,
    num_classes: int,
    margins: Sequence[float] = (0.2, 0.2, 0.2),
    weights: Sequence[float] = (1.0, 0.5, 0.1),
) -> Dict[str, torch.Tensor]:
    """RelDN's L1/L2/L3, subject- plus object-anchored (module docstring).

    Args:
        pairs: (P, 2) long **batch-global** entity indices (subject, object).
        entity_classes: (N,) long class of every entity of the batch.
        related_logits: (P,) the "related" logit; Φ = sigmoid of it.
        predicate_probs: (P, K) per-predicate probabilities (attention softmax, others sigmoid).
        is_positive: (P,) bool; multi_hot: (P, K) GT predicates of positive pairs.
        num_classes: number of entity classes C.

    Returns:
        ``{"loss_rel_contrastive_entity", "loss_rel_contrastive_class",
        "loss_rel_contrastive_predicate"}``, each weighted by λ1..λ3.
    """
    affinity = torch.sigmoid(related_logits)
    num_nodes = max(len(entity_classes), 1)
    totals = [None, None, None]
    for anchor_col, partner_col in ((0, 1), (1, 0)):
        ls = _anchored_losses(
            pairs[:, anchor_col],
            entity_classes[pairs[:, partner_col]],
            affinity,
            predicate_probs,
            is_positive,
            multi_hot,
            num_nodes,
            num_classes,
            margins,
        )
        totals = [loss if t is None else t + loss for t, loss in zip(totals, ls)]
    names = ("entity", "class", "predicate")
    return {f"loss_rel_contrastive_{n}": w * t for n, w, t in zip(names, weights, totals)}
