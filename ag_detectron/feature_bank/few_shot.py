"""Few-shot action-recognition splits (Action Genome paper §5.2), published and seeded.

The paper splits Charades' 157 classes into 137 base / 20 novel classes and trains each head on
k = 1, 5, 10 examples per novel class, but publishes neither the classes nor the examples. Ours,
fully determined by the seed S and the training videos:

* **novel classes**: ``numpy.random.default_rng(S).choice(C, n_novel, replace=False)``, sorted;
  ``n_novel = 20`` for 157 classes, ``max(1, round(C * 20 / 157))`` for a smaller vocabulary
  (the synthetic world); every other class is a base class.
* **base training**: every training video that carries **no** novel label.
* **k-shot training videos**: for each k, with ``default_rng([S, k])``, novel classes are visited
  in class-id order; a video counts as a shot for every novel label it carries, so class c draws
  (without replacement, among videos not drawn yet) only the ``k - (shots it already has)``
  videos it still needs. Every novel class ends with at least k positive videos (more when shots
  of earlier classes carry it); a class with too few videos takes them all and the shortfall is
  recorded in the split and warned about once.

The JSON file (``write_few_shot_split``) holds the seed, the classes, the base training videos and
the k-shot videos; :func:`load_few_shot_split` checks it against the class count and the known
videos and raises :class:`~ag_detectron.errors.DatasetFormatError` naming the file.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Set

import numpy as np

from ag_detectron.errors import DatasetFormatError

__all__ = [
    "SPLIT_FORMAT",
    "default_num_novel",
    "video_label_sets",
    "make_few_shot_split",
    "write_few_shot_split",
    "load_few_shot_split",
    "validate_few_shot_split",
]

logger = logging.getLogger(__name__)

SPLIT_FORMAT = "ag_detectron.few_shot_split"
SPLIT_VERSION = 1
DEFAULT_SHOTS = (1, 5, 10)


def default_num_novel(num_classes: int) -> int:
    """20 of Charades' 157 classes; the same proportion (at least 1) for other vocabularies."""
    if num_classes < 2:
        raise DatasetFormatError(f"few-shot split: {num_classes} classes; need at least 2")
    return 20 if num_classes == 157 else max(1, min(num_classes - 1, round(num_classes * 20 / 157)))


def video_label_sets(videos: Iterable[Mapping[str, Any]], num_classes: int) -> Dict[str, Set[int]]:
    """``{video_id: set of class ids}`` from Charades video dicts (multi-hot ``labels``)."""
    out: Dict[str, Set[int]] = {}
    for v in videos:
        labels = v["labels"]
        if len(labels) != num_classes:
            raise DatasetFormatError(
                f"few-shot split: video {v['video_id']}: {len(labels)} labels; expected "
                f"{num_classes}"
            )
        out[v["video_id"]] = {c for c, x in enumerate(labels) if x}
    return out


def make_few_shot_split(
    videos: Iterable[Mapping[str, Any]],
    num_classes: int,
    seed: int,
    *,
    num_novel: Optional[int] = None,
    shots: Sequence[int] = DEFAULT_SHOTS,
    class_names: Optional[Sequence[str]] = None,
) -> Dict[str, Any]:
    """Draw the split of seed ``seed`` from the training videos (module docstring).

    Args:
        videos: Charades training video dicts (``video_id``, multi-hot ``labels``).
        num_classes: C.
        seed: S.
        num_novel: default :func:`default_num_novel`.
        shots: the k values.
        class_names: stored in the JSON for readers (optional).

    Returns:
        The JSON-able split: ``seed``, ``num_classes``, ``novel_classes``, ``base_classes``,
        ``base_train_videos``, ``shots = {str(k): {"videos", "drawn_per_class",
        "positives_per_class", "shortfall"}}``.
    """
    labels = video_label_sets(videos, num_classes)
    n_novel = default_num_novel(num_classes) if num_novel is None else int(num_novel)
    if not 1 <= n_novel < num_classes:
        raise DatasetFormatError(f"few-shot split: num_novel={n_novel} of {num_classes} classes")
    novel = sorted(int(c) for c in np.random.default_rng(seed).choice(num_classes, n_novel, False))
    novel_set = set(novel)
    ids = sorted(labels)
    base_train = [v for v in ids if not labels[v] & novel_set]
    by_class = {c: [v for v in ids if c in labels[v]] for c in novel}
    shot_sets: Dict[str, Any] = {}
    short: Dict[int, int] = {}
    for k in shots:
        if int(k) < 1:
            raise DatasetFormatError(f"few-shot split: k={k}; expected >= 1")
        rng = np.random.default_rng([seed, int(k)])
        chosen: List[str] = []
        taken: Set[str] = set()
        drawn: Dict[str, List[str]] = {}
        shortfall: Dict[str, int] = {}
        for c in novel:
            have = sum(1 for v in chosen if c in labels[v])
            need = max(0, int(k) - have)
            pool = [v for v in by_class[c] if v not in taken]
            if len(pool) < need:
                shortfall[str(c)] = need - len(pool)
                short[c] = max(short.get(c, 0), need - len(pool))
                need = len(pool)
            pick = (
                sorted(pool[i] for i in rng.choice(len(pool), need, replace=False)) if need else []
            )
            drawn[str(c)] = pick
            chosen.extend(pick)
            taken.update(pick)
        shot_sets[str(k)] = {
            "videos": sorted(chosen),
            "drawn_per_class": drawn,
            "positives_per_class": {str(c): sum(c in labels[v] for v in chosen) for c in novel},
            "shortfall": shortfall,
        }
    if short:
        logger.warning(
            "few-shot split (seed %d): %d novel classes have fewer training videos than k (class: "
            "missing shots at the largest k): %s; they use every video they have",
            seed,
            len(short),
            short,
        )
    return {
        "format": SPLIT_FORMAT,
        "version": SPLIT_VERSION,
        "seed": int(seed),
        "num_classes": int(num_classes),
        "class_names": list(class_names) if class_names is not None else None,
        "novel_classes": novel,
        "base_classes": [c for c in range(num_classes) if c not in novel_set],
        "base_train_videos": base_train,
        "num_train_videos": len(ids),
        "shots": shot_sets,
    }


def write_few_shot_split(split: Mapping[str, Any], path: str) -> str:
    """Write the split as JSON (temporary file + rename); returns ``path``."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(split, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
    return path


def _fail(path: str, what: str) -> DatasetFormatError:
    return DatasetFormatError(f"{path}: few-shot split {what}")


def load_few_shot_split(
    path: str,
    num_classes: Optional[int] = None,
    known_videos: Optional[Iterable[str]] = None,
) -> Dict[str, Any]:
    """Read and check a split file.

    Checks: the format; novel and base classes partition ``range(num_classes)`` (the file's
    ``num_classes`` must equal the caller's); every video is in ``known_videos`` (when given);
    base training and k-shot videos are disjoint. Raises DatasetFormatError naming ``path``.
    """
    try:
        with open(path, "r", encoding="utf-8") as f:
            split = json.load(f)
    except FileNotFoundError:
        raise DatasetFormatError(f"{path}: few-shot split file not found") from None
    except json.JSONDecodeError as e:
        raise DatasetFormatError(f"{path}: few-shot split is not valid JSON ({e})") from None
    if not isinstance(split, dict) or split.get("format") != SPLIT_FORMAT:
        raise _fail(path, f"has no 'format': {SPLIT_FORMAT!r}")
    for key in ("num_classes", "novel_classes", "base_classes", "base_train_videos", "shots"):
        if key not in split:
            raise _fail(path, f"misses the field {key!r}")
    n = split["num_classes"]
    if num_classes is not None and n != num_classes:
        raise _fail(path, f"field 'num_classes' is {n}; the dataset has {num_classes} classes")
    novel, base = split["novel_classes"], split["base_classes"]
    for name, classes in (("novel_classes", novel), ("base_classes", base)):
        bad = [c for c in classes if not isinstance(c, int) or not 0 <= c < n]
        if bad:
            raise _fail(
                path, f"field {name!r} names unknown classes {bad[:5]} (expected 0..{n - 1})"
            )
    if set(novel) & set(base) or sorted(novel + base) != list(range(n)):
        raise _fail(path, "novel and base classes do not partition the classes")
    known = set(known_videos) if known_videos is not None else None
    base_videos = set(split["base_train_videos"])
    for k, entry in split["shots"].items():
        vids = entry.get("videos", [])
        if known is not None:
            unknown = sorted(set(vids) - known)
            if unknown:
                raise _fail(path, f"{k}-shot names unknown videos {unknown[:5]}")
        both = sorted(base_videos & set(vids))
        if both:
            raise _fail(path, f"{k}-shot videos {both[:5]} are also base training videos")
        bad = [c for c in map(int, entry.get("drawn_per_class", {})) if c not in set(novel)]
        if bad:
            raise _fail(path, f"{k}-shot draws for classes {bad[:5]} that are not novel")
    if known is not None:
        unknown = sorted(base_videos - known)
        if unknown:
            raise _fail(path, f"field 'base_train_videos' names unknown videos {unknown[:5]}")
    return split


def validate_few_shot_split(
    split: Mapping[str, Any], videos: Iterable[Mapping[str, Any]], path: str = "<split>"
) -> None:
    """Check the split against the videos' labels: no novel label in base training, and every
    k-shot set gives each novel class min(k, available) positives. Raises DatasetFormatError."""
    labels = video_label_sets(videos, split["num_classes"])
    novel = set(split["novel_classes"])
    for v in split["base_train_videos"]:
        if v not in labels:
            raise _fail(path, f"base training video {v!r} is not a known video")
        if labels[v] & novel:
            raise _fail(
                path, f"base training video {v!r} carries novel classes {sorted(labels[v] & novel)}"
            )
    for k, entry in split["shots"].items():
        for c in sorted(novel):
            pos = sum(1 for v in entry["videos"] if c in labels.get(v, ()))
            available = sum(1 for v in labels if c in labels[v])
            if pos < min(int(k), available):
                raise _fail(
                    path,
                    f"{k}-shot gives class {c} {pos} positive videos; expected >= "
                    f"{min(int(k), available)}",
                )
