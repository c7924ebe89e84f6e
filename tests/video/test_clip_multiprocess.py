"""Two CPU processes (gloo) train the clip classifier in lock-step and evaluate it together:
identical parameters on both ranks after N iterations, and the multi-view evaluation gathers the
views of every video from both ranks before scoring."""

import importlib.util
import os
import tempfile
import unittest

import torch
from detectron2.data import DatasetCatalog
from detectron2.utils import comm

from ag_detectron.data.datasets import register_charades
from ag_detectron.engine import Trainer, launch
from ag_detectron.engine.testing import tiny_config

NUM_ITERS = 3
DATASET = "charades_tiny_mp"


def _write_root(root: str) -> str:
    spec = importlib.util.spec_from_file_location(
        "_clip_mp_fixtures", os.path.join(os.path.dirname(os.path.abspath(__file__)), "conftest.py")
    )
    fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixtures)
    return fixtures.write_root(root)


def _train_evaluate_dump(root: str, out_dir: str) -> None:
    """Runs in each spawned process: register the tiny root, train, evaluate, dump this rank."""
    if DATASET not in DatasetCatalog.list():
        register_charades(DATASET, root, "train")
    cfg = tiny_config(
        "quick_schedules/clip_classifier_synth_instant_test.yaml",
        {
            "DATASETS.TRAIN": (DATASET,),
            "DATASETS.TEST": (DATASET,),
            "MODEL.VIDEO.NUM_CLASSES": 4,
            "MODEL.VIDEO.STEM_WIDTH": 8,
            "INPUT.CLIP.NUM_FRAMES": 4,
            "INPUT.CLIP.TRAIN_JITTER_SCALES": (24, 28),
            "INPUT.CLIP.TRAIN_CROP_SIZE": 24,
            "INPUT.CLIP.TEST_CROP_SIZE": 24,
            "TEST.CLIP.NUM_ENSEMBLE_VIEWS": 2,
            "TEST.CLIP.NUM_SPATIAL_CROPS": 1,
            "DATALOADER.NUM_WORKERS": 0,
            "SOLVER.MAX_ITER": NUM_ITERS,
            "SOLVER.IMS_PER_BATCH": 4,  # two clips per process (BatchNorm needs > 1)
            "SEED": 1 + comm.get_rank(),  # different init per rank: DDP must broadcast rank 0's
            "OUTPUT_DIR": out_dir,
        },
    )
    torch.manual_seed(cfg.SEED)
    trainer = Trainer(cfg)
    trainer.resume_or_load(resume=False)
    trainer.train()
    model = trainer.model.module if hasattr(trainer.model, "module") else trainer.model
    results = Trainer.test(cfg, model)
    torch.save(
        {
            "state": {k: v.detach().clone() for k, v in model.named_parameters()},
            "iter": trainer.iter,
            "world": comm.get_world_size(),
            "results": results,
        },
        os.path.join(out_dir, f"rank{comm.get_rank()}.pth"),
    )


class TestTwoProcessClipClassifier(unittest.TestCase):
    def test_ranks_stay_in_sync_and_views_are_gathered(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = _write_root(os.path.join(tmp, "charades"))
            out_dir = os.path.join(tmp, "out")
            os.makedirs(out_dir)
            launch(_train_evaluate_dump, 2, dist_url="auto", args=(root, out_dir), cpu=True)
            r0 = torch.load(os.path.join(out_dir, "rank0.pth"), weights_only=False)
            r1 = torch.load(os.path.join(out_dir, "rank1.pth"), weights_only=False)
        self.assertEqual((r0["world"], r1["world"]), (2, 2))
        self.assertEqual(r0["iter"], NUM_ITERS)
        self.assertGreater(len(r0["state"]), 10)
        for k, v0 in r0["state"].items():
            torch.testing.assert_close(v0, r1["state"][k], rtol=0, atol=1e-6, msg=k)
        # rank 0 scores the videos with actions (3 of the 4; the unlabeled one is left out of the
        # loader by default and scored -inf, as the official script does), views from both ranks
        charades = r0["results"]["charades"]
        self.assertEqual(charades["num_videos"], 4)
        self.assertEqual(charades["num_videos_missing"], 1)
        self.assertTrue(0.0 <= charades["mAP"] <= 1.0)


if __name__ == "__main__":
    unittest.main()
