"""What docs/reproducibility.md promises: on one machine, two training runs from the same config
and seed end with bit-identical weights (and the same loss history). The data-loader worker count
is part of the config: another count draws other augmentations (docs/reproducibility.md)."""

import os
import tempfile
import unittest

import torch
from detectron2.utils.env import seed_all_rng

from ag_detectron.engine import Trainer
from ag_detectron.engine.testing import register_tiny_ag, tiny_config

NUM_ITERS = 4


def _train(root: str, out_dir: str, workers: int):
    train, _ = register_tiny_ag(os.path.join(root, "data"), "engine_repro")
    cfg = tiny_config(
        "quick_schedules/faster_rcnn_synth_instant_test.yaml",
        {
            "DATASETS.TRAIN": (train,),
            "DATASETS.TEST": (),
            "SOLVER.MAX_ITER": NUM_ITERS,
            "DATALOADER.NUM_WORKERS": workers,
            "OUTPUT_DIR": out_dir,
        },
    )
    seed_all_rng(cfg.SEED)  # what tools/train_net.py (default_setup) and the demo do
    trainer = Trainer(cfg)
    trainer.resume_or_load(resume=False)
    trainer.train()
    losses = [v for v, _ in trainer.storage.history("total_loss").values()]
    state = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
    return state, losses


class TestSameMachineReproducibility(unittest.TestCase):
    def test_two_runs_identical_weights(self):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                a, loss_a = _train(tmp, os.path.join(tmp, "a"), 1)
                b, loss_b = _train(tmp, os.path.join(tmp, "b"), 1)
        finally:
            torch.set_num_threads(threads)
        self.assertEqual(len(loss_a), NUM_ITERS)
        self.assertEqual(loss_a, loss_b)
        self.assertEqual(set(a), set(b))
        differ = [k for k in a if not torch.equal(a[k], b[k])]
        self.assertEqual(differ, [])


if __name__ == "__main__":
    unittest.main()
