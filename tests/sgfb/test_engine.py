"""The instant-test config trains and evaluates SGFB through tools/train_net.py on the tiny
Charades root with a bank written here; a stage-1 clip classifier initialises it (MODEL.WEIGHTS)."""

import json
import os

import torch
from detectron2.engine import default_argument_parser

from ag_detectron.engine.testing import load_tool

from .conftest import CONFIG_DIR, TINY_CLIP_OPTS


def _args(config, dataset, out, *extra):
    argv = ["--config-file", os.path.join(CONFIG_DIR, config)]
    argv += [
        "DATASETS.TRAIN",
        f"('{dataset}',)",
        "DATASETS.TEST",
        f"('{dataset}',)",
        "OUTPUT_DIR",
        out,
        *TINY_CLIP_OPTS,
        "SOLVER.MAX_ITER",
        "3",
        "SOLVER.CHECKPOINT_PERIOD",
        "100",
        "SEED",
        "1",
        *extra,
    ]
    return default_argument_parser().parse_args(argv)


def test_instant_test_trains_and_evaluates(dataset, sg_bank, tmp_path):
    train_net = load_tool("train_net")
    out = str(tmp_path / "sgfb")
    train_net.main(
        _args(
            "quick_schedules/sgfb_synth_instant_test.yaml",
            dataset,
            out,
            "MODEL.SGFB.BANK_DIR",
            sg_bank,
        )
    )
    assert os.path.isfile(os.path.join(out, "model_final.pth"))
    with open(os.path.join(out, "metrics.json")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    losses = [r["total_loss"] for r in rows if "total_loss" in r]  # = loss_action
    assert losses and all(0 < v < 5 for v in losses)
    evals = [r for r in rows if "charades/mAP" in r]  # the evaluation after the last iteration
    assert evals and evals[-1]["iteration"] == 3
    assert 0 <= evals[-1]["charades/mAP"] <= 1 and evals[-1]["charades/num_videos"] == 4
    state = torch.load(os.path.join(out, "model_final.pth"), map_location="cpu")["model"]
    assert any(k.startswith("fbo.blocks.") for k in state) and "cls_head.weight" in state


def test_stage2_from_stage1_weights(dataset, sg_bank, tmp_path):
    """Stage 1 (ClipClassifier) then stage 2 (SGFB, frozen backbone) from its model_final.pth."""
    train_net = load_tool("train_net")
    stage1 = str(tmp_path / "clip")
    common = (
        "MODEL.VIDEO.STEM_WIDTH",
        "8",
        "TEST.CLIP.NUM_ENSEMBLE_VIEWS",
        "1",
        "TEST.CLIP.NUM_SPATIAL_CROPS",
        "1",
        "SOLVER.MAX_ITER",
        "2",
    )
    train_net.main(
        _args("quick_schedules/clip_classifier_synth_instant_test.yaml", dataset, stage1, *common)
    )
    weights = os.path.join(stage1, "model_final.pth")
    stage2 = str(tmp_path / "sgfb")
    train_net.main(
        _args(
            "quick_schedules/sgfb_synth_instant_test.yaml",
            dataset,
            stage2,
            *common,
            "MODEL.SGFB.BANK_DIR",
            sg_bank,
            "MODEL.WEIGHTS",
            weights,
            "MODEL.SGFB.FREEZE_BACKBONE",
            "True",
            "SEED",
            "2",
        )  # another init than stage 1
    )
    before = torch.load(weights, map_location="cpu")["model"]
    after = torch.load(os.path.join(stage2, "model_final.pth"), map_location="cpu")["model"]
    backbone = [k for k in before if k.startswith("backbone.")]
    assert backbone
    for k in backbone:  # loaded from stage 1 and frozen (BatchNorm statistics included)
        torch.testing.assert_close(after[k], before[k], rtol=0, atol=0)
