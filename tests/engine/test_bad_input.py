"""Clear errors for bad input: scene-graph configs on data without relations, undecodable frames."""

import os
import tempfile
import unittest

from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.evaluation import COCOEvaluator, DatasetEvaluators
from detectron2.structures import BoxMode
from PIL import Image

from ag_detectron.engine import DetectionDatasetMapper, Trainer, build_ag_evaluator
from ag_detectron.engine.testing import register_tiny_ag, tiny_config
from ag_detectron.errors import ConfigError, DatasetFormatError
from ag_detectron.evaluation import ActionGenomeRelationEvaluator

DET = "quick_schedules/faster_rcnn_synth_instant_test.yaml"
SG = "quick_schedules/reldn_synth_predcls_instant_test.yaml"
SGDET = "quick_schedules/reldn_synth_sgdet_instant_test.yaml"


class TestBadInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        root = cls._tmp.name
        cls.ag_train, cls.ag_test = register_tiny_ag(os.path.join(root, "ag"), "engine_bad")
        # A detection-only dataset: frames with boxes but no "relations".
        good = os.path.join(root, "good.png")
        Image.new("RGB", (64, 48), (120, 30, 200)).save(good)
        cls.corrupt = os.path.join(root, "corrupt.png")
        with open(cls.corrupt, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n not really a png")
        ann = {"bbox": [4, 4, 30, 40], "bbox_mode": BoxMode.XYXY_ABS, "category_id": 0}
        cls.boxes_only = "engine_bad_boxes_only"
        if cls.boxes_only not in DatasetCatalog.list():
            dicts = [
                {"file_name": good, "image_id": i, "height": 48, "width": 64, "annotations": [ann]}
                for i in range(2)
            ]
            DatasetCatalog.register(cls.boxes_only, lambda: dicts)
            MetadataCatalog.get(cls.boxes_only).set(
                thing_classes=["person"] * 36, evaluator_type="coco"
            )
        cls.corrupt_dict = {
            "file_name": cls.corrupt,
            "image_id": 0,
            "height": 48,
            "width": 64,
            "annotations": [ann],
        }

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def test_scene_graph_config_on_boxes_only_dataset(self):
        cfg = tiny_config(
            SG, {"DATASETS.TRAIN": (self.boxes_only,), "DATASETS.TEST": (self.boxes_only,)}
        )
        # The task refuses the dataset by its evaluator_type before any loader or evaluator exists.
        msg = f"{self.boxes_only}.*evaluator_type='coco'.*scene_graph.*ag_relation"
        with self.assertRaisesRegex(ConfigError, msg):
            Trainer.build_train_loader(cfg)
        with self.assertRaisesRegex(ConfigError, msg):
            Trainer.build_test_loader(cfg, self.boxes_only)
        with self.assertRaisesRegex(ConfigError, msg):
            build_ag_evaluator(cfg, self.boxes_only, self._tmp.name)

    def test_scene_graph_config_on_frames_without_relations(self):
        # An AG-typed dataset whose frames lack "relations" is caught by the annotation check.
        name = "engine_bad_ag_without_relations"
        if name not in DatasetCatalog.list():
            dicts = [dict(d) for d in DatasetCatalog.get(self.boxes_only)]
            DatasetCatalog.register(name, lambda: dicts)
            MetadataCatalog.get(name).set(
                thing_classes=["person"] * 36, evaluator_type="ag_relation"
            )
        cfg = tiny_config(SG, {"DATASETS.TRAIN": (name,), "DATASETS.TEST": (name,)})
        with self.assertRaisesRegex(ConfigError, "2 of 2 frames.*no 'relations'.*SceneGraphRCNN"):
            Trainer.build_train_loader(cfg)
        with self.assertRaisesRegex(ConfigError, "no 'relations'"):
            Trainer.build_test_loader(cfg, name)

    def test_detector_config_on_boxes_only_dataset_is_fine(self):
        cfg = tiny_config(
            DET, {"DATASETS.TRAIN": (self.boxes_only,), "DATASETS.TEST": (self.boxes_only,)}
        )
        self.assertIsInstance(
            build_ag_evaluator(cfg, self.boxes_only, self._tmp.name), COCOEvaluator
        )

    def test_undecodable_frame_names_the_file(self):
        cfg = tiny_config(DET, {"DATASETS.TRAIN": (self.boxes_only,)})
        mapper = DetectionDatasetMapper(cfg, is_train=True)
        with self.assertRaisesRegex(DatasetFormatError, "corrupt.png"):
            mapper(dict(self.corrupt_dict))
        missing = dict(self.corrupt_dict, file_name=os.path.join(self._tmp.name, "missing.png"))
        with self.assertRaisesRegex(DatasetFormatError, "missing.png"):
            mapper(missing)

    def test_evaluator_dispatch(self):
        overrides = {"DATASETS.TRAIN": (self.ag_train,), "DATASETS.TEST": (self.ag_test,)}
        out = self._tmp.name
        self.assertIsInstance(
            build_ag_evaluator(tiny_config(DET, overrides), self.ag_test, out), COCOEvaluator
        )
        self.assertIsInstance(
            build_ag_evaluator(tiny_config(SG, overrides), self.ag_test, out),
            ActionGenomeRelationEvaluator,
        )
        both = build_ag_evaluator(tiny_config(SGDET, overrides), self.ag_test, out)
        self.assertIsInstance(both, DatasetEvaluators)
        self.assertEqual(
            sorted(type(e).__name__ for e in both._evaluators),
            ["ActionGenomeRelationEvaluator", "COCOEvaluator"],
        )

    def test_unknown_or_missing_evaluator_type(self):
        for name, meta in (
            ("engine_bad_no_type", {}),
            ("engine_bad_odd_type", {"evaluator_type": "lvis"}),
        ):
            if name not in DatasetCatalog.list():
                DatasetCatalog.register(name, lambda: [])
                MetadataCatalog.get(name).set(**meta)
            with self.assertRaisesRegex(ConfigError, "evaluator_type"):
                build_ag_evaluator(tiny_config(DET), name, self._tmp.name)


if __name__ == "__main__":
    unittest.main()
