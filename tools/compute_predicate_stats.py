#!/usr/bin/env python
"""Write the predicate-frequency stats file read by the frequency prior (FREQ_BIAS_FILE).

Counts, over the per-frame dicts of one or more registered training datasets, how many relations
have an object of class ``o`` (``n(o)``) and how many of those carry predicate ``r``
(``n(o, r)``); relations without a person subject are skipped and counted. Format and table
formula: ``ag_detectron/modeling/relation_heads/freq_prior.py``; the counting is
``ag_detectron.pipeline.predicate_stats.write_predicate_stats`` (the demo uses it too).

    python tools/compute_predicate_stats.py --dataset ag_train \
        --output datasets/ag_predicate_stats.json

Only training splits should be counted (the table initialises a model). The counts are in the
datasets' own predicate vocabulary (26 release predicates, or 25 for ``ag_train_25``).
"""

import argparse
import logging
import sys
from typing import List, Optional

import ag_detectron.data  # noqa: F401  (registration of the AG datasets)
from ag_detectron.evaluation.relation_evaluation import dataset_vocabulary
from ag_detectron.modeling.relation_heads.freq_prior import (
    compute_predicate_counts,
    save_predicate_counts,
)
from ag_detectron.vocabulary import OBJECT_CLASSES

logger = logging.getLogger("ag_detectron.tools.compute_predicate_stats")


def _vocabulary(name: str):
    """(object classes, predicate vocabulary) of a registered dataset, from its metadata."""
    objects = tuple(MetadataCatalog.get(name).get("thing_classes", OBJECT_CLASSES))
    return objects, dataset_vocabulary(name)


def main(argv: Optional[List[str]] = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", action="append", required=True, help="registered name(s)")
    parser.add_argument("--output", required=True, help="JSON file to write")
    args = parser.parse_args(argv)

    vocab = [_vocabulary(n) for n in args.dataset]
    if any(v != vocab[0] for v in vocab[1:]):
        parser.error(f"datasets {args.dataset} have different vocabularies")
    objects, predicates = vocab[0]
    dicts = [d for name in args.dataset for d in DatasetCatalog.get(name)]
    counts = compute_predicate_counts(dicts, len(objects), predicates.size)
    if counts.pair_counts.sum() == 0:
        raise SystemExit(f"{args.dataset}: no relation with a person subject; nothing to count")
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    save_predicate_counts(
        args.output,
        counts,
        list(objects),
        list(predicates.classes),
        predicates.group_sizes,
        args.dataset,
    )
    logger.info(
        "Wrote %s: %d frames, %d relations (%d skipped without person)",
        args.output,
        len(dicts),
        int(counts.pair_counts.sum()),
        counts.num_skipped_relations,
    )
    return args.output


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main(sys.argv[1:])
