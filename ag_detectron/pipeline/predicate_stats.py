"""The frequency prior's statistics file (``FREQ_BIAS_FILE``) of registered training datasets;
used by ``tools/compute_predicate_stats.py`` and the demo's stats stage."""

import logging
import os
from typing import List, Sequence, Tuple

from detectron2.data import DatasetCatalog, MetadataCatalog

from ..errors import DatasetFormatError
from ..modeling.relation_heads.freq_prior import (
    PredicateCounts,
    compute_predicate_counts,
    save_predicate_counts,
)

__all__ = ["dataset_vocabulary", "write_predicate_stats"]

logger = logging.getLogger(__name__)

_GROUP_ORDER = ("attention", "spatial", "contacting")


def dataset_vocabulary(name: str) -> Tuple[List[str], List[str], List[int]]:
    """Object classes, predicate classes and predicate group sizes of a registered dataset.

    Read from its metadata (``thing_classes``, ``predicate_classes``, ``predicate_groups``);
    the release vocabulary where a key is absent. Seam: when the shared predicate vocabulary
    module lands, the fallback should read it instead of ``ag_categories``.
    """
    from ..data.datasets.ag_categories import OBJECT_CLASSES, PREDICATE_CLASSES, PREDICATE_GROUPS

    meta = MetadataCatalog.get(name)
    objects = list(meta.get("thing_classes", OBJECT_CLASSES))
    predicates = list(meta.get("predicate_classes", PREDICATE_CLASSES))
    groups = meta.get("predicate_groups", {g.name: (g.start, g.stop) for g in PREDICATE_GROUPS})
    sizes = [groups[g][1] - groups[g][0] for g in _GROUP_ORDER]
    return objects, predicates, sizes


def write_predicate_stats(dataset_names: Sequence[str], output: str) -> PredicateCounts:
    """Count the predicates of ``dataset_names`` (training splits only: the table initialises a
    model) and write the stats file ``output`` (format: ``freq_prior.save_predicate_counts``).

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
    objects, predicates, sizes = vocab[0]
    dicts = [d for name in dataset_names for d in DatasetCatalog.get(name)]
    counts = compute_predicate_counts(dicts, len(objects), len(predicates))
    if counts.pair_counts.sum() == 0:
        raise DatasetFormatError(
            f"{list(dataset_names)}: no relation with a person subject; nothing to count"
        )
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    save_predicate_counts(output, counts, objects, predicates, sizes, list(dataset_names))
    logger.info(
        "Wrote %s: %d frames, %d relations (%d skipped without person)",
        output,
        len(dicts),
        int(counts.pair_counts.sum()),
        counts.num_skipped_relations,
    )
    return counts
