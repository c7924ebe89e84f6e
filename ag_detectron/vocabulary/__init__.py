"""The Action Genome vocabulary: object classes, predicates, predicate groups, readable names.

This is the ONE definition of the class lists, the predicate groups (names, index ranges,
multi-label flags, widths) and the two predicate id spaces. It uses the standard library only
(no torch, no detectron2, nothing from ``ag_detectron.data``), so models, evaluation, tools and the
data layer can all import it. Everything else reads a :class:`PredicateVocabulary` (from here or
from a dataset's metadata, :meth:`PredicateVocabulary.from_metadata`) instead of writing group
ranges or widths itself. The id spaces are described in ``docs/design.md`` ("Vocabulary").

Class files. ``object_classes.txt`` and ``relationship_classes.txt`` in this package are byte
copies of the release's files: one token per line, ``/`` and ``_`` removed (``closetcabinet``,
``notlookingat``). Tokens are the ids' names everywhere (metadata, stats files, JSON keys).
The annotation pickles spell the same names with separators (``closet/cabinet``,
``not_looking_at``); :data:`PKL_OBJECT_NAMES` / :data:`PKL_PREDICATE_NAMES` list them and
:func:`normalize_name` maps both spellings onto the token. Readable names for display
(``closet/cabinet``, ``not looking at``) are :data:`OBJECT_READABLE_NAMES` and
:attr:`PredicateVocabulary.readable_names`.

Id spaces (0-based):

* object ``category_id`` = line of ``object_classes.txt``: ``person`` is 0, 35 objects 1..35.
* release predicate id = line of ``relationship_classes.txt`` (26 predicates): groups are the
  contiguous slices attention, spatial, contacting (:data:`RELEASE`).
* paper predicate id (25 predicates, :data:`PAPER`): ``other_relationship`` removed, every id
  above it shifted down by one (``sitting_on``: release 19, paper 18). Convert with
  :meth:`PredicateVocabulary.to_release` / :meth:`PredicateVocabulary.from_release`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ag_detectron.errors import ConfigError

__all__ = [
    "VOCAB_DIR",
    "read_class_file",
    "normalize_name",
    "readable_name",
    "OBJECT_CLASSES",
    "OBJECT_READABLE_NAMES",
    "PKL_OBJECT_NAMES",
    "PKL_PREDICATE_NAMES",
    "PERSON_CATEGORY_ID",
    "NUM_OBJECT_CLASSES",
    "OTHER_RELATIONSHIP",
    "OTHER_RELATIONSHIP_ID",
    "PredicateGroup",
    "PredicateVocabulary",
    "predicate_vocabulary",
    "NUM_PREDICATES_CHOICES",
    "RELEASE",
    "PAPER",
    "GROUP_NAMES",
    "object_name_to_id",
    "predicate_name_to_id",
    "object_display_name",
    "predicate_display_name",
    "vocabulary_for_widths",
]

VOCAB_DIR = os.path.dirname(os.path.abspath(__file__))


def normalize_name(name: str) -> str:
    """Token of a class or predicate name: ``/`` and ``_`` removed, outer whitespace stripped.

    ``normalize_name("sofa/couch") == "sofacouch"``;
    ``normalize_name("looking_at") == "lookingat"``.
    """
    return name.replace("/", "").replace("_", "").strip()


def readable_name(pkl_name: str) -> str:
    """Display form of a pickle spelling: ``_`` becomes a space (``not_looking_at`` -> ``not
    looking at``); slashes stay (``closet/cabinet``)."""
    return pkl_name.replace("_", " ")


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
_NUM_RELEASE_PREDICATES = 26

OBJECT_CLASSES: Tuple[str, ...] = tuple(
    read_class_file(os.path.join(VOCAB_DIR, "object_classes.txt"), NUM_OBJECT_CLASSES)
)
_RELEASE_TOKENS: Tuple[str, ...] = tuple(
    read_class_file(os.path.join(VOCAB_DIR, "relationship_classes.txt"), _NUM_RELEASE_PREDICATES)
)

# Spellings used inside the annotation pickle, in class-file order. person never
# appears as an object 'class' in the pickle; its entry is kept for index alignment.
# fmt: off
PKL_OBJECT_NAMES: Tuple[str, ...] = (
    "person", "bag", "bed", "blanket", "book", "box", "broom", "chair", "closet/cabinet", "clothes",
    "cup/glass/bottle", "dish", "door", "doorknob", "doorway", "floor", "food", "groceries",
    "laptop", "light", "medicine", "mirror", "paper/notebook", "phone/camera", "picture", "pillow",
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
# The three groups of the release, as (name, first token, last token, multi-label).
_RELEASE_GROUPS = (
    ("attention", "lookingat", "unsure", False),
    ("spatial", "above", "in", True),
    ("contacting", "carrying", "writingon", True),
)
# fmt: on

assert tuple(normalize_name(n) for n in PKL_OBJECT_NAMES) == OBJECT_CLASSES, "pkl object names"
assert tuple(normalize_name(n) for n in PKL_PREDICATE_NAMES) == _RELEASE_TOKENS, "pkl predicates"

OBJECT_READABLE_NAMES: Tuple[str, ...] = tuple(readable_name(n) for n in PKL_OBJECT_NAMES)
PERSON_CATEGORY_ID = OBJECT_CLASSES.index("person")
OTHER_RELATIONSHIP = "otherrelationship"
OTHER_RELATIONSHIP_ID = _RELEASE_TOKENS.index(OTHER_RELATIONSHIP)  # release id; absent from PAPER
GROUP_NAMES: Tuple[str, ...] = tuple(g[0] for g in _RELEASE_GROUPS)


@dataclass(frozen=True)
class PredicateGroup:
    """A contiguous slice ``[start, stop)`` of one vocabulary's predicate ids.

    Attributes:
        name: "attention", "spatial" or "contacting".
        start, stop: the slice in the vocabulary's id space.
        multi_label: False: one label per pair (softmax); True: any subset (sigmoid).
    """

    name: str
    start: int
    stop: int
    multi_label: bool

    @property
    def size(self) -> int:
        """Number of predicates of the group (the model's and evaluator's column width)."""
        return self.stop - self.start

    @property
    def score_field(self) -> str:
        """Field of a ``relations`` Instances with the (P, size) probabilities of this group."""
        return f"{self.name}_scores"

    @property
    def target_field(self) -> str:
        """Field of a ground-truth ``relations`` Instances with the (R, size) 0/1 targets."""
        return f"gt_{self.name}"

    def __contains__(self, predicate_id: object) -> bool:
        return isinstance(predicate_id, int) and self.start <= predicate_id < self.stop


@dataclass(frozen=True)
class PredicateVocabulary:
    """One predicate id space: tokens, groups and the mapping onto the release's 26 ids.

    Attributes:
        classes: (K,) predicate tokens in id order (the class file's spelling).
        groups: the groups in id order; they tile ``[0, K)``.
        release_ids: (K,) release id of each id of this space (identity for the release).
    """

    classes: Tuple[str, ...]
    groups: Tuple[PredicateGroup, ...]
    release_ids: Tuple[int, ...]

    @property
    def size(self) -> int:
        """K, the number of predicates (26 release, 25 paper)."""
        return len(self.classes)

    @property
    def group_sizes(self) -> Tuple[int, ...]:
        """Widths of the groups in order, e.g. (3, 6, 17) for the release."""
        return tuple(g.size for g in self.groups)

    @property
    def multi_label(self) -> Tuple[bool, ...]:
        """Per group, whether it is multi-label."""
        return tuple(g.multi_label for g in self.groups)

    @property
    def group_names(self) -> Tuple[str, ...]:
        return tuple(g.name for g in self.groups)

    @property
    def readable_names(self) -> Tuple[str, ...]:
        """Display names (``not looking at``, ``on the side of``), in id order."""
        return tuple(readable_name(PKL_PREDICATE_NAMES[r]) for r in self.release_ids)

    def group(self, name: str) -> PredicateGroup:
        """The group called ``name``; ``KeyError`` listing the group names otherwise."""
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(f"no predicate group {name!r}; groups are {list(self.group_names)}")

    def group_of(self, predicate_id: int) -> PredicateGroup:
        """The group an id of this space belongs to; ``ValueError`` outside ``[0, K)``."""
        for g in self.groups:
            if g.start <= predicate_id < g.stop:
                return g
        raise ValueError(f"predicate id {predicate_id} is outside [0, {self.size})")

    def to_release(self, predicate_id: int) -> int:
        """Release id of an id of this space."""
        if not 0 <= predicate_id < self.size:
            raise ValueError(f"predicate id {predicate_id} is outside [0, {self.size})")
        return self.release_ids[predicate_id]

    def from_release(self, release_id: int) -> Optional[int]:
        """Id in this space of a release id; ``None`` when this space drops that predicate."""
        if not 0 <= release_id < _NUM_RELEASE_PREDICATES:
            raise ValueError(f"release predicate id {release_id} is outside [0, 26)")
        try:
            return self.release_ids.index(release_id)
        except ValueError:
            return None

    def index(self, name: str) -> int:
        """Id of a predicate name in either spelling; ``KeyError`` naming it otherwise."""
        token = normalize_name(name)
        if token not in self.classes:
            raise KeyError(f"predicate {name!r} is not in the {self.size}-predicate vocabulary")
        return self.classes.index(token)

    def describe(self) -> str:
        """``"26 predicates (attention 3, spatial 6, contacting 17)"`` for messages."""
        parts = ", ".join(f"{g.name} {g.size}" for g in self.groups)
        return f"{self.size} predicates ({parts})"

    def metadata(self) -> Dict[str, Any]:
        """The dataset-metadata entries that carry this vocabulary (``MetadataCatalog.set``):
        ``predicate_classes`` (tokens), ``predicate_readable_names``, ``predicate_groups``
        (name -> (start, stop)) and ``predicate_multi_label`` (name -> bool)."""
        return {
            "predicate_classes": list(self.classes),
            "predicate_readable_names": list(self.readable_names),
            "predicate_groups": {g.name: (g.start, g.stop) for g in self.groups},
            "predicate_multi_label": {g.name: g.multi_label for g in self.groups},
        }

    @staticmethod
    def from_metadata(meta: Any, where: str = "dataset") -> "PredicateVocabulary":
        """The vocabulary whose tokens are ``meta.predicate_classes`` (a ``Metadata`` or a dict).

        Raises:
            ConfigError: no ``predicate_classes``, or a list that is neither known vocabulary, or
                ``predicate_groups`` that disagree with the known groups (names ``where``).
        """
        get = meta.get if isinstance(meta, Mapping) else lambda k, d=None: meta.get(k, d)
        classes = get("predicate_classes", None)
        if not classes:
            raise ConfigError(f"{where}: metadata has no 'predicate_classes'")
        tokens = tuple(normalize_name(c) for c in classes)
        for vocab in _VOCABULARIES.values():
            if vocab.classes == tokens:
                groups = get("predicate_groups", None)
                if groups is not None:
                    found = {k: tuple(v) for k, v in dict(groups).items()}
                    if found != {g.name: (g.start, g.stop) for g in vocab.groups}:
                        raise ConfigError(
                            f"{where}: metadata 'predicate_groups' {found} do not match the "
                            f"{vocab.describe()} vocabulary"
                        )
                return vocab
        raise ConfigError(
            f"{where}: metadata 'predicate_classes' ({len(tokens)} names) is neither the release "
            f"vocabulary (26) nor the paper's (25, without {OTHER_RELATIONSHIP})"
        )


def _build(release_ids: Sequence[int]) -> PredicateVocabulary:
    """The vocabulary of the release ids ``release_ids`` (in order); groups keep their order."""
    classes = tuple(_RELEASE_TOKENS[r] for r in release_ids)
    groups, start = [], 0
    for name, first, last, multi in _RELEASE_GROUPS:
        lo, hi = _RELEASE_TOKENS.index(first), _RELEASE_TOKENS.index(last) + 1
        size = sum(1 for r in release_ids if lo <= r < hi)
        groups.append(PredicateGroup(name, start, start + size, multi))
        start += size
    return PredicateVocabulary(classes, tuple(groups), tuple(release_ids))


RELEASE = _build(range(_NUM_RELEASE_PREDICATES))
PAPER = _build([r for r in range(_NUM_RELEASE_PREDICATES) if r != OTHER_RELATIONSHIP_ID])
_VOCABULARIES: Dict[int, PredicateVocabulary] = {RELEASE.size: RELEASE, PAPER.size: PAPER}
NUM_PREDICATES_CHOICES: Tuple[int, ...] = tuple(_VOCABULARIES)  # (26, 25)


def predicate_vocabulary(num_predicates: int, key: str = "num_predicates") -> PredicateVocabulary:
    """The vocabulary with ``num_predicates`` predicates: 26 (release) or 25 (paper).

    Raises:
        ConfigError: any other number (the message names ``key``, e.g. a config key).
    """
    try:
        return _VOCABULARIES[int(num_predicates)]
    except (KeyError, TypeError, ValueError):
        raise ConfigError(
            f"{key}={num_predicates!r}: expected 26 (the release's predicates) or 25 (the paper's, "
            f"without {OTHER_RELATIONSHIP})"
        ) from None


_OBJECT_INDEX: Dict[str, int] = {name: i for i, name in enumerate(OBJECT_CLASSES)}


def object_name_to_id(name: str) -> int:
    """Category id of an object name in either spelling (``'sofa/couch'`` or ``'sofacouch'``).

    Raises ``KeyError`` with the offending name when it is not one of the 36 classes.
    """
    try:
        return _OBJECT_INDEX[normalize_name(name)]
    except KeyError:
        raise KeyError(f"unknown Action Genome object class {name!r}") from None


def predicate_name_to_id(name: str) -> int:
    """Release predicate id of a name in either spelling (``'looking_at'`` or ``'lookingat'``)."""
    try:
        return RELEASE.index(name)
    except KeyError:
        raise KeyError(f"unknown Action Genome predicate {name!r}") from None


_OBJECT_DISPLAY = dict(zip(OBJECT_CLASSES, OBJECT_READABLE_NAMES))
_PREDICATE_DISPLAY = dict(zip(RELEASE.classes, RELEASE.readable_names))


def object_display_name(token: str) -> str:
    """Readable name of an object token (``closetcabinet`` -> ``closet/cabinet``); other strings
    (already readable, or classes of another dataset) are returned unchanged."""
    return _OBJECT_DISPLAY.get(token, token)


def predicate_display_name(token: str) -> str:
    """Readable name of a predicate token (``notlookingat`` -> ``not looking at``); other strings
    are returned unchanged."""
    return _PREDICATE_DISPLAY.get(token, token)


def vocabulary_for_widths(widths: Sequence[int]) -> PredicateVocabulary:
    """The vocabulary whose group widths are ``widths`` (e.g. a model output's score columns).

    Raises:
        ConfigError: no known vocabulary has these widths.
    """
    for vocab in _VOCABULARIES.values():
        if vocab.group_sizes == tuple(int(w) for w in widths):
            return vocab
    known = {v.size: v.group_sizes for v in _VOCABULARIES.values()}
    raise ConfigError(f"predicate group widths {tuple(widths)} match no vocabulary {known}")
