#!/usr/bin/env python
"""Extract a long-term feature bank for every Charades video (docs/feature_bank.md "Extraction").

    # scene-graph bank (SGFB): a trained SGDet model, 2 frames per second
    python tools/extract_feature_bank.py --kind scene_graph \\
        --config-file configs/Synthetic/reldn_R_50n_FPN_sgdet_synth.yaml \\
        --dataset charades_synth_train charades_synth_test --output output/banks/sgfb \\
        MODEL.WEIGHTS output/demo/reldn/model_final.pth

    # LFB bank: a separately trained clip classifier, 2 clips per second (centre crop)
    python tools/extract_feature_bank.py --kind lfb --config-file configs/Synthetic/... \\
        --dataset charades_synth_train charades_synth_test --output output/banks/lfb \\
        MODEL.WEIGHTS output/clip/model_final.pth

    # oracle bank from Action Genome's ground truth (no model)
    python tools/extract_feature_bank.py --kind oracle --ag-dataset ag_synth_train ag_synth_test \\
        --dataset charades_synth_train charades_synth_test --output output/banks/oracle

Re-running the same command resumes (videos with a shard are skipped). ``--num-processes N``
shards the videos over N processes (GPUs, or CPU workers with ``--cpu``); several machines with
``--num-machines`` / ``--machine-rank`` / ``--dist-url`` as Detectron2's ``launch``. Rank 0 packs
the bank after every rank finished.
"""

import argparse
import logging
import sys
from typing import List, Optional

from ag_detectron.engine.launch import launch
from ag_detectron.feature_bank.extract import (
    EntryRule,
    ExtractOptions,
    dataset_dicts,
    extract_oracle_bank,
    extract_worker,
)

logger = logging.getLogger("ag_detectron.extract_feature_bank")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kind", required=True, choices=("scene_graph", "lfb", "oracle"))
    p.add_argument("--config-file", default="", help="the producer model's config (not oracle)")
    p.add_argument("--output", required=True, help="bank directory")
    p.add_argument(
        "--dataset",
        nargs="+",
        default=["charades_train", "charades_test"],
        help="Charades datasets whose videos the bank covers",
    )
    p.add_argument(
        "--ag-dataset",
        nargs="+",
        default=["ag_train", "ag_test"],
        help="oracle: Action Genome datasets with the annotated frames",
    )
    p.add_argument("--rate", type=float, default=2.0, help="entries per second (2 = LFB)")
    p.add_argument("--batch-size", type=int, default=8, help="frames / clips per forward")
    p.add_argument("--num-workers", type=int, default=2, help="decoding workers per process")
    p.add_argument("--source", choices=("frames", "video"), default="frames")
    p.add_argument("--video-dir", default="", help="directory of <id>.mp4 for --source video")
    p.add_argument(
        "--num-predicates",
        type=int,
        choices=(25, 26),
        default=None,
        help="scene_graph: 25 drops other_relationship (default: the model's)",
    )
    p.add_argument(
        "--combine",
        choices=("max", "mean", "sum"),
        default="max",
        help="scene_graph: several detections of one class",
    )
    p.add_argument(
        "--subject",
        choices=("all", "top"),
        default="all",
        help="scene_graph: pairs of every person or of the top-scoring one",
    )
    p.add_argument("--multiply-subject-score", action="store_true")
    p.add_argument("--dtype", choices=("float16", "float32"), default="float16")
    p.add_argument("--nonfinite", choices=("error", "zero"), default="error")
    p.add_argument("--max-videos", type=int, default=None, help="first N videos (smoke runs)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--num-processes", type=int, default=1, help="processes per machine")
    p.add_argument("--num-machines", type=int, default=1)
    p.add_argument("--machine-rank", type=int, default=0)
    p.add_argument("--dist-url", default="auto")
    p.add_argument("--cpu", action="store_true", help="MODEL.DEVICE cpu, gloo between processes")
    p.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides KEY VALUE ...")
    return p


def main(argv: Optional[List[str]] = None) -> None:
    args = build_parser().parse_args(argv)
    if args.kind == "oracle":
        _oracle(args)
        return
    if not args.config_file:
        raise SystemExit(f"--kind {args.kind} needs --config-file (the producer model's config)")
    opts = ExtractOptions(
        rate=args.rate,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        source=args.source,
        video_dir=args.video_dir,
        dtype=args.dtype,
        nonfinite=args.nonfinite,
        progress=not args.no_progress,
        rule=EntryRule(
            args.num_predicates, args.combine, args.subject, args.multiply_subject_score
        ),
    )
    launch(
        extract_worker,
        args.num_processes,
        num_machines=args.num_machines,
        machine_rank=args.machine_rank,
        dist_url=args.dist_url,
        args=(
            args.kind,
            args.config_file,
            list(args.opts),
            list(args.dataset),
            args.output,
            opts,
            args.cpu,
            args.max_videos,
        ),
        cpu=args.cpu,
    )


def _oracle(args: argparse.Namespace) -> None:
    from detectron2.data import DatasetCatalog, MetadataCatalog

    frames, fps_files, num_pred = [], set(), set()
    for name in args.ag_dataset:
        frames.extend(DatasetCatalog.get(name))
        meta = MetadataCatalog.get(name)
        fps_files.add(meta.video_fps_file)
        num_pred.add(len(meta.predicate_classes))
    if len(fps_files) != 1 or len(num_pred) != 1:
        raise SystemExit(
            f"--ag-dataset {args.ag_dataset}: the datasets must share one root and predicate "
            f"vocabulary (fps files {sorted(fps_files)}, predicate counts {sorted(num_pred)})"
        )
    charades = dataset_dicts(args.dataset, args.max_videos)
    counts = extract_oracle_bank(
        args.output,
        frames,
        fps_files.pop(),
        videos=[d["video_id"] for d in charades],
        durations={d["video_id"]: float(d["length"]) for d in charades},
        num_predicates=num_pred.pop(),
        dtype=args.dtype,
    )
    logger.info("oracle bank %s: %s", args.output, dict(counts))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stdout)
    main()
