#!/usr/bin/env python
"""Draw ground-truth Action Genome scene graphs (per frame) and relation timelines (per video) to
PNG.

Examples::

    python tools/visualize_data.py --dataset ag_synth_train --output output/vis --num-videos 2
    python tools/visualize_data.py --root datasets/action_genome --split test --video 001YG --output
    vis

Writes ``<output>/frames/<VID>_<NNNNNN>.png`` (frame + numbered boxes + relation list) and
``<output>/timelines/<VID>.png`` (one row per object:predicate over the video's annotated frames).
"""

import argparse
import logging
import os
import sys
from collections import OrderedDict

import numpy as np
from detectron2.data import DatasetCatalog, MetadataCatalog
from PIL import Image

from ag_detectron.data.datasets import register_action_genome
from ag_detectron.utils.visualization import (
    draw_scene_graph,
    relation_timeline,
    scene_graph_from_dataset_dict,
)

logger = logging.getLogger("visualize_data")


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--dataset", help="a registered dataset name (e.g. ag_synth_train)")
    p.add_argument("--root", help="an AG root to register on the fly (instead of --dataset)")
    p.add_argument("--split", default="train", help="split for --root: train | test | all")
    p.add_argument("--preset", default="none", help="filter preset for --root: none | sttran")
    p.add_argument("--output", required=True, help="output directory")
    p.add_argument(
        "--video", action="append", help="video id(s) to draw (default: the first videos)"
    )
    p.add_argument(
        "--num-videos", type=int, default=2, help="videos to draw when --video is not given"
    )
    p.add_argument(
        "--frames-per-video", type=int, default=3, help="frames drawn per video (evenly spaced)"
    )
    p.add_argument(
        "--blank-missing", action="store_true", help="draw on a grey canvas when a frame is missing"
    )
    return p.parse_args(argv)


def _load_image(d, blank_missing):
    try:
        with Image.open(d["file_name"]) as im:
            return np.asarray(im.convert("RGB"))
    except OSError as e:
        if not blank_missing:
            raise SystemExit(
                f"cannot read frame {d['file_name']} (use --blank-missing for annotation-only data)"
            ) from e
        return np.full((d["height"], d["width"], 3), 200, dtype=np.uint8)


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    name = args.dataset
    if args.root:
        name = f"_visualize_{args.split}_{args.preset}"
        register_action_genome(name, args.root, args.split, args.preset)
    if not name:
        raise SystemExit("give --dataset NAME or --root DIR")
    dicts = DatasetCatalog.get(name)
    meta = MetadataCatalog.get(name)
    videos = OrderedDict()
    for d in dicts:
        videos.setdefault(d["video_id"], []).append(d)
    chosen = args.video or list(videos)[: args.num_videos]
    missing = [v for v in chosen if v not in videos]
    if missing:
        raise SystemExit(f"videos {missing} are not in {name}")
    os.makedirs(os.path.join(args.output, "frames"), exist_ok=True)
    os.makedirs(os.path.join(args.output, "timelines"), exist_ok=True)
    written = 0
    for vid in chosen:
        frames = videos[vid]
        picks = np.unique(
            np.linspace(0, len(frames) - 1, min(args.frames_per_video, len(frames)))
            .round()
            .astype(int)
        )
        for i in picks:
            d = frames[i]
            fig = draw_scene_graph(
                _load_image(d, args.blank_missing),
                scene_graph_from_dataset_dict(d, meta),
                title=d["image_id"],
            )
            path = os.path.join(args.output, "frames", f"{vid}_{d['frame_number']:06d}.png")
            fig.savefig(path)
            fig.clf()
            written += 1
        fig = relation_timeline(
            frames, meta, title=f"{name}: video {vid} ({len(frames)} annotated frames)"
        )
        fig.savefig(os.path.join(args.output, "timelines", f"{vid}.png"))
        written += 1
    logger.info(f"wrote {written} PNGs under {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
