#!/usr/bin/env python
"""Write the seeded few-shot splits ``charades_fewshot_seed{S}.json`` (docs/feature_bank.md
"Few-shot splits"): novel classes, base training videos and k-shot videos of a Charades training
set, one file per seed.

    # the real dataset: 137 base / 20 novel of 157 classes, k = 1, 5, 10, seeds 0-4
    python tools/make_few_shot_splits.py --dataset charades_train --output-dir datasets

    # the synthetic world: a proportional split (round(75 * 20 / 157) = 10 novel classes)
    python tools/make_few_shot_splits.py --dataset charades_synth_train \\
        --output-dir output/demo/few_shot

Each file is checked after writing (``load_few_shot_split`` + ``validate_few_shot_split``: classes
partition the vocabulary, base training carries no novel label, every k-shot set has enough
positives). The same dataset and seed always give the same file.
"""

import argparse
import logging
import os
import sys
from typing import List, Optional

from detectron2.data import DatasetCatalog, MetadataCatalog

import ag_detectron.data.datasets  # noqa: F401  (registration)
from ag_detectron.feature_bank.few_shot import (
    load_few_shot_split,
    make_few_shot_split,
    validate_few_shot_split,
    write_few_shot_split,
)

logger = logging.getLogger("ag_detectron.make_few_shot_splits")


def main(argv: Optional[List[str]] = None) -> List[str]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="charades_train", help="Charades training split")
    p.add_argument("--output-dir", default="datasets")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--shots", type=int, nargs="+", default=[1, 5, 10])
    p.add_argument(
        "--num-novel", type=int, default=None, help="default: 20 of 157, proportional otherwise"
    )
    p.add_argument("--prefix", default="charades_fewshot_seed")
    args = p.parse_args(argv)

    videos = DatasetCatalog.get(args.dataset)
    meta = MetadataCatalog.get(args.dataset)
    num_classes = int(meta.num_classes)
    names = list(meta.get("action_classes", [])) or None
    paths = []
    for seed in args.seeds:
        split = make_few_shot_split(
            videos,
            num_classes,
            seed,
            num_novel=args.num_novel,
            shots=args.shots,
            class_names=names,
        )
        split["dataset"] = args.dataset
        path = os.path.join(args.output_dir, f"{args.prefix}{seed}.json")
        write_few_shot_split(split, path)
        loaded = load_few_shot_split(path, num_classes, [v["video_id"] for v in videos])
        validate_few_shot_split(loaded, videos, path)
        logger.info(
            "%s: %d novel / %d base classes, %d of %d training videos for base training, "
            "k-shot videos %s",
            path,
            len(split["novel_classes"]),
            len(split["base_classes"]),
            len(split["base_train_videos"]),
            split["num_train_videos"],
            {k: len(s["videos"]) for k, s in split["shots"].items()},
        )
        paths.append(path)
    return paths


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stdout)
    main()
