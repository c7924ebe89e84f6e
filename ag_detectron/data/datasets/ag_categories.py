"""The data layer's view of the Action Genome vocabulary (re-exported from
:mod:`ag_detectron.vocabulary`, the one definition).

Ids here are RELEASE ids (26 predicates); the paper's 25-predicate space is
:data:`ag_detectron.vocabulary.PAPER`.
"""
from __future__ import annotations

from typing import List, Sequence

from ag_detectron.vocabulary import (
    NUM_OBJECT_CLASSES,
    OBJECT_CLASSES,
    OBJECT_READABLE_NAMES,
    OTHER_RELATIONSHIP_ID,
    PERSON_CATEGORY_ID,
    PKL_OBJECT_NAMES,
    PKL_PREDICATE_NAMES,
    RELEASE,
    VOCAB_DIR,
    PredicateGroup,
    normalize_name,
    object_name_to_id,
    predicate_name_to_id,
    read_class_file,
)

__all__ = [
    "VOCAB_DIR",
    "read_class_file",
    "normalize_name",
    "OBJECT_CLASSES",
    "OBJECT_READABLE_NAMES",
    "PREDICATE_CLASSES",
    "PKL_OBJECT_NAMES",
    "PKL_PREDICATE_NAMES",
    "PredicateGroup",
    "PREDICATE_GROUPS",
    "ATTENTION",
    "SPATIAL",
    "CONTACTING",
    "NUM_OBJECT_CLASSES",
    "NUM_PREDICATES",
    "OTHER_RELATIONSHIP_ID",
    "PERSON_CATEGORY_ID",
    "object_name_to_id",
    "predicate_name_to_id",
    "group_of_predicate",
    "names_in",
]

NUM_PREDICATES = RELEASE.size
PREDICATE_CLASSES = RELEASE.classes
PREDICATE_GROUPS = RELEASE.groups
ATTENTION, SPATIAL, CONTACTING = (RELEASE.group(n) for n in ("attention", "spatial", "contacting"))


def group_of_predicate(predicate_id: int) -> PredicateGroup:
    """The group (attention / spatial / contacting) a release predicate id belongs to."""
    return RELEASE.group_of(predicate_id)


def names_in(ids: Sequence[int]) -> List[str]:
    """Predicate tokens of release ids, for messages and plots."""
    return [PREDICATE_CLASSES[i] for i in ids]
