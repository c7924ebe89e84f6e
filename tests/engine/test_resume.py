"""A run killed with SIGKILL and resumed with ``--resume`` ends with the same weights and metrics as
an uninterrupted run (``tools/train_net.py`` in subprocesses, tiny AG fixture under
``$AG_DATASETS``)."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import torch

from ag_detectron.engine.testing import CONFIG_DIR, TOOLS_DIR
from ag_detectron.utils.ag_fixtures import make_ag_annotations, write_ag_root

CONFIG = os.path.join(CONFIG_DIR, "quick_schedules", "reldn_synth_predcls_instant_test.yaml")
MAX_ITER = 8
PERIOD = 3  # checkpoints after iterations 3 and 6 (files model_0000002.pth, model_0000005.pth)


class TestKillAndResume(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        cls.root = cls._tmp.name
        persons, objects = make_ag_annotations()
        # The builtin ag_synth_{train,test} names read $AG_DATASETS/ag_synth (preset "none").
        write_ag_root(os.path.join(cls.root, "ag_synth"), persons, objects, images=True)
        cls.env = dict(os.environ, AG_DATASETS=cls.root, OMP_NUM_THREADS="1")
        repo = os.path.dirname(TOOLS_DIR)
        cls.env["PYTHONPATH"] = os.pathsep.join([repo, cls.env.get("PYTHONPATH", "")])

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def _command(self, out: str, resume: bool = False):
        cmd = [sys.executable, os.path.join(TOOLS_DIR, "train_net.py"), "--config-file", CONFIG]
        cmd += ["--resume"] if resume else []
        return cmd + [
            "OUTPUT_DIR", out,
            "SOLVER.MAX_ITER", str(MAX_ITER),
            "SOLVER.CHECKPOINT_PERIOD", str(PERIOD),
            "DATALOADER.NUM_WORKERS", "1",  # the worker path of the stream
            "MODEL.ROI_RELATION_HEAD.FEATURE_CACHE_MB", "0",  # see docs/engine.md "Resume"
            "MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE", "",
            "MODEL.ROI_RELATION_HEAD.RELDN.USE_FREQ", "False",
        ]  # fmt: skip

    def _run(self, out: str, resume: bool = False) -> None:
        proc = subprocess.run(
            self._command(out, resume), env=self.env, capture_output=True, text=True
        )
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])

    @staticmethod
    def _final_eval(out: str) -> dict:
        with open(os.path.join(out, "metrics.json")) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        evals = [r for r in rows if any(k.startswith("sgg/") for k in r)]
        return {k: v for k, v in evals[-1].items() if k.startswith("sgg/")}

    def test_sigkill_then_resume_matches_uninterrupted(self):
        straight = os.path.join(self.root, "straight")
        self._run(straight)

        killed = os.path.join(self.root, "killed")
        proc = subprocess.Popen(
            self._command(killed),
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        first = os.path.join(killed, "model_0000002.pth")
        tag = os.path.join(killed, "last_checkpoint")
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if os.path.exists(tag) and open(tag).read().strip() == os.path.basename(first):
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        self.assertEqual(proc.wait(), -signal.SIGKILL, "the run finished before it could be killed")
        self.assertFalse(os.path.exists(os.path.join(killed, "model_final.pth")))
        self._run(killed, resume=True)

        a = torch.load(os.path.join(straight, "model_final.pth"), map_location="cpu")
        b = torch.load(os.path.join(killed, "model_final.pth"), map_location="cpu")
        self.assertEqual(a["iteration"], b["iteration"])
        self.assertEqual(sorted(a["model"]), sorted(b["model"]))
        trained = 0
        for name, tensor in a["model"].items():
            self.assertTrue(torch.equal(tensor, b["model"][name]), name)
            trained += name.startswith("relation_head")
        self.assertGreater(trained, 0)
        # The optimizer state of the checkpoint written after the resume (iteration 6) too.
        ca = torch.load(os.path.join(straight, "model_0000005.pth"), map_location="cpu")
        cb = torch.load(os.path.join(killed, "model_0000005.pth"), map_location="cpu")
        self.assertEqual((ca["trainer"]["run_seed"], cb["trainer"]["run_seed"]), (0, 0))  # SEED 0
        oa, ob = ca["trainer"]["_trainer"]["optimizer"], cb["trainer"]["_trainer"]["optimizer"]
        self.assertEqual(len(oa["state"]), len(ob["state"]))
        self.assertGreater(len(oa["state"]), 0)
        for sa, sb in zip(oa["state"].values(), ob["state"].values()):
            for key in sa:
                if torch.is_tensor(sa[key]):
                    self.assertTrue(torch.equal(sa[key], sb[key]), key)
        ea, eb = self._final_eval(straight), self._final_eval(killed)
        self.assertIn("sgg/predcls/with/R@20", ea)
        self.assertEqual(ea, eb)


class TestRunSeed(unittest.TestCase):
    def test_drawn_seed_is_saved_and_restored(self):
        # SEED < 0 (the real-AG configs): the drawn seed travels in the checkpoint's trainer state.
        from ag_detectron.engine import Trainer
        from ag_detectron.engine.testing import register_tiny_ag, tiny_config

        with tempfile.TemporaryDirectory() as tmp:
            train, _ = register_tiny_ag(os.path.join(tmp, "ag"), "engine_resume_seed")
            cfg = tiny_config(
                "quick_schedules/faster_rcnn_synth_instant_test.yaml",
                {"SEED": -1, "DATASETS.TRAIN": (train,), "OUTPUT_DIR": tmp},
            )
            trainer = Trainer(cfg)
            stream = trainer._trainer.data_loader.resumable_stream
            self.assertEqual(trainer.state_dict()["run_seed"], stream.seed)
            state = trainer.state_dict()
            state["run_seed"] = stream.seed + 1
            trainer.load_state_dict(state)
            self.assertEqual(
                (trainer.run_seed, stream.seed), (state["run_seed"], state["run_seed"])
            )


if __name__ == "__main__":
    unittest.main()
