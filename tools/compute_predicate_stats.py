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
from ag_detectron.errors import DatasetFormatError
from ag_detectron.pipeline.predicate_stats import write_predicate_stats


def main(argv: Optional[List[str]] = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", action="append", required=True, help="registered name(s)")
    parser.add_argument("--output", required=True, help="JSON file to write")
    args = parser.parse_args(argv)
    try:
        write_predicate_stats(args.dataset, args.output)
    except DatasetFormatError as e:
        raise SystemExit(str(e)) from e
    return args.output


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main(sys.argv[1:])
