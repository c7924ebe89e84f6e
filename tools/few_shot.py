#!/usr/bin/env python
"""The few-shot table (Action Genome paper §5.2) in one command (docs/feature_bank.md "Few-shot").

For each seed: the published split (drawn and written when absent), base training of the clip
classifier on the base classes, then per k and per method a head on the frozen backbone trained on
the k-shot videos and scored by mAP over the novel classes on the test split; the table (mean ± std
over seeds) goes to ``<output>/few_shot_results.{json,md}``. A rerun only trains what changed.

Example (synthetic world, a short schedule):

    python tools/few_shot.py --output output/synth/few_shot --seeds 0 1 2 3 4 --shots 1 5 10 \
        --base-iters 300 --head-iters 200

The logic is :mod:`ag_detectron.pipeline.few_shot`.
"""

import argparse
import logging
import os
from typing import Dict, Optional, Sequence

import ag_detectron.data  # noqa: F401  (registration: datasets)
import ag_detectron.modeling  # noqa: F401  (registration: meta-architectures and heads)
from ag_detectron.errors import ConfigError
from ag_detectron.pipeline.few_shot import DEFAULT_METHODS, FewShotOptions, run_few_shot
from ag_detectron.pipeline.stages import setup_run_logging

logger = logging.getLogger("ag_detectron.pipeline")


def parse_methods(items: Sequence[str]) -> Dict[str, str]:
    """``["NAME=FILE", ...]`` → ``{NAME: FILE}`` (order kept)."""
    out: Dict[str, str] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise ConfigError(f"--method-configs item {item!r}; expected NAME=CONFIG_FILE")
        out[name] = path
    return out


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--base-config",
        default="configs/Synthetic/clip_classifier_synth.yaml",
        help="clip classifier trained on the base classes (sets the source datasets)",
    )
    p.add_argument(
        "--method-configs",
        nargs="+",
        default=[f"{k}={v}" for k, v in DEFAULT_METHODS.items()],
        help="NAME=CONFIG_FILE per method (feature-bank head configs)",
    )
    p.add_argument("--shots", type=int, nargs="+", default=[1, 5, 10])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--output", default=os.path.join("output", "synth", "few_shot"))
    p.add_argument(
        "--split-dir",
        default=None,
        help="where charades_fewshot_seed{S}.json live (default: --output)",
    )
    p.add_argument("--base-iters", type=int, default=None, help="shorten the base schedule")
    p.add_argument("--head-iters", type=int, default=None, help="shorten the head schedules")
    p.add_argument("--num-procs", type=int, default=1, help="training processes per run")
    p.add_argument("--force", action="store_true", help="ignore the stage cache")
    p.add_argument(
        "--base-only",
        action="store_true",
        help="stop after the base trainings (then extract per-seed banks: BANK_DIR with {seed})",
    )
    p.add_argument(
        "opts",
        nargs=argparse.REMAINDER,
        default=[],
        help="KEY VALUE overrides applied to every config",
    )
    return p.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    os.makedirs(args.output, exist_ok=True)
    setup_run_logging(os.path.join(args.output, "log.txt"), logger)
    opt = FewShotOptions(
        base_config=args.base_config,
        method_configs=parse_methods(args.method_configs),
        output=args.output,
        seeds=args.seeds,
        shots=args.shots,
        split_dir=args.split_dir,
        opts=list(args.opts),
        base_iters=args.base_iters,
        head_iters=args.head_iters,
        num_procs=args.num_procs,
        force=args.force,
        base_only=args.base_only,
    )
    result = run_few_shot(opt)
    if args.base_only:
        logger.info(f"base weights per seed: {result['base_weights']}")
        return result
    with open(result["files"][1]) as f:
        logger.info(f.read())
    logger.info(f"trained {len(opt.ran)} stages; table: {', '.join(result['files'])}")
    return result


if __name__ == "__main__":
    main()
