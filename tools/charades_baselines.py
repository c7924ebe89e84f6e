#!/usr/bin/env python
"""Charades mAP of the reference baselines (all-negative, label frequency, random) on a test split.

The numbers a clip model must beat, scored by the same metric functions as the evaluator, on the
same videos (every video of the test split, as ``CharadesEvaluator`` scores them)::

    python tools/charades_baselines.py --train charades_synth_train --test charades_synth_test
"""

import argparse
import json

import numpy as np
from detectron2.data import DatasetCatalog

import ag_detectron  # noqa: F401  (registers the builtin datasets)
from ag_detectron.evaluation.charades_baselines import charades_baselines


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", default="charades_train", help="split for the label frequencies")
    parser.add_argument("--test", default="charades_test", help="split the baselines are scored on")
    args = parser.parse_args(argv)
    labels = {
        name: np.asarray([v["labels"] for v in DatasetCatalog.get(name)])
        for name in (args.train, args.test)
    }
    results = charades_baselines(labels[args.train], labels[args.test])
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
