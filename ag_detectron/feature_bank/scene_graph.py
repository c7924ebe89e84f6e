"""Per-frame scene-graph feature: the confidence matrix ``C[i, j] = s_obj(i) * s_rel(i, j)``.

For one frame's predicted scene graph, row ``i`` of C is object class ``i`` (the 35 Action Genome
object classes, person excluded) and column ``j`` a predicate (26 in the release, 25 without
``other_relationship``). The bank entry is C flattened **object-major**: ``index = i * P + j``
(35 x 26 = 910, 35 x 25 = 875).

Choices the paper leaves open (documented in docs/feature_bank.md):

* several detections of one class: ``combine="max"`` (default) over instances, or ``"mean"`` /
  ``"sum"`` (sum is not clipped; it can exceed 1);
* absent classes give zero rows;
* several persons: ``subject="all"`` (default) combines the pairs of every person,
  ``subject="top"`` keeps only the pairs of the highest-scoring person;
* the person's own score is not multiplied in unless ``multiply_subject_score=True``.

Inputs are plain tensors or arrays, one row per (person, object) pair, so the function knows
nothing about the model that produced them.
"""

from __future__ import annotations

from typing import Optional, Union

import numpy as np
import torch

from ag_detectron.vocabulary import OBJECT_CLASSES, PERSON_CATEGORY_ID, predicate_vocabulary

from .errors import FeatureBankError
from .provenance import BankProvenance, scene_graph_vocabulary

__all__ = [
    "COMBINE_RULES",
    "SUBJECT_RULES",
    "confidence_matrix",
    "predicate_probabilities",
    "scene_graph_bank_vocabulary",
    "scene_graph_provenance",
]

COMBINE_RULES = ("max", "mean", "sum")
SUBJECT_RULES = ("all", "top")

ArrayLike = Union[torch.Tensor, np.ndarray]


def scene_graph_bank_vocabulary(num_predicates: int = 26) -> dict:
    """``{"objects": 35 names (person excluded), "predicates": 26 or 25 names}`` in the order of
    the confidence matrix's rows and columns."""
    if num_predicates not in (25, 26):
        raise FeatureBankError(f"num_predicates={num_predicates}; expected 26 or 25")
    preds = list(predicate_vocabulary(num_predicates).classes)
    objects = [c for i, c in enumerate(OBJECT_CLASSES) if i != PERSON_CATEGORY_ID]
    return scene_graph_vocabulary(objects, preds)


def scene_graph_provenance(
    kind: str = "scene_graph",
    num_predicates: int = 26,
    rate: Optional[float] = 2.0,
    producer_config_hash: str = "",
    weights_hash: str = "",
    dtype: str = "float16",
) -> BankProvenance:
    """Provenance of a confidence-matrix bank (``kind`` "scene_graph" or "oracle"; the oracle
    has ``rate=None``: its entries sit on Action Genome's annotated frames)."""
    vocab = scene_graph_bank_vocabulary(num_predicates)
    return BankProvenance(
        kind=kind,
        dim=len(vocab["objects"]) * len(vocab["predicates"]),
        rate=rate,
        vocabulary=vocab,
        producer_config_hash=producer_config_hash,
        weights_hash=weights_hash,
        dtype=dtype,
    )


def predicate_probabilities(
    attention: ArrayLike,
    spatial: ArrayLike,
    contacting: ArrayLike,
    num_predicates: int = 26,
) -> torch.Tensor:
    """Concatenate the per-group probabilities of N pairs in global predicate order.

    Args:
        attention: ``(N, 3)`` softmax probabilities; spatial: ``(N, 6)`` and contacting:
            ``(N, 17)`` sigmoid probabilities (the relation head's output fields), or ``(N, 16)``
            contacting probabilities already without ``other_relationship``.
        num_predicates: 26 (release order) or 25 (``other_relationship`` removed).

    Returns:
        ``(N, num_predicates)`` float32 tensor.
    """
    groups = (attention, spatial, contacting)
    probs = torch.cat([torch.as_tensor(x, dtype=torch.float32) for x in groups], dim=1)
    release = predicate_vocabulary(26)
    if num_predicates != release.size and probs.shape[1] == release.size:
        probs = probs[:, list(predicate_vocabulary(num_predicates).release_ids)]
    if probs.shape[1] != num_predicates:
        raise FeatureBankError(
            f"predicate_probabilities: groups give {probs.shape[1]} predicates; expected "
            f"{num_predicates}"
        )
    return probs


def confidence_matrix(
    object_classes: ArrayLike,
    object_scores: ArrayLike,
    relation_probs: ArrayLike,
    *,
    num_object_classes: int = 35,
    first_object_id: int = 1,
    combine: str = "max",
    subject_ids: Optional[ArrayLike] = None,
    subject_scores: Optional[ArrayLike] = None,
    subject: str = "all",
    multiply_subject_score: bool = False,
) -> torch.Tensor:
    """The flattened confidence matrix of one frame (module docstring).

    Args:
        object_classes: ``(N,)`` int category ids of the object of each pair; valid ids are
            ``first_object_id .. first_object_id + num_object_classes - 1`` (Action Genome:
            1..35, person = 0 is never an object).
        object_scores: ``(N,)`` detector class score of each pair's object.
        relation_probs: ``(N, P)`` probability of each predicate for each pair.
        num_object_classes: rows of C (35).
        first_object_id: category id of row 0.
        combine: how pairs of the same object class combine: ``"max"``, ``"mean"``, ``"sum"``.
        subject_ids: ``(N,)`` int id of each pair's person (any ids; needed for
            ``subject="top"``). Default: every pair has the same person.
        subject_scores: ``(N,)`` score of each pair's person (needed for ``subject="top"`` and
            ``multiply_subject_score``).
        subject: ``"all"`` or ``"top"`` (module docstring).
        multiply_subject_score: multiply each pair's value by its person's score.

    Returns:
        ``(num_object_classes * P,)`` float32 tensor, ``C[i, j]`` at ``i * P + j``.
    """
    if combine not in COMBINE_RULES:
        raise FeatureBankError(f"combine={combine!r}; expected one of {COMBINE_RULES}")
    if subject not in SUBJECT_RULES:
        raise FeatureBankError(f"subject={subject!r}; expected one of {SUBJECT_RULES}")
    classes = torch.as_tensor(object_classes).long().reshape(-1)
    scores = torch.as_tensor(object_scores, dtype=torch.float32).reshape(-1)
    probs = torch.as_tensor(relation_probs, dtype=torch.float32)
    n = classes.numel()
    if probs.ndim != 2 or probs.shape[0] != n or scores.numel() != n:
        raise FeatureBankError(
            f"confidence_matrix: object_classes ({n},), object_scores ({scores.numel()},), "
            f"relation_probs {tuple(probs.shape)}; expected (N,), (N,), (N, P)"
        )
    num_pred = probs.shape[1]
    rows = classes - first_object_id
    bad = (rows < 0) | (rows >= num_object_classes)
    if bool(bad.any()):
        raise FeatureBankError(
            f"confidence_matrix: object class {int(classes[bad][0])} outside the object ids "
            f"{first_object_id}..{first_object_id + num_object_classes - 1} (person is never an "
            f"object)"
        )
    need_subject_scores = subject == "top" or multiply_subject_score
    if need_subject_scores and subject_scores is None:
        raise FeatureBankError(
            "confidence_matrix: subject='top' / multiply_subject_score need subject_scores"
        )
    sub_scores = None
    if subject_scores is not None:
        sub_scores = torch.as_tensor(subject_scores, dtype=torch.float32).reshape(-1)
        if sub_scores.numel() != n:
            raise FeatureBankError(
                f"confidence_matrix: subject_scores has {sub_scores.numel()} values; expected {n}"
            )
    values = scores[:, None] * probs  # (N, P)
    if multiply_subject_score:
        values = values * sub_scores[:, None]
    if subject == "top" and n:
        sub_ids = (
            torch.zeros(n, dtype=torch.long)
            if subject_ids is None
            else torch.as_tensor(subject_ids).long().reshape(-1)
        )
        if sub_ids.numel() != n:
            raise FeatureBankError(
                f"confidence_matrix: subject_ids has {sub_ids.numel()} values; expected {n}"
            )
        best = torch.argmax(sub_scores)  # first maximum: ties go to the earliest pair's person
        keep = sub_ids == sub_ids[best]
        values, rows = values[keep], rows[keep]
    out = torch.zeros(num_object_classes, num_pred, dtype=torch.float32)
    if values.shape[0]:
        index = rows[:, None].expand_as(values)
        reduce = {"max": "amax", "mean": "mean", "sum": "sum"}[combine]
        out = out.scatter_reduce(0, index, values, reduce=reduce, include_self=False)
    return out.reshape(-1)
