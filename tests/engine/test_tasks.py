"""Tasks are chosen by what a model declares and what a dataset is, never by meta-architecture
name."""

import ast
import glob
import os
import tempfile
import unittest

import torch
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.evaluation import COCOEvaluator, DatasetEvaluator, DatasetEvaluators
from detectron2.modeling import META_ARCH_REGISTRY

from ag_detectron.engine import (
    TASK_REGISTRY,
    DetectionTask,
    SceneGraphTask,
    Task,
    Trainer,
    build_ag_evaluator,
    build_ag_mapper,
    get_task,
    task_of,
)
from ag_detectron.engine.testing import register_tiny_ag, tiny_config
from ag_detectron.errors import ConfigError
from ag_detectron.evaluation import ActionGenomeRelationEvaluator

DET = "quick_schedules/faster_rcnn_synth_instant_test.yaml"
SG = "quick_schedules/reldn_synth_predcls_instant_test.yaml"
TOY_DATASET = "engine_tasks_toy_clips"


class ToyEvaluator(DatasetEvaluator):
    def __init__(self, dataset_name):
        self.dataset_name = dataset_name


# A new task and a new meta-architecture, registered here only: the engine needs no edit for them.
@TASK_REGISTRY.register()
class ToyClipTask(Task):
    name = "toy_clip_classification"
    evaluator_types = ("toy_clips",)
    find_unused_parameters = False

    @classmethod
    def build_train_loader(cls, cfg):
        cls.check_datasets(cfg, cfg.DATASETS.TRAIN)
        return [("train", list(cfg.DATASETS.TRAIN))]

    @classmethod
    def build_test_loader(cls, cfg, dataset_name):
        cls.check_dataset(cfg, dataset_name)
        return [("test", dataset_name)]

    @classmethod
    def build_evaluator(cls, cfg, dataset_name, output_dir):
        return ToyEvaluator(dataset_name)


@META_ARCH_REGISTRY.register()
class ToyClipModel(torch.nn.Module):
    task = "toy_clip_classification"

    def __init__(self, cfg):
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)


class TestTasks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        cls.ag_train, cls.ag_test = register_tiny_ag(
            os.path.join(cls._tmp.name, "ag"), "engine_tasks"
        )
        if TOY_DATASET not in DatasetCatalog.list():
            DatasetCatalog.register(TOY_DATASET, lambda: [{"video_id": "A"}])
            MetadataCatalog.get(TOY_DATASET).set(evaluator_type="toy_clips")
        cls.charades = "engine_tasks_charades"
        if cls.charades not in DatasetCatalog.list():
            DatasetCatalog.register(cls.charades, lambda: [{"video_id": "A", "labels": [1]}])
            MetadataCatalog.get(cls.charades).set(evaluator_type="charades", num_classes=157)

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def _cfg(self, config, **overrides):
        base = {"DATASETS.TRAIN": (self.ag_train,), "DATASETS.TEST": (self.ag_test,)}
        base.update(overrides)
        return tiny_config(config, base)

    def test_task_of_declared_or_default(self):
        self.assertIs(task_of(self._cfg(DET)), DetectionTask)  # GeneralizedRCNN declares none
        self.assertIs(
            task_of(self._cfg(SG)), SceneGraphTask
        )  # SceneGraphRCNN: task = "scene_graph"
        self.assertIs(get_task("scene_graph"), SceneGraphTask)

    def test_new_task_plugs_in_without_engine_edits(self):
        cfg = self._cfg(
            DET, **{"MODEL.META_ARCHITECTURE": "ToyClipModel", "DATASETS.TRAIN": (TOY_DATASET,),
                    "DATASETS.TEST": (TOY_DATASET,)}
        )  # fmt: skip
        self.assertIs(task_of(cfg), ToyClipTask)
        self.assertEqual(Trainer.build_train_loader(cfg), [("train", [TOY_DATASET])])
        self.assertEqual(Trainer.build_test_loader(cfg, TOY_DATASET), [("test", TOY_DATASET)])
        evaluator = Trainer.build_evaluator(cfg, TOY_DATASET)
        self.assertIsInstance(evaluator, ToyEvaluator)
        self.assertEqual(evaluator.dataset_name, TOY_DATASET)
        self.assertEqual(Trainer.ddp_kwargs(cfg)["find_unused_parameters"], False)
        # ... and it refuses the datasets of other tasks by their evaluator_type.
        with self.assertRaisesRegex(ConfigError, f"{self.ag_test}.*'ag_relation'.*toy_clips"):
            Trainer.build_test_loader(cfg, self.ag_test)

    def test_charades_dataset_with_detector_config_is_a_config_error(self):
        cfg = self._cfg(
            DET, **{"DATASETS.TRAIN": (self.charades,), "DATASETS.TEST": (self.charades,)}
        )
        msg = f"{self.charades}.*evaluator_type='charades'.*GeneralizedRCNN.*detection"
        with self.assertRaisesRegex(ConfigError, msg):
            Trainer.build_train_loader(cfg)
        with self.assertRaisesRegex(ConfigError, msg):
            Trainer.build_test_loader(cfg, self.charades)
        with self.assertRaisesRegex(ConfigError, msg):
            build_ag_evaluator(cfg, self.charades, self._tmp.name)

    def test_unknown_task_or_meta_architecture(self):
        @META_ARCH_REGISTRY.register()
        class ToyOrphanModel(torch.nn.Module):
            task = "no_such_task"

        cfg = self._cfg(DET, **{"MODEL.META_ARCHITECTURE": "ToyOrphanModel"})
        with self.assertRaisesRegex(ConfigError, "ToyOrphanModel.*'no_such_task'.*not registered"):
            task_of(cfg)
        cfg = self._cfg(DET, **{"MODEL.META_ARCHITECTURE": "NoSuchArch"})
        with self.assertRaisesRegex(ConfigError, "NoSuchArch.*not registered"):
            task_of(cfg)

    def test_mappers_follow_the_task(self):
        from ag_detectron.data import RelationDatasetMapper
        from ag_detectron.engine import DetectionDatasetMapper

        self.assertIsInstance(build_ag_mapper(self._cfg(DET), True), DetectionDatasetMapper)
        self.assertIsInstance(build_ag_mapper(self._cfg(SG), False), RelationDatasetMapper)

    def test_mode_in_another_case_builds_the_evaluator(self):
        out = self._tmp.name
        ev = build_ag_evaluator(
            self._cfg(SG, **{"MODEL.ROI_RELATION_HEAD.MODE": "PredCls"}), self.ag_test, out
        )
        self.assertIsInstance(ev, ActionGenomeRelationEvaluator)
        self.assertEqual(ev._mode, "predcls")
        both = build_ag_evaluator(
            self._cfg(SG, **{"MODEL.ROI_RELATION_HEAD.MODE": "SGDet"}), self.ag_test, out
        )
        self.assertIsInstance(both, DatasetEvaluators)
        self.assertEqual(
            sorted(type(e).__name__ for e in both._evaluators),
            ["ActionGenomeRelationEvaluator", "COCOEvaluator"],
        )
        self.assertIsInstance(build_ag_evaluator(self._cfg(DET), self.ag_test, out), COCOEvaluator)

    def test_ddp_arguments_from_the_task(self):
        det = Trainer.ddp_kwargs(self._cfg(DET, **{"MODEL.DEVICE": "cpu"}))
        self.assertEqual(det, {"find_unused_parameters": False, "device_ids": None})
        sg = Trainer.ddp_kwargs(self._cfg(SG, **{"MODEL.DEVICE": "cuda"}))
        self.assertEqual(sg, {"find_unused_parameters": True})  # Detectron2 adds the local rank

    def test_engine_names_no_meta_architecture(self):
        # No string in the engine's code (docstrings aside) is the name of a meta-architecture.
        import ag_detectron.engine as engine

        archs = {name for name, _ in META_ARCH_REGISTRY}
        self.assertIn("SceneGraphRCNN", archs)
        for path in glob.glob(os.path.join(os.path.dirname(engine.__file__), "*.py")):
            with open(path) as f:
                tree = ast.parse(f.read())
            docstrings = {
                id(node.body[0].value)
                for node in ast.walk(tree)
                if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
                and node.body and isinstance(node.body[0], ast.Expr)
                and isinstance(node.body[0].value, ast.Constant)
            }  # fmt: skip
            strings = {
                n.value for n in ast.walk(tree)
                if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in
                docstrings
            }  # fmt: skip
            self.assertEqual(strings & archs, set(), path)


if __name__ == "__main__":
    unittest.main()
