"""Drawings of a model's predicted scene graphs on test frames (PNG + the JSON record beside it),
with the project's renderer (:mod:`ag_detectron.utils.visualization`)."""

import json
import os
from typing import List

import torch
from detectron2.config import CfgNode
from detectron2.data import DatasetCatalog
from detectron2.evaluation.evaluator import inference_context

__all__ = ["draw_test_frames"]


def draw_test_frames(cfg: CfgNode, dataset: str, num: int, out_dir: str) -> List[str]:
    """Draw the predictions of ``cfg.MODEL.WEIGHTS`` on ``num`` frames of ``dataset``, evenly spaced
    over its dicts (every ``len // num``-th, from the first).

    Writes ``<out_dir>/<image id with "/" → "_", ".mp4" dropped>`` (the id ends in ``.png``) and a
    ``.json`` scene-graph record beside it. Returns the PNG paths in data-loader order.
    """
    from ..checkpoint import VideoCheckpointer
    from ..engine import Trainer
    from ..engine.predictions import draw_predictions, scene_graph_record
    from ..evaluation.relation_evaluation import dataset_vocabulary

    os.makedirs(out_dir, exist_ok=True)
    model = Trainer.build_model(cfg)
    VideoCheckpointer(model).load(cfg.MODEL.WEIGHTS)  # the Trainer's checkpointer class
    vocabulary = dataset_vocabulary(dataset)
    loader = Trainer.build_test_loader(cfg, dataset)
    dicts = DatasetCatalog.get(dataset)
    step = max(1, len(dicts) // max(1, num))
    wanted = {d["image_id"] for d in dicts[::step][:num]}
    written: List[str] = []
    with inference_context(model), torch.no_grad():
        for inputs in loader:
            if inputs[0]["image_id"] not in wanted:
                continue
            record = scene_graph_record(
                model(inputs)[0], frame=inputs[0]["image_id"], vocabulary=vocabulary
            )
            name = inputs[0]["image_id"].replace("/", "_").replace(".mp4", "")
            path = os.path.join(out_dir, name)
            draw_predictions(inputs[0]["file_name"], record, path)
            with open(path[: -len(".png")] + ".json", "w") as f:
                json.dump(record, f, indent=1)
            written.append(path)
            if len(written) == len(wanted):
                break
    return written
