"""The model against the real RelationDatasetMapper, DetectionCheckpointer and the stats tool."""

import importlib.util
import os
import tempfile
import unittest

import numpy as np
import torch
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage
from PIL import Image

import ag_detectron.modeling  # noqa: F401  (registration)
from ag_detectron.data.relation_mapper import RelationDatasetMapper
from ag_detectron.modeling.relation_heads.freq_prior import load_predicate_counts
from ag_detectron.modeling.testing import tiny_scene_graph_cfg

_NAME = "test_modeling_tiny_ag"
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _frames(directory: str):
    rng = np.random.default_rng(0)
    dicts = []
    for i in range(2):
        path = os.path.join(directory, f"{i}.png")
        Image.fromarray(rng.integers(0, 255, (64, 96, 3), dtype=np.uint8)).save(path)
        annos = [
            {"bbox": [5, 5, 40, 60], "bbox_mode": 0, "category_id": 0},
            {"bbox": [30, 20, 60, 50], "bbox_mode": 0, "category_id": 5},
            {"bbox": [60, 10, 90, 40], "bbox_mode": 0, "category_id": 12 + i},
        ]
        rels = [
            {"subject": 0, "object": 1, "attention": [0], "spatial": [3, 5], "contacting": [14]},
            {"subject": 0, "object": 2, "attention": [1], "spatial": [6], "contacting": [17, 21]},
        ]
        dicts.append(
            {
                "file_name": path,
                "image_id": f"v.mp4/{i:06d}.png",
                "video_id": "v",
                "frame_number": i + 1,
                "height": 64,
                "width": 96,
                "annotations": annos,
                "relations": rels,
            }
        )
    return dicts


class TestIntegration(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        dicts = _frames(cls.tmp.name)
        if _NAME in DatasetCatalog.list():
            DatasetCatalog.remove(_NAME)
            MetadataCatalog.remove(_NAME)
        DatasetCatalog.register(_NAME, lambda d=dicts: d)
        MetadataCatalog.get(_NAME).set(
            predicate_groups={"attention": (0, 3), "spatial": (3, 9), "contacting": (9, 26)},
            allow_horizontal_flip=True,
        )

    @classmethod
    def tearDownClass(cls):
        DatasetCatalog.remove(_NAME)
        MetadataCatalog.remove(_NAME)
        cls.tmp.cleanup()

    def test_stats_tool_then_mapper_to_model(self):
        spec = importlib.util.spec_from_file_location(
            "compute_predicate_stats", os.path.join(_ROOT, "tools", "compute_predicate_stats.py")
        )
        tool = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(tool)
        stats = os.path.join(self.tmp.name, "stats", "freq.json")
        tool.main(["--dataset", _NAME, "--output", stats])
        counts = load_predicate_counts(stats, 36, (3, 6, 17))
        self.assertEqual(counts.pair_counts[5], 2)
        self.assertEqual(counts.predicate_counts[5, 14], 2)

        cfg = tiny_scene_graph_cfg("predcls", freq_file=stats)
        cfg.DATASETS.TRAIN = (_NAME,)
        cfg.DATASETS.TEST = (_NAME,)
        cfg.INPUT.MIN_SIZE_TRAIN = (64,)
        cfg.INPUT.MAX_SIZE_TRAIN = 96
        torch.manual_seed(0)
        model = build_model(cfg)
        mapper = RelationDatasetMapper(cfg, is_train=True)
        batch = [mapper(d) for d in DatasetCatalog.get(_NAME)]
        model.train()
        with EventStorage():
            losses = model(batch)
        self.assertTrue(all(torch.isfinite(v) for v in losses.values()))
        model.eval()
        test_batch = [
            RelationDatasetMapper(cfg, is_train=False)(d) for d in DatasetCatalog.get(_NAME)
        ]
        with torch.no_grad():
            outs = model(test_batch)
        self.assertEqual([o["relations"].pair_idx.tolist() for o in outs], [[[0, 1], [0, 2]]] * 2)
        self.assertEqual(outs[1]["instances"].pred_classes.tolist(), [0, 5, 13])

    def test_detector_checkpoint_initialises_branches(self):
        cfg = tiny_scene_graph_cfg("sgdet")
        det_cfg = cfg.clone()
        det_cfg.MODEL.META_ARCHITECTURE = "GeneralizedRCNN"
        torch.manual_seed(1)
        detector = build_model(det_cfg)
        path = os.path.join(self.tmp.name, "detector.pth")
        torch.save({"model": detector.state_dict()}, path)
        cfg.MODEL.WEIGHTS = path
        cfg.MODEL.ROI_RELATION_HEAD.ALLOW_RANDOM_DETECTOR = False
        torch.manual_seed(2)
        model = build_model(cfg)
        DetectionCheckpointer(model).load(cfg.MODEL.WEIGHTS)
        fc1 = detector.roi_heads.box_head.fc1.weight
        self.assertTrue(torch.equal(model.roi_heads.box_head.fc1.weight, fc1))
        for branch in ("subject", "object", "union"):
            head = model.relation_head.pair_features.get_submodule(f"{branch}_head")
            self.assertTrue(torch.equal(head.fc1.weight, fc1), branch)


if __name__ == "__main__":
    unittest.main()
