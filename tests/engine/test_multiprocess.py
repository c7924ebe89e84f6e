"""Two CPU processes (gloo) train the same model in lock-step: identical parameters after N
iterations."""

import os
import tempfile
import unittest

import torch
from detectron2.modeling import build_model
from detectron2.utils import comm

from ag_detectron.engine import Trainer, launch
from ag_detectron.engine.testing import register_tiny_ag, tiny_config

NUM_ITERS = 3


def _train_and_dump(root: str, out_dir: str) -> None:
    """Runs in each spawned process: register the fixture, train, dump this rank's parameters."""
    train, test = register_tiny_ag(os.path.join(root, "data"), "engine_mp")
    cfg = tiny_config(
        "quick_schedules/faster_rcnn_synth_instant_test.yaml",
        {
            "DATASETS.TRAIN": (train,),
            "DATASETS.TEST": (),
            "SOLVER.MAX_ITER": NUM_ITERS,
            "SOLVER.IMS_PER_BATCH": 2,  # one image per process
            "SEED": 1 + comm.get_rank(),  # different init per rank: DDP must broadcast rank 0's
            "OUTPUT_DIR": out_dir,
        },
    )
    torch.manual_seed(cfg.SEED)
    trainer = Trainer(cfg)
    trainer.resume_or_load(resume=False)
    trainer.train()
    model = trainer.model.module if hasattr(trainer.model, "module") else trainer.model
    state = {k: v.detach().clone() for k, v in model.named_parameters()}
    torch.save(
        {"state": state, "iter": trainer.iter, "world": comm.get_world_size()},
        os.path.join(out_dir, f"params_rank{comm.get_rank()}.pth"),
    )


class TestTwoProcessTraining(unittest.TestCase):
    def test_ranks_stay_in_sync(self):
        with tempfile.TemporaryDirectory() as tmp:
            out_dir = os.path.join(tmp, "out")
            os.makedirs(out_dir)
            launch(_train_and_dump, 2, dist_url="auto", args=(tmp, out_dir), cpu=True)
            r0 = torch.load(os.path.join(out_dir, "params_rank0.pth"))
            r1 = torch.load(os.path.join(out_dir, "params_rank1.pth"))
        self.assertEqual(r0["world"], 2)
        self.assertEqual(r1["world"], 2)
        self.assertEqual(r0["iter"], NUM_ITERS)
        self.assertEqual(set(r0["state"]), set(r1["state"]))
        self.assertGreater(len(r0["state"]), 10)
        for k, v0 in r0["state"].items():
            torch.testing.assert_close(
                v0, r1["state"][k], rtol=0, atol=1e-6, msg=f"rank 0/1 differ on {k}"
            )
        # The ranks did train: rank 0's initialisation (same seed) differs from the result.
        torch.manual_seed(1)
        init = build_model(tiny_config("quick_schedules/faster_rcnn_synth_instant_test.yaml"))
        moved = [
            k for k, v in init.named_parameters() if not torch.equal(v.detach(), r0["state"][k])
        ]
        self.assertGreater(len(moved), 0)


if __name__ == "__main__":
    unittest.main()
