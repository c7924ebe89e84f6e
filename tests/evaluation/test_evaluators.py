"""The relation and Charades evaluators under ``inference_on_dataset`` with dummy models on tiny
registered datasets."""

import json
import os
import tempfile
import unittest

import numpy as np
import torch
from detectron2.config import get_cfg
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.evaluation import inference_on_dataset
from detectron2.structures import Boxes, BoxMode, Instances
from torch import nn

from ag_detectron.config import add_ag_config
from ag_detectron.data.datasets.ag_categories import PREDICATE_CLASSES
from ag_detectron.errors import ConfigError, EvaluationInputError
from ag_detectron.evaluation import (
    ActionGenomeRelationEvaluator,
    CharadesEvaluator,
    official_map,
    sklearn_map,
)

AG_NAME = "_test_eval_ag_tiny"
CH_NAME = "_test_eval_charades_tiny"


def _frame(image_id, video_id, with_relation=True):
    # person XYXY, object given as XYWH to exercise bbox_mode conversion
    anns = [
        {"bbox": [0.0, 0.0, 50.0, 80.0], "bbox_mode": BoxMode.XYXY_ABS, "category_id": 0},
        {"bbox": [60.0, 10.0, 30.0, 30.0], "bbox_mode": BoxMode.XYWH_ABS, "category_id": 7},
    ]
    # looking_at (0), spatial in_front_of (5), contacting holding (14): GLOBAL ids
    rels = [{"subject": 0, "object": 1, "attention": [0], "spatial": [5], "contacting": [14]}]
    return {
        "file_name": f"/nonexistent/{image_id}",
        "image_id": image_id,
        "video_id": video_id,
        "height": 100,
        "width": 100,
        "annotations": anns,
        "relations": rels if with_relation else [],
    }


FRAMES = [
    _frame("v1.mp4/000001.png", "v1"),
    _frame("v1.mp4/000002.png", "v1"),
    _frame("v2.mp4/000001.png", "v2"),
    _frame("v2.mp4/000002.png", "v2", with_relation=False),
]


class RelationDummy(nn.Module):
    """Predicts the GT one-hot labels; for the 2nd frame the attention is wrong (not_looking_at)."""

    def forward(self, batch):
        outs = []
        for d in batch:
            inst = Instances((d["height"], d["width"]))
            inst.pred_boxes = Boxes(
                torch.tensor([[0.0, 0.0, 50.0, 80.0], [60.0, 10.0, 90.0, 40.0]])
            )
            inst.pred_classes = torch.tensor([0, 7])
            inst.scores = torch.tensor([0.9, 0.5])
            rel = Instances((d["height"], d["width"]))
            rel.pair_idx = torch.tensor([[0, 1]])
            wrong = d["image_id"] == "v1.mp4/000002.png"
            rel.attention_scores = torch.tensor([[0.0, 1.0, 0.0] if wrong else [1.0, 0.0, 0.0]])
            spa, con = torch.zeros(1, 6), torch.zeros(1, 17)
            spa[0, 2], con[0, 5] = 1.0, 1.0
            rel.spatial_scores, rel.contacting_scores = spa, con
            outs.append({"instances": inst, "relations": rel})
        return outs


class TestRelationEvaluator(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if AG_NAME not in DatasetCatalog.list():
            DatasetCatalog.register(AG_NAME, lambda: [dict(f) for f in FRAMES])
            MetadataCatalog.get(AG_NAME).set(
                evaluator_type="ag_relation",
                predicate_classes=list(PREDICATE_CLASSES),
                filter_preset="none",
            )

    def test_inference_on_dataset(self):
        cfg = get_cfg()
        add_ag_config(cfg)
        cfg.MODEL.ROI_RELATION_HEAD.MODE = "sgdet"
        with tempfile.TemporaryDirectory() as out:
            evaluator = ActionGenomeRelationEvaluator(AG_NAME, cfg=cfg, output_dir=out)
            loader = [[f] for f in FRAMES[:3]] + [[FRAMES[3]]]
            res = inference_on_dataset(RelationDummy(), loader, evaluator)["sgg"]
            files = sorted(os.listdir(out))
            with open(os.path.join(out, "sgg_sgdet_results.json")) as f:
                saved = json.load(f)
            npz = np.load(os.path.join(out, "sgg_sgdet_per_frame.npz"))
            self.assertEqual(npz["with/num_gt"].tolist(), [3, 3, 3, 0])
        self.assertIn("sgg_sgdet_per_predicate_recall.png", files)
        self.assertTrue(all(isinstance(v, float) for v in res.values()))
        # "with": frames 1 and 3 recover all 3 triplets, frame 2 misses looking_at; frame 4 no GT
        self.assertAlmostEqual(res["sgdet/with/R@20"], (1 + 2 / 3 + 1) / 3)
        self.assertEqual(res["sgdet/num_frames_without_gt"], 1.0)
        self.assertEqual(res["sgdet/num_frames"], 4.0)
        # AG paper: one-hot rows tie at 1.0 across types -> lowest id: looking_at (frames 1, 3: 1/3)
        # or not_looking_at (frame 2: 0). image = 2/9; video = mean(mean(1/3, 0), 1/3) = 1/4
        self.assertAlmostEqual(res["sgdet/ag_paper_image/R@20"], 2 / 9)
        self.assertAlmostEqual(res["sgdet/ag_paper_video/R@20"], 1 / 4)
        self.assertIn("sgdet/no/mR@50_frame", res)
        self.assertEqual(saved["settings"]["num_predicates"], 26)
        self.assertEqual(saved["results"]["sgdet/with/R@20"], res["sgdet/with/R@20"])

    def test_not_processed_duplicates_and_predcls_scores(self):
        evaluator = ActionGenomeRelationEvaluator(AG_NAME, "predcls", distributed=False)
        evaluator.reset()
        model = RelationDummy()
        for f in (FRAMES[0], FRAMES[0], FRAMES[2]):  # frame 0 twice; frames 1 and 3 never seen
            evaluator.process([f], model([f]))
        res = evaluator.evaluate()["sgg"]
        self.assertEqual(res["predcls/num_frames"], 2.0)
        self.assertEqual(res["predcls/num_frames_not_processed"], 2.0)
        self.assertEqual(res["predcls/num_duplicate_records"], 1.0)
        self.assertEqual(res["predcls/with/R@10"], 1.0)

    def test_unknown_image_id_and_bad_mode(self):
        evaluator = ActionGenomeRelationEvaluator(AG_NAME, "predcls", distributed=False)
        evaluator.reset()
        bad = dict(FRAMES[0], image_id="nope.mp4/000001.png")
        evaluator.process([bad], RelationDummy()([bad]))
        with self.assertRaises(EvaluationInputError):
            evaluator.evaluate()
        with self.assertRaises(ConfigError):
            ActionGenomeRelationEvaluator(AG_NAME, mode="sggen")


VIDEOS = [
    {"video_id": "A", "labels": [1, 0, 0]},
    {"video_id": "B", "labels": [0, 1, 1]},
    {"video_id": "C", "labels": [0, 0, 0]},  # unlabeled
    {"video_id": "D", "labels": [1, 1, 0]},
]
# two views per video except D (one view): the mismatch must be reported
VIEWS = [
    ("A", [0.9, 0.1, 0.2]), ("A", [0.3, 0.6, 0.1]),
    ("B", [0.2, 0.4, 0.8]), ("B", [0.1, 0.7, 0.3]),
    ("C", [0.95, 0.2, 0.1]), ("C", [0.5, 0.5, 0.9]),
    ("D", [0.4, 0.35, 0.05]),
]  # fmt: skip


class ScoreDummy(nn.Module):
    def forward(self, batch):
        return [torch.tensor(d["view_scores"]) for d in batch]


class TestCharadesEvaluator(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if CH_NAME not in DatasetCatalog.list():
            DatasetCatalog.register(CH_NAME, lambda: [dict(v) for v in VIDEOS])
            MetadataCatalog.get(CH_NAME).set(
                evaluator_type="charades", action_classes=["x", "y", "z"]
            )

    def test_inference_on_dataset(self):
        loader = [[{"video_id": vid, "view_scores": s}] for vid, s in VIEWS]
        with tempfile.TemporaryDirectory() as out:
            evaluator = CharadesEvaluator(CH_NAME, output_dir=out)
            with self.assertLogs(
                "ag_detectron.evaluation.charades_evaluation", level="WARNING"
            ) as logs:
                res = inference_on_dataset(ScoreDummy(), loader, evaluator)["charades"]
            self.assertIn("charades_per_class_ap.png", os.listdir(out))
        self.assertTrue(any("different numbers of views" in m for m in logs.output))
        scores = np.array([[0.9, 0.6, 0.2], [0.2, 0.7, 0.8], [0.95, 0.5, 0.9], [0.4, 0.35, 0.05]])
        labels = np.array([v["labels"] for v in VIDEOS])
        self.assertAlmostEqual(res["mAP"], official_map(scores, labels).mean_ap)
        self.assertAlmostEqual(res["mAP_sklearn"], sklearn_map(scores, labels).mean_ap)
        # by hand, official: C is pushed to -inf. class x: A 0.9 (+), D 0.4 (+) -> 1.
        # class y: B 0.7 (+), A 0.6 (-), D 0.35 (+) -> (1 + 2/3) / 2. class z: B 0.8 (+) -> 1.
        self.assertAlmostEqual(res["mAP"], (1 + 5 / 6 + 1) / 3)
        # sklearn keeps C (x 0.95, y 0.5, z 0.9) as a negative: x: C-, A+ 1/2, D+ 2/3;
        # y: B+ 1, A-, C-, D+ 2/4; z: C-, B+ 1/2
        self.assertAlmostEqual(res["mAP_sklearn"], ((0.5 + 2 / 3) / 2 + (1 + 0.5) / 2 + 0.5) / 3)
        self.assertEqual(res["num_classes_evaluated"], 3.0)
        self.assertEqual(res["num_unlabeled_videos"], 1.0)

    def test_mean_aggregation_and_width_check(self):
        ev = CharadesEvaluator(CH_NAME, aggregation="mean", distributed=False)
        ev.reset()
        ev.process([{"video_id": "A"}], [torch.tensor([0.1, 0.2])])
        with self.assertRaises(EvaluationInputError):
            ev.evaluate()


if __name__ == "__main__":
    unittest.main()
