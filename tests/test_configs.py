"""Every YAML under configs/ merges into ``get_cfg() + add_ag_config`` and builds its model (CPU),
relation models with the vocabulary of their NUM_PREDICATES."""

import glob
import os
import tempfile
import unittest

import numpy as np
import torch
from detectron2.config import get_cfg
from detectron2.modeling import build_model

import ag_detectron.modeling  # noqa: F401  (registration)
from ag_detectron.config import add_ag_config
from ag_detectron.engine import DetectionTask, SceneGraphTask, task_of
from ag_detectron.modeling.relation_heads.freq_prior import PredicateCounts, save_predicate_counts
from ag_detectron.vocabulary import OBJECT_CLASSES, PAPER, RELEASE

CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs")
ALL_CONFIGS = sorted(glob.glob(os.path.join(CONFIG_DIR, "**", "*.yaml"), recursive=True))
LEAF_CONFIGS = [p for p in ALL_CONFIGS if not os.path.basename(p).startswith("Base-")]


def load_config(path: str, stats_files: dict):
    """The config of ``path`` on CPU, with the stats file of its vocabulary size."""
    cfg = get_cfg()
    add_ag_config(cfg)
    cfg.merge_from_file(path)
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.ROI_RELATION_HEAD.FREQ_BIAS_FILE = stats_files[
        cfg.MODEL.ROI_RELATION_HEAD.NUM_PREDICATES
    ]
    cfg.MODEL.SGFB.BANK_DIR = ""  # feature banks are data: the model is built from BANK_DIM
    return cfg


class TestConfigs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        rng = np.random.default_rng(0)
        cls.stats_file = {}
        for vocab in (RELEASE, PAPER):
            counts = rng.integers(0, 5, size=(len(OBJECT_CLASSES), vocab.size))
            cls.stats_file[vocab.size] = os.path.join(cls._tmp.name, f"stats{vocab.size}.json")
            save_predicate_counts(
                cls.stats_file[vocab.size],
                PredicateCounts(counts.max(axis=1) + 1, counts),
                list(OBJECT_CLASSES),
                list(vocab.classes),
                vocab.group_sizes,
                ["test"],
            )

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def test_expected_configs_exist(self):
        names = {os.path.relpath(p, CONFIG_DIR) for p in ALL_CONFIGS}
        for mode in ("predcls", "sgcls", "sgdet"):
            self.assertIn(f"AG-SceneGraph/reldn_R_101_FPN_{mode}.yaml", names)
            self.assertIn(f"AG-SceneGraph/freq_prior_{mode}.yaml", names)
            self.assertIn(f"AG-SceneGraph/reldn_R_101_FPN_{mode}_25.yaml", names)
            self.assertIn(f"AG-SceneGraph/freq_prior_{mode}_25.yaml", names)
        self.assertIn("AG-Detection/faster_rcnn_R_101_FPN_ag.yaml", names)
        self.assertIn("AG-Detection/faster_rcnn_R_101_C4_ag.yaml", names)
        self.assertTrue(any(n.startswith("quick_schedules/") for n in names))
        self.assertTrue(any(n.startswith("Synthetic/faster_rcnn_") for n in names))

    def test_leaves_are_thin(self):
        for path in LEAF_CONFIGS:
            with open(path) as f:
                text = f.read()
            self.assertIn("_BASE_", text, path)
            keys = [
                ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
            ]
            self.assertLessEqual(len(keys), 25, f"{path}: a leaf should override a few keys")

    def test_output_dirs_unique(self):
        dirs = {}
        for path in LEAF_CONFIGS:
            out = load_config(path, self.stats_file).OUTPUT_DIR
            self.assertNotIn(out, dirs, f"{path} and {dirs.get(out)} share OUTPUT_DIR {out}")
            dirs[out] = path

    def test_every_config_builds(self):
        torch.manual_seed(0)
        for path in ALL_CONFIGS:
            with self.subTest(config=os.path.relpath(path, CONFIG_DIR)):
                cfg = load_config(path, self.stats_file)
                model = build_model(cfg)
                task = task_of(cfg)
                if issubclass(task, (DetectionTask, SceneGraphTask)):
                    self.assertEqual(cfg.MODEL.ROI_HEADS.NUM_CLASSES, len(OBJECT_CLASSES))
                if issubclass(task_of(cfg), SceneGraphTask):
                    self.assertTrue(hasattr(model, "relation_head"), path)
                    size = 25 if path.endswith("_25.yaml") else 26
                    self.assertEqual(model.relation_head.vocabulary.size, size, path)
                del model


if __name__ == "__main__":
    unittest.main()
