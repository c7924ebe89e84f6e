#!/usr/bin/env python
"""Run a trained model on a folder of frames or a video file: per-frame scene graphs (JSON) +
drawings.

    python tools/predict.py --config-file configs/Synthetic/reldn_R_50n_FPN_sgdet_synth.yaml \
        --input datasets/ag_synth/frames/0631M.mp4 --output output/predict \
        MODEL.WEIGHTS output/demo/reldn/model_final.pth

    python tools/predict.py --config-file ... --input video.mp4 --every 12 --output output/predict

Raw frames carry no ground-truth boxes, so a scene-graph config runs in SGDet mode (MODE is switched
to ``sgdet`` with a log line if the config says predcls/sgcls); a detector config gives boxes only.
Writes ``<output>/predictions.json`` (``{"config", "weights", "input", "frames": [record, ...]}``,
record schema in ``ag_detectron/engine/predictions.py`` and docs/engine.md) and, unless
``--no-draw``, one PNG per frame under ``<output>/frames/``.

With ``--actions-config CFG --actions-weights W`` (a ClipClassifier or SGFB config;
``--config-file`` may then be left out) a video input (file or Charades JPEG folder) also gets
the top actions of clips centred every ``--action-stride`` s: ``<output>/actions.json`` and
``<output>/actions_timeline.png`` (schema and figure in docs/engine.md)::

    python tools/predict.py --config-file configs/Synthetic/reldn_R_50n_FPN_sgdet_synth.yaml \
        --actions-config configs/Synthetic/clip_classifier_synth.yaml \
        --actions-weights output/synth/clip_classifier/model_final.pth \
        --input datasets/ag_synth/frames/0631M.mp4 --output output/predict \
        MODEL.WEIGHTS output/demo/reldn/model_final.pth
"""

import argparse
import json
import logging
import os
import sys
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
from detectron2.config import CfgNode
from detectron2.engine import DefaultPredictor
from tqdm import tqdm

import ag_detectron.modeling  # noqa: F401  (registration: meta-architectures and heads)
from ag_detectron.config import get_ag_cfg
from ag_detectron.data import video_io
from ag_detectron.engine import SceneGraphTask, task_of
from ag_detectron.engine.action_timeline import (
    ActionTimelinePredictor,
    action_class_names,
    actions_record,
)
from ag_detectron.engine.predictions import draw_predictions, scene_graph_record
from ag_detectron.errors import ConfigError, DatasetFormatError
from ag_detectron.modes import RelationMode
from ag_detectron.utils.action_plot import write_action_timeline

logger = logging.getLogger("ag_detectron.predict")

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")


def setup_cfg(config_file: str, opts: Sequence[str]) -> CfgNode:
    cfg = get_ag_cfg(config_file, opts, freeze=False)
    if issubclass(task_of(cfg), SceneGraphTask):
        mode = RelationMode.parse(cfg.MODEL.ROI_RELATION_HEAD.MODE)
        if mode.uses_gt_boxes:
            logger.info(
                "MODEL.ROI_RELATION_HEAD.MODE %s -> sgdet (raw frames have no GT boxes)",
                cfg.MODEL.ROI_RELATION_HEAD.MODE,
            )
        cfg.MODEL.ROI_RELATION_HEAD.MODE = RelationMode.SGDET.value
    if not cfg.MODEL.WEIGHTS:
        raise ConfigError("MODEL.WEIGHTS is empty: predict.py needs a trained checkpoint")
    cfg.freeze()
    return cfg


def read_frame(path: str) -> np.ndarray:
    """(H, W, 3) RGB uint8; ``DatasetFormatError`` naming the file if it cannot be decoded."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, SyntaxError, ValueError) as e:
        raise DatasetFormatError(
            f"{path}: cannot read or decode the image ({type(e).__name__}: {e})"
        ) from e


def iter_frames(
    path: str, every: int = 1, max_frames: Optional[int] = None
) -> Iterator[Tuple[str, np.ndarray]]:
    """Yield ``(frame name, RGB array)`` from a folder of images (sorted by name) or a video
    file (decoded by :mod:`ag_detectron.data.video_io` at its native rate)."""
    count = 0
    if os.path.isdir(path):
        names = sorted(n for n in os.listdir(path) if n.lower().endswith(IMAGE_EXTENSIONS))
        if not names:
            raise DatasetFormatError(f"{path}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
        for name in names[::every]:
            if max_frames is not None and count >= max_frames:
                return
            count += 1
            yield name, read_frame(os.path.join(path, name))
        return
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--input {path}: no such file or directory")
    base = os.path.basename(path)
    for index, rgb in video_io.iter_video_frames(path, os.path.splitext(base)[0]):
        if (index - 1) % every:
            continue
        if max_frames is not None and count >= max_frames:
            return
        count += 1
        yield f"{base}#{index - 1:06d}", rgb


class Predictor(DefaultPredictor):
    """Detectron2's ``DefaultPredictor`` (model, checkpoint, test-time resize, ``INPUT.FORMAT``) fed
    with RGB frames: ``__call__(rgb (H, W, 3) uint8) -> model output dict`` (design.md)."""

    def __call__(self, rgb: np.ndarray) -> dict:
        return super().__call__(rgb[:, :, ::-1])  # DefaultPredictor takes BGR


def setup_actions_cfg(config_file: str, weights: Optional[str]) -> CfgNode:
    """The clip-model config of ``--actions-config``, ``MODEL.WEIGHTS`` from ``--actions-weights``
    when given."""
    cfg = get_ag_cfg(config_file, [], freeze=False)
    if weights:
        cfg.MODEL.WEIGHTS = weights
    cfg.freeze()
    return cfg


def run_actions(args: argparse.Namespace, predictor: ActionTimelinePredictor) -> dict:
    """Clip scores every ``--action-stride`` s -> ``actions.json`` + ``actions_timeline.png``."""
    result = predictor(args.input, args.action_stride)
    names = action_class_names(predictor.cfg, predictor.model.num_classes, args.action_classes)
    record = actions_record(result, names, top_k=args.action_top_k)
    record = {
        "config": args.actions_config,
        "weights": predictor.cfg.MODEL.WEIGHTS,
        "input": args.input,
        **record,
    }
    with open(os.path.join(args.output, "actions.json"), "w") as f:
        json.dump(record, f, indent=1)
    if result["clips"]:
        write_action_timeline(
            os.path.join(args.output, "actions_timeline.png"),
            [c["time"] for c in result["clips"]],
            np.stack([c["scores"] for c in result["clips"]]),
            names,
            num_rows=args.action_rows,
            title=f"video {result['video_id']}: top actions over time "
            f"(clips every {args.action_stride:g} s)",
        )
    logger.info("Wrote %d action clips to %s", len(record["clips"]), args.output)
    return record


def main(argv: Optional[List[str]] = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--config-file",
        default=None,
        help="scene-graph / detector config (optional with --actions-config)",
    )
    parser.add_argument("--input", required=True, help="a folder of frames or a video file")
    parser.add_argument("--output", required=True, help="output folder")
    parser.add_argument("--every", type=int, default=1, help="keep one frame in N")
    parser.add_argument("--max-frames", type=int, default=None)
    parser.add_argument(
        "--score-thresh", type=float, default=0.5, help="drawing: objects/predicates shown"
    )
    parser.add_argument("--no-draw", action="store_true")
    actions = parser.add_argument_group("actions over time (video input)")
    actions.add_argument(
        "--actions-config", default=None, help="clip-model config (ClipClassifier or SGFB)"
    )
    actions.add_argument(
        "--actions-weights",
        default=None,
        help="its checkpoint (default: the config's MODEL.WEIGHTS)",
    )
    actions.add_argument(
        "--action-stride", type=float, default=1.0, help="seconds between clip centres"
    )
    actions.add_argument(
        "--action-top-k", type=int, default=5, help="actions listed per clip in actions.json"
    )
    actions.add_argument(
        "--action-rows", type=int, default=10, help="actions shown in actions_timeline.png"
    )
    actions.add_argument(
        "--action-classes",
        default=None,
        help="Charades classes file (default: the dataset's metadata)",
    )
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides KEY VALUE ...")
    args = parser.parse_args(argv)
    if args.every < 1:
        parser.error("--every must be >= 1")
    if args.config_file is None and args.actions_config is None:
        parser.error("--config-file or --actions-config is required")
    if args.action_top_k < 1 or args.action_rows < 1:
        parser.error("--action-top-k and --action-rows must be >= 1")

    action_predictor = None
    if args.actions_config:  # built first: a bad actions config fails before the long run
        action_predictor = ActionTimelinePredictor(
            setup_actions_cfg(args.actions_config, args.actions_weights)
        )
    os.makedirs(args.output, exist_ok=True)
    result: dict = {}
    if args.config_file:
        result = predict_scene_graphs(args)
    if action_predictor is not None:
        result["actions"] = run_actions(args, action_predictor)
    return result


def predict_scene_graphs(args: argparse.Namespace) -> dict:
    """Per-frame records -> ``predictions.json`` (+ drawings under ``frames/``)."""
    cfg = setup_cfg(args.config_file, args.opts)
    predictor = Predictor(cfg)
    frame_dir = os.path.join(args.output, "frames")
    if not args.no_draw:
        os.makedirs(frame_dir, exist_ok=True)
    records = []
    for name, rgb in tqdm(
        iter_frames(args.input, args.every, args.max_frames),
        desc="predict",
        unit="frame",
        file=sys.stdout,
    ):
        record = scene_graph_record(predictor(rgb), frame=name)
        records.append(record)
        if not args.no_draw:
            stem = os.path.splitext(name.replace("#", "_"))[0]
            draw_predictions(
                name,
                record,
                os.path.join(frame_dir, stem + ".png"),
                score_thresh=args.score_thresh,
                image=rgb,
            )
    result = {
        "config": args.config_file,
        "weights": cfg.MODEL.WEIGHTS,
        "input": args.input,
        "frames": records,
    }
    with open(os.path.join(args.output, "predictions.json"), "w") as f:
        json.dump(result, f, indent=1)
    logger.info("Wrote %d frames to %s", len(records), args.output)
    return result


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
