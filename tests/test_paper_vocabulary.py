"""Regression tests of issue 9, bugs 1 and 2: the paper's 25-predicate variant end to end, and a
mode written in another case.

Bug 1: ``ag_{train,test}_25`` re-number the predicates above ``other_relationship``; the evaluator
expected 17 contacting columns, the emission code dropped paper id 18 (``sitting_on``) and the
relation heads hard-coded their widths. Bug 2: ``MODE: "SGDet"`` built the model, not the evaluator.
"""

import os
import tempfile
import unittest

import numpy as np
import torch
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.evaluation import inference_on_dataset
from detectron2.modeling import build_model
from detectron2.structures import Boxes, BoxMode, Instances
from detectron2.utils.events import EventStorage
from torch import nn

import ag_detectron.modeling  # noqa: F401  (registration)
from ag_detectron.data.datasets import register_action_genome
from ag_detectron.data.relation_mapper import RelationDatasetMapper
from ag_detectron.evaluation import ActionGenomeRelationEvaluator
from ag_detectron.modeling.testing import tiny_scene_graph_cfg
from ag_detectron.utils.ag_fixtures import make_ag_annotations, write_ag_root
from ag_detectron.vocabulary import PAPER, RELEASE

PREFIX = "_test_paper_vocab"


def _groups(meta):
    return {k: tuple(v) for k, v in meta.predicate_groups.items()}


class GroundTruthOracle(nn.Module):
    """Outputs each frame's ground truth: GT boxes (score 1), one pair per relation, one-/multi-hot
    group probabilities in the dataset's own id space (widths from its metadata)."""

    def __init__(self, dataset_name: str):
        super().__init__()
        dicts = DatasetCatalog.get(dataset_name)
        self.by_id = {d["image_id"]: d for d in dicts}
        self.groups = _groups(MetadataCatalog.get(dataset_name))

    def forward(self, batch):
        outs = []
        for inp in batch:
            d = self.by_id[inp["image_id"]]
            size = (d["height"], d["width"])
            inst = Instances(size)
            boxes = [
                BoxMode.convert(list(a["bbox"]), a["bbox_mode"], BoxMode.XYXY_ABS)
                for a in d["annotations"]
            ]
            inst.pred_boxes = Boxes(torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4))
            inst.pred_classes = torch.tensor([a["category_id"] for a in d["annotations"]])
            inst.scores = torch.ones(len(boxes))
            rels = [r for r in d["relations"] if r["subject"] >= 0]
            rel = Instances(size)
            rel.pair_idx = torch.tensor(
                [[r["subject"], r["object"]] for r in rels], dtype=torch.long
            ).reshape(-1, 2)
            for name, (start, stop) in self.groups.items():
                scores = torch.zeros(len(rels), stop - start)
                for i, r in enumerate(rels):
                    for g in r[name]:
                        scores[i, g - start] = 1.0
                setattr(rel, f"{name}_scores", scores)
            outs.append({"instances": inst, "relations": rel})
        return outs


def _loader(dicts):
    """Batch-size-1 "loader" of image ids for ``inference_on_dataset``."""
    return [[{"image_id": d["image_id"]}] for d in dicts]


def _write_stats(path, dataset_names):
    """What tools/compute_predicate_stats.py writes, in the datasets' own vocabulary."""
    from ag_detectron.modeling.relation_heads.freq_prior import (
        compute_predicate_counts,
        save_predicate_counts,
    )
    from ag_detectron.vocabulary import OBJECT_CLASSES, PredicateVocabulary

    vocab = PredicateVocabulary.from_metadata(MetadataCatalog.get(dataset_names[0]))
    dicts = [d for n in dataset_names for d in DatasetCatalog.get(n)]
    counts = compute_predicate_counts(dicts, len(OBJECT_CLASSES), vocab.size)
    save_predicate_counts(
        path, counts, list(OBJECT_CLASSES), list(vocab.classes), vocab.group_sizes, dataset_names
    )
    return path


class TestPaperVocabulary(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        root = os.path.join(cls.tmp.name, "ag")
        persons, objects = make_ag_annotations()
        write_ag_root(root, persons, objects, images=True)
        cls.names = {}
        for n in (26, 25):
            for split in ("train", "test"):
                name = f"{PREFIX}_{split}_{n}"
                if name not in DatasetCatalog.list():
                    register_action_genome(name, root, split, num_predicates=n)
                cls.names[split, n] = name

    @classmethod
    def tearDownClass(cls):
        for name in cls.names.values():
            DatasetCatalog.remove(name)
            MetadataCatalog.remove(name)
        cls.tmp.cleanup()

    def _oracle_recall(self, name, mode="predcls", constraints=("no",)):
        evaluator = ActionGenomeRelationEvaluator(
            name, mode, constraints=constraints, distributed=False
        )
        loader = _loader(DatasetCatalog.get(name))
        return inference_on_dataset(GroundTruthOracle(name), loader, evaluator)["sgg"]

    def test_metadata_carries_paper_vocabulary(self):
        meta = MetadataCatalog.get(self.names["train", 25])
        self.assertEqual(len(meta.predicate_classes), 25)
        self.assertEqual(_groups(meta)["contacting"], (9, 25))
        self.assertEqual(meta.predicate_classes[18], "sittingon")
        self.assertNotIn("otherrelationship", meta.predicate_classes)

    def test_sitting_on_is_kept_with_id_18(self):
        dicts = DatasetCatalog.get(self.names["train", 25])
        contacting = [g for d in dicts for r in d["relations"] for g in r["contacting"]]
        self.assertIn(18, contacting)  # sitting_on: release 19, paper 18
        self.assertTrue(all(9 <= g < 25 for g in contacting))

    def test_ground_truth_oracle_scores_recall_one_on_25(self):
        for split in ("train", "test"):
            res = self._oracle_recall(self.names[split, 25])
            for k in (10, 20, 50, 100):
                self.assertEqual(res[f"predcls/no/R@{k}"], 1.0, (split, k))
            self.assertGreater(res["predcls/num_gt_triplets"], 0)

    def test_sitting_on_counts_in_the_recall(self):
        # an oracle that misses only sitting_on scores lower ("with": one label per group and row)
        name = self.names["train", 25]
        full = self._oracle_recall(name, constraints=("with",))
        dicts = DatasetCatalog.get(name)
        n_sit = sum(18 in r["contacting"] for d in dicts for r in d["relations"])
        self.assertGreater(n_sit, 0)

        class Missing(GroundTruthOracle):
            def forward(self, batch):
                outs = super().forward(batch)
                for o in outs:
                    o["relations"].contacting_scores[:, 18 - 9] = 0.0
                return outs

        evaluator = ActionGenomeRelationEvaluator(
            name, "predcls", constraints=("with",), distributed=False
        )
        loader = _loader(dicts)
        res = inference_on_dataset(Missing(name), loader, evaluator)["sgg"]
        self.assertEqual(full["predcls/num_gt_triplets"], res["predcls/num_gt_triplets"])
        self.assertLess(res["predcls/with/R@100"], full["predcls/with/R@100"])

    def test_oracle_on_26_unchanged(self):
        res = self._oracle_recall(self.names["test", 26])
        self.assertEqual(res["predcls/no/R@100"], 1.0)

    def test_mode_in_another_case(self):
        name = self.names["test", 25]
        res = self._oracle_recall(name, mode="SGDet")
        self.assertEqual(res["sgdet/no/R@100"], 1.0)
        cfg = tiny_scene_graph_cfg("SGDet")
        evaluator = ActionGenomeRelationEvaluator(name, cfg=cfg, distributed=False)
        self.assertEqual(evaluator._mode.value, "sgdet")

    def _model_cfg(self, head, n, freq_file=""):
        cfg = tiny_scene_graph_cfg("predcls", head=head, freq_file=freq_file)
        cfg.MODEL.ROI_RELATION_HEAD.NUM_PREDICATES = n
        cfg.DATASETS.TRAIN = (self.names["train", n],)
        cfg.DATASETS.TEST = (self.names["test", n],)
        cfg.INPUT.MIN_SIZE_TRAIN = (64,)
        cfg.INPUT.MAX_SIZE_TRAIN = 96
        return cfg

    def _train_and_evaluate(self, head):
        stats = _write_stats(
            os.path.join(self.tmp.name, f"stats_{head}.json"), [self.names["train", 25]]
        )
        cfg = self._model_cfg(head, 25, stats)
        torch.manual_seed(0)
        model = build_model(cfg)
        mapper = RelationDatasetMapper(cfg, is_train=True)
        batch = [mapper(d) for d in DatasetCatalog.get(self.names["train", 25])[:2]]
        model.train()
        with EventStorage():
            losses = model(batch)
        self.assertTrue(all(torch.isfinite(v) for v in losses.values()), losses)
        model.eval()
        test_name = self.names["test", 25]
        test_mapper = RelationDatasetMapper(cfg, is_train=False)
        loader = [[test_mapper(d)] for d in DatasetCatalog.get(test_name)]
        evaluator = ActionGenomeRelationEvaluator(test_name, cfg=cfg, distributed=False)
        with torch.no_grad():
            out = model(loader[0])[0]["relations"]
        self.assertEqual(out.contacting_scores.shape[1], PAPER.group("contacting").size)
        res = inference_on_dataset(model, loader, evaluator)["sgg"]
        self.assertTrue(np.isfinite(res["predcls/with/R@20"]))

    def test_reldn_trains_and_evaluates_on_25(self):
        self._train_and_evaluate("RelDNHead")

    def test_frequency_prior_trains_and_evaluates_on_25(self):
        self._train_and_evaluate("FrequencyPriorHead")

    def test_width_mismatch_is_a_config_error(self):
        from ag_detectron.errors import ConfigError

        cfg = self._model_cfg("RelDNHead", 26)
        cfg.DATASETS.TRAIN = (self.names["train", 25],)
        with self.assertRaisesRegex(ConfigError, r"NUM_PREDICATES.*25"):
            build_model(cfg)
        self.assertEqual(RELEASE.size, 26)


if __name__ == "__main__":
    unittest.main()
