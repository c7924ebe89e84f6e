#!/usr/bin/env python
"""Train or evaluate an ag_detectron model (Faster R-CNN detector or scene-graph model) from a
config.

Examples (see README "Training" / "Evaluation"):

    python tools/train_net.py --config-file configs/Synthetic/faster_rcnn_R_50n_FPN_synth.yaml
    python tools/train_net.py --config-file configs/Synthetic/reldn_R_50n_FPN_predcls_synth.yaml \
        --eval-only MODEL.WEIGHTS output/reldn_predcls/model_final.pth
    # 2 CPU processes (gloo)
    python tools/train_net.py --num-gpus 2 --config-file ... MODEL.DEVICE cpu

Loaders and evaluators are chosen by the model's task (``ag_detectron.engine.tasks``), which checks
the datasets' ``metadata.evaluator_type``. ``--resume`` continues the last checkpoint of OUTPUT_DIR
with the same data and random draws as an uninterrupted run (docs/engine.md "Resume").
"""

import logging

from detectron2.config import CfgNode
from detectron2.engine import default_argument_parser, default_setup
from detectron2.evaluation import verify_results
from detectron2.utils import comm
from detectron2.utils.logger import setup_logger

import ag_detectron  # noqa: F401  (registration: datasets)
import ag_detectron.modeling  # noqa: F401  (registration: meta-architectures and heads)
from ag_detectron.checkpoint import VideoCheckpointer
from ag_detectron.config import get_ag_cfg
from ag_detectron.engine import Trainer, launch

logger = logging.getLogger("ag_detectron")


def load_config(args) -> CfgNode:
    """The frozen config of ``--config-file`` and the command-line overrides."""
    return get_ag_cfg(args.config_file, args.opts)


def setup(args) -> CfgNode:
    """Load the config and set up logging, seeds and the output directory (``default_setup``)."""
    cfg = load_config(args)
    default_setup(cfg, args)
    setup_logger(cfg.OUTPUT_DIR, distributed_rank=comm.get_rank(), name="ag_detectron")
    return cfg


def main(args):
    cfg = setup(args)
    if args.eval_only:
        model = Trainer.build_model(cfg)
        VideoCheckpointer(model, save_dir=cfg.OUTPUT_DIR).resume_or_load(
            cfg.MODEL.WEIGHTS, resume=args.resume
        )
        results = Trainer.test(cfg, model)
        if comm.is_main_process():
            verify_results(cfg, results)
        return results
    trainer = Trainer(cfg)
    trainer.resume_or_load(resume=args.resume)
    return trainer.train()


def invoke_main() -> None:
    args = default_argument_parser().parse_args()
    print("Command Line Args:", args)
    launch(
        main,
        args.num_gpus,
        num_machines=args.num_machines,
        machine_rank=args.machine_rank,
        dist_url=args.dist_url,
        args=(args,),
        cpu=load_config(args).MODEL.DEVICE == "cpu",  # gloo even on a GPU host
    )


if __name__ == "__main__":
    invoke_main()
