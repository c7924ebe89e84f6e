"""The frequency prior's statistics file (``FREQ_BIAS_FILE``) of registered training datasets:
the one counting function behind ``tools/compute_predicate_stats.py``, the demo's stats stage and
the engine's test helper (``engine.testing.write_tiny_stats``)."""

import logging
import os
from typing import Sequence, Tuple

from detectron2.data import DatasetCatalog, MetadataCatalog

from ..errors import DatasetFormatError
from ..evaluation.relation_evaluation import dataset_vocabulary as predicate_vocabulary_of
from ..modeling.relation_heads.freq_prior import (
    PredicateCounts,
    compute_predicate_counts,
    save_predicate_counts,
)
from ..vocabulary import OBJECT_CLASSES, PredicateVocabulary

__all__ = ["dataset_vocabulary", "write_predicate_stats"]

logger = logging.getLogger(__name__)


def dataset_vocabulary(name: str) -> Tuple[Tuple[str, ...], PredicateVocabulary]:
    """Object classes and predicate vocabulary of a registered dataset.

    Read from its metadata (``thing_classes``; ``predicate_classes`` and groups through
    :func:`ag_detectron.evaluation.relation_evaluation.dataset_vocabulary`); the release
    vocabulary of :mod:`ag_detectron.vocabulary` where the metadata has none.
    """
    objects = tuple(MetadataCatalog.get(name).get("thing_classes", OBJECT_CLASSES))
    return objects, predicate_vocabulary_of(name)


def write_predicate_stats(dataset_names: Sequence[str], output: str) -> PredicateCounts:
    """Count the predicates of ``dataset_names`` (training splits only: the table initialises a
    model) and write the stats file ``output`` (format: ``freq_prior.save_predicate_counts``), in
    the datasets' own predicate vocabulary (26 release predicates or the paper's 25).

    Raises:
        DatasetFormatError: the datasets have different vocabularies, or no relation has a person
            subject (nothing to count).
    """
    vocab = [dataset_vocabulary(n) for n in dataset_names]
    if any(v != vocab[0] for v in vocab[1:]):
        raise DatasetFormatError(
            f"datasets {list(dataset_names)} have different vocabularies "
            "(thing_classes / predicate_classes / predicate_groups)"
        )
    objects, predicates = vocab[0]
    dicts = [d for name in dataset_names for d in DatasetCatalog.get(name)]
    counts = compute_predicate_counts(dicts, len(objects), predicates.size)
    if counts.pair_counts.sum() == 0:
        raise DatasetFormatError(
            f"{list(dataset_names)}: no relation with a person subject; nothing to count"
        )
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    save_predicate_counts(
        output,
        counts,
        list(objects),
        list(predicates.classes),
        predicates.group_sizes,
        list(dataset_names),
    )
    logger.info(
        "Wrote %s: %d frames, %d relations (%d skipped without person)",
        output,
        len(dicts),
        int(counts.pair_counts.sum()),
        counts.num_skipped_relations,
    )
    return counts
