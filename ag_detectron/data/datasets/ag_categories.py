"""Action Genome vocabularies: the 36 object classes, the 26 predicates and their three groups.

Data only. The canonical class lists are read from byte-exact copies of the release's
``object_classes.txt`` / ``relationship_classes.txt`` shipped in ``vocab/`` (file tokens: slashes and
underscores removed, no trailing newline). The annotation pickles spell the same names differently
(``sofa/couch``, ``looking_at``); ``PKL_OBJECT_NAMES`` / ``PKL_PREDICATE_NAMES`` list those spellings,
and :func:`normalize_name` maps either spelling onto the file token. The module asserts at import that
the pickle spellings normalise onto the class files one-to-one, so a wrong spelling cannot slip in.

Index conventions (0-based):

* object ``category_id`` = line of ``object_classes.txt``; ``person`` is 0, the 35 objects are 1..35.
* global predicate id = line of ``relationship_classes.txt``; groups are contiguous slices:
  attention ``[0:3]``, spatial ``[3:9]``, contacting ``[9:26]``.
"""
from __future__ import annotations

import os
from typing import Dict, List, NamedTuple, Sequence, Tuple

__all__ = [
    "VOCAB_DIR",
    "read_class_file",
    "normalize_name",
    "OBJECT_CLASSES",
    "PREDICATE_CLASSES",
    "PKL_OBJECT_NAMES",
    "PKL_PREDICATE_NAMES",
    "PredicateGroup",
    "PREDICATE_GROUPS",
    "ATTENTION",
    "SPATIAL",
    "CONTACTING",
    "OTHER_RELATIONSHIP_ID",
    "PERSON_CATEGORY_ID",
    "object_name_to_id",
    "predicate_name_to_id",
    "group_of_predicate",
]

VOCAB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vocab")


def normalize_name(name: str) -> str:
    """Canonical token of a class or predicate name: ``/`` and ``_`` removed, whitespace stripped.

    ``normalize_name("sofa/couch") == "sofacouch"``, ``normalize_name("looking_at") == "lookingat"``.
    """
    return name.replace("/", "").replace("_", "").strip()


def read_class_file(path: str, expected_count: int) -> List[str]:
    """Read an AG class file (``object_classes.txt`` or ``relationship_classes.txt``).

    Tolerates a missing or present final newline, CRLF line ends and trailing spaces on a token
    (the circulating ``closetcabinet `` variant). Raises ``ValueError`` naming the file when the
    number of tokens is not ``expected_count`` or a token repeats.
    """
    with open(path, "r", encoding="utf-8") as f:
        tokens = [line.strip() for line in f.read().splitlines()]
    tokens = [t for t in tokens if t]
    if len(tokens) != expected_count:
        raise ValueError(f"{path}: expected {expected_count} class names, found {len(tokens)}")
    if len(set(tokens)) != len(tokens):
        dup = sorted({t for t in tokens if tokens.count(t) > 1})
        raise ValueError(f"{path}: duplicate class names {dup}")
    return tokens


NUM_OBJECT_CLASSES = 36  # person + 35 objects
NUM_PREDICATES = 26

OBJECT_CLASSES: Tuple[str, ...] = tuple(
    read_class_file(os.path.join(VOCAB_DIR, "object_classes.txt"), NUM_OBJECT_CLASSES)
)
PREDICATE_CLASSES: Tuple[str, ...] = tuple(
    read_class_file(os.path.join(VOCAB_DIR, "relationship_classes.txt"), NUM_PREDICATES)
)

# Spellings used inside object_bbox_and_relationship.pkl (docs/ag_format.md §3), class-file order.
# person never appears as an object 'class' in the pickle; its entry is kept for index alignment.
# fmt: off
PKL_OBJECT_NAMES: Tuple[str, ...] = (
    "person", "bag", "bed", "blanket", "book", "box", "broom", "chair", "closet/cabinet", "clothes",
    "cup/glass/bottle", "dish", "door", "doorknob", "doorway", "floor", "food", "groceries", "laptop",
    "light", "medicine", "mirror", "paper/notebook", "phone/camera", "picture", "pillow",
    "refrigerator", "sandwich", "shelf", "shoe", "sofa/couch", "table", "television", "towel",
    "vacuum", "window",
)
PKL_PREDICATE_NAMES: Tuple[str, ...] = (
    "looking_at", "not_looking_at", "unsure",
    "above", "beneath", "in_front_of", "behind", "on_the_side_of", "in",
    "carrying", "covered_by", "drinking_from", "eating", "have_it_on_the_back", "holding",
    "leaning_on", "lying_on", "not_contacting", "other_relationship", "sitting_on", "standing_on",
    "touching", "twisting", "wearing", "wiping", "writing_on",
)
# fmt: on

assert tuple(normalize_name(n) for n in PKL_OBJECT_NAMES) == OBJECT_CLASSES, "pkl object names"
assert tuple(normalize_name(n) for n in PKL_PREDICATE_NAMES) == PREDICATE_CLASSES, "pkl predicates"

PERSON_CATEGORY_ID = 0
OTHER_RELATIONSHIP_ID = PREDICATE_CLASSES.index("otherrelationship")  # 18; dropped in 25-class mode


class PredicateGroup(NamedTuple):
    """A contiguous slice ``[start, stop)`` of the global predicate ids."""

    name: str
    start: int
    stop: int
    multi_label: bool

    @property
    def size(self) -> int:
        return self.stop - self.start

    @property
    def names(self) -> Tuple[str, ...]:
        return PREDICATE_CLASSES[self.start : self.stop]


ATTENTION = PredicateGroup("attention", 0, 3, multi_label=False)
SPATIAL = PredicateGroup("spatial", 3, 9, multi_label=True)
CONTACTING = PredicateGroup("contacting", 9, 26, multi_label=True)
PREDICATE_GROUPS: Tuple[PredicateGroup, ...] = (ATTENTION, SPATIAL, CONTACTING)

_OBJECT_INDEX: Dict[str, int] = {name: i for i, name in enumerate(OBJECT_CLASSES)}
_PREDICATE_INDEX: Dict[str, int] = {name: i for i, name in enumerate(PREDICATE_CLASSES)}


def object_name_to_id(name: str) -> int:
    """Category id of an object name in either spelling (``'sofa/couch'`` or ``'sofacouch'``).

    Raises ``KeyError`` with the offending name when it is not one of the 36 classes.
    """
    try:
        return _OBJECT_INDEX[normalize_name(name)]
    except KeyError:
        raise KeyError(f"unknown Action Genome object class {name!r}") from None


def predicate_name_to_id(name: str) -> int:
    """Global predicate id of a predicate name in either spelling (``'looking_at'`` or ``'lookingat'``)."""
    try:
        return _PREDICATE_INDEX[normalize_name(name)]
    except KeyError:
        raise KeyError(f"unknown Action Genome predicate {name!r}") from None


def group_of_predicate(predicate_id: int) -> PredicateGroup:
    """The group (attention / spatial / contacting) a global predicate id belongs to."""
    for group in PREDICATE_GROUPS:
        if group.start <= predicate_id < group.stop:
            return group
    raise ValueError(f"predicate id {predicate_id} is outside [0, {NUM_PREDICATES})")


def names_in(ids: Sequence[int]) -> List[str]:
    """Predicate file tokens of global ids, for messages and plots."""
    return [PREDICATE_CLASSES[i] for i in ids]
