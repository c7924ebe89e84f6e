"""End to end through ``tools/train_net.py``: train a few iterations, resume, evaluate (tiny
fixture)."""

import json
import os
import tempfile
import unittest

from detectron2.engine import default_argument_parser

from ag_detectron.engine.testing import CONFIG_DIR, load_tool, register_tiny_ag, write_tiny_stats


class TestTrainNet(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        cls.root = cls._tmp.name
        cls.train, cls.test = register_tiny_ag(os.path.join(cls.root, "data"), "engine_e2e")
        cls.stats = write_tiny_stats(os.path.join(cls.root, "stats.json"), [cls.train])
        cls.train_net = load_tool("train_net")

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def _run(
        self, config: str, out: str, *extra: str, eval_only: bool = False, resume: bool = False
    ):
        argv = ["--config-file", os.path.join(CONFIG_DIR, config)]
        argv += ["--eval-only"] if eval_only else []
        argv += ["--resume"] if resume else []
        argv += [
            "DATASETS.TRAIN",
            f"('{self.train}',)",
            "DATASETS.TEST",
            f"('{self.test}',)",
            "OUTPUT_DIR",
            out,
            "SOLVER.MAX_ITER",
            "3",
            "SOLVER.CHECKPOINT_PERIOD",
            "2",
            "MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE",
            self.stats,
            *extra,
        ]
        args = default_argument_parser().parse_args(argv)
        return self.train_net.main(args)

    @staticmethod
    def _iterations(metrics_file: str):
        with open(metrics_file) as f:
            return [json.loads(line)["iteration"] for line in f if line.strip()]

    def test_detector_train_resume_eval(self):
        out = os.path.join(self.root, "det")
        self._run("quick_schedules/faster_rcnn_synth_instant_test.yaml", out)
        self.assertTrue(os.path.isfile(os.path.join(out, "model_final.pth")))
        self.assertTrue(os.path.isfile(os.path.join(out, "config.yaml")))
        metrics = os.path.join(out, "metrics.json")
        first_run = len(self._iterations(metrics))
        # --resume continues from the last checkpoint (after iteration 3) up to the new MAX_ITER.
        self._run(
            "quick_schedules/faster_rcnn_synth_instant_test.yaml",
            out,
            "SOLVER.MAX_ITER",
            "5",
            resume=True,
        )
        resumed = self._iterations(metrics)[first_run:]
        self.assertGreater(len(resumed), 0)
        self.assertGreaterEqual(min(resumed), 3)
        results = self._run(
            "quick_schedules/faster_rcnn_synth_instant_test.yaml",
            out,
            "MODEL.WEIGHTS",
            os.path.join(out, "model_final.pth"),
            eval_only=True,
        )
        self.assertIn("bbox", results)
        self.assertIn("AP50", results["bbox"])

    def test_scene_graph_train_eval(self):
        out = os.path.join(self.root, "sg")
        self._run("quick_schedules/reldn_synth_predcls_instant_test.yaml", out)
        self.assertTrue(os.path.isfile(os.path.join(out, "model_final.pth")))
        results = self._run(
            "quick_schedules/reldn_synth_predcls_instant_test.yaml",
            out,
            "MODEL.WEIGHTS",
            os.path.join(out, "model_final.pth"),
            eval_only=True,
        )
        self.assertIn("sgg", results)
        sgg = results["sgg"]
        for key in (
            "predcls/with/R@20",
            "predcls/no/R@20",
            "predcls/ag_paper_image/R@20",
            "predcls/with/mR@20_pooled",
        ):
            self.assertIn(key, sgg)
            self.assertGreaterEqual(sgg[key], 0.0)
            self.assertLessEqual(sgg[key], 1.0)
        # PredCls pairs are the GT pairs: with <= 6 objects, the "no constraint" R@50 scores every
        # GT triplet.
        self.assertGreater(sgg["predcls/no/R@50"], 0.99)

    def test_sgdet_eval_adds_box_ap(self):
        out = os.path.join(self.root, "sgdet")
        results = self._run(
            "quick_schedules/reldn_synth_sgdet_instant_test.yaml", out, eval_only=True
        )
        self.assertIn("sgg", results)
        self.assertIn("sgdet/with/R@20", results["sgg"])
        self.assertIn("bbox", results)


if __name__ == "__main__":
    unittest.main()
