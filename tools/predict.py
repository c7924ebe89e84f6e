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
from ag_detectron.engine import SceneGraphTask, task_of
from ag_detectron.engine.predictions import draw_predictions, scene_graph_record
from ag_detectron.errors import ConfigError, DatasetFormatError
from ag_detectron.modes import RelationMode

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
    (PyAV)."""
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
    import av

    try:
        container = av.open(path)
    except av.error.FFmpegError as e:
        raise DatasetFormatError(f"{path}: cannot open the video ({e})") from e
    with container:
        stream = container.streams.video[0]
        try:
            for index, frame in enumerate(container.decode(stream)):
                if index % every:
                    continue
                if max_frames is not None and count >= max_frames:
                    return
                count += 1
                yield f"{os.path.basename(path)}#{index:06d}", frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as e:
            raise DatasetFormatError(f"{path}: cannot decode frame {count} ({e})") from e


class Predictor(DefaultPredictor):
    """Detectron2's ``DefaultPredictor`` (model, checkpoint, test-time resize, ``INPUT.FORMAT``) fed
    with RGB frames: ``__call__(rgb (H, W, 3) uint8) -> model output dict`` (design.md)."""

    def __call__(self, rgb: np.ndarray) -> dict:
        return super().__call__(rgb[:, :, ::-1])  # DefaultPredictor takes BGR


def main(argv: Optional[List[str]] = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config-file", required=True)
    parser.add_argument("--input", required=True, help="a folder of frames or a video file")
    parser.add_argument("--output", required=True, help="output folder")
    parser.add_argument("--every", type=int, default=1, help="keep one frame in N")
    parser.add_argument("--max-frames", type=int, default=None)
    parser.add_argument(
        "--score-thresh", type=float, default=0.5, help="drawing: objects/predicates shown"
    )
    parser.add_argument("--no-draw", action="store_true")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides KEY VALUE ...")
    args = parser.parse_args(argv)
    if args.every < 1:
        parser.error("--every must be >= 1")

    cfg = setup_cfg(args.config_file, args.opts)
    predictor = Predictor(cfg)
    os.makedirs(args.output, exist_ok=True)
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
