"""ClipClassifier: loss, outputs, normalisation, frozen backbone, class-count check."""

import unittest

import torch
import torch.nn.functional as F
from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.modeling import build_model

from ag_detectron.engine.tasks import task_of
from ag_detectron.errors import ConfigError
from ag_detectron.modeling.meta_arch import ClipClassifier
from ag_detectron.modeling.video.testing import make_clip_inputs, tiny_clip_cfg


class _Mean(torch.nn.Module):
    """Backbone stub: mean of each channel -> (B, 3)."""

    output_dim = 3

    def forward(self, x):
        return x.mean(dim=(2, 3, 4))


class TestClipClassifier(unittest.TestCase):
    def test_train_loss_and_inference_outputs(self):
        torch.manual_seed(0)
        model = build_model(tiny_clip_cfg())
        self.assertIsInstance(model, ClipClassifier)
        self.assertEqual(ClipClassifier.task, "clip_classification")
        inputs = make_clip_inputs(2, 5)
        model.train()
        losses = model(inputs)
        self.assertEqual(set(losses), {"loss_action"})
        losses["loss_action"].backward()
        self.assertIsNotNone(model.backbone.blocks[0].multipathway_blocks[0].conv.weight.grad)
        model.eval()
        with torch.no_grad():
            out = model(inputs)
            s = model.clip_features(inputs)
        self.assertEqual(len(out), 2)
        self.assertEqual(tuple(out[0]["scores"].shape), (5,))
        self.assertEqual(tuple(out[0]["clip_feature"].shape), (model.backbone.output_dim,))
        self.assertTrue(((out[0]["scores"] > 0) & (out[0]["scores"] < 1)).all())
        self.assertTrue(torch.allclose(out[1]["clip_feature"], s[1]))
        logits = model.cls_score(s)
        self.assertTrue(torch.allclose(out[0]["scores"], logits[0].sigmoid()))

    def test_normalisation_and_bce_by_hand(self):
        model = ClipClassifier(
            backbone=_Mean(),
            num_classes=2,
            pixel_mean=[100.0, 0.0, 50.0],
            pixel_std=[2.0, 1.0, 5.0],
            dropout=0.0,
        )
        clip = torch.zeros(3, 2, 2, 2, dtype=torch.uint8)
        clip[0] += 104
        clip[1] += 3
        clip[2] += 60
        s = model.clip_features([{"clip": clip}])
        self.assertTrue(torch.allclose(s, torch.tensor([[2.0, 3.0, 2.0]])))
        with torch.no_grad():
            model.cls_score.weight.copy_(torch.tensor([[1.0, 0.0, 0.0], [0.0, -1.0, 0.0]]))
            model.cls_score.bias.zero_()
        model.train()
        labels = torch.tensor([1.0, 0.0])
        loss = model([{"clip": clip, "labels": labels, "video_id": "X"}])["loss_action"]
        # logits (2, -3): -(log sigmoid(2) + log(1 - sigmoid(-3))) / 2
        expected = -(F.logsigmoid(torch.tensor(2.0)) + F.logsigmoid(torch.tensor(3.0))) / 2
        self.assertAlmostEqual(loss.item(), expected.item(), places=6)

    def test_wrong_label_width_names_video(self):
        model = build_model(tiny_clip_cfg(num_classes=5)).train()
        inputs = make_clip_inputs(1, 4)
        with self.assertRaisesRegex(ValueError, "V0000.*\\(5,\\)"):
            model(inputs)

    def test_frozen_backbone(self):
        cfg = tiny_clip_cfg()
        cfg.MODEL.VIDEO.FREEZE_BACKBONE = True
        model = build_model(cfg)
        model.train()
        self.assertFalse(model.backbone.training)
        self.assertTrue(model.cls_score.training)
        before = model.backbone.blocks[0].multipathway_blocks[0].norm.running_mean.clone()
        loss = model(make_clip_inputs(2, 5))["loss_action"]
        loss.backward()
        self.assertTrue(all(p.grad is None for p in model.backbone.parameters()))
        self.assertIsNotNone(model.cls_score.weight.grad)
        after = model.backbone.blocks[0].multipathway_blocks[0].norm.running_mean
        self.assertTrue(torch.equal(before, after))

    def test_num_classes_checked_against_metadata(self):
        name = "clip_classifier_test_ds"
        if name not in DatasetCatalog.list():
            DatasetCatalog.register(name, lambda: [])
            MetadataCatalog.get(name).set(num_classes=7, evaluator_type="charades")
        cfg = tiny_clip_cfg(num_classes=5)
        cfg.DATASETS.TRAIN = (name,)
        with self.assertRaisesRegex(ConfigError, f"{name}.*num_classes=7"):
            build_model(cfg)
        cfg.MODEL.VIDEO.NUM_CLASSES = 7
        self.assertEqual(build_model(cfg).num_classes, 7)

    def test_task_attribute_reaches_engine(self):
        try:
            task = task_of(tiny_clip_cfg())
        except ConfigError as e:  # the clip task is registered by the data/engine half
            self.assertIn("clip_classification", str(e))
        else:
            self.assertEqual(task.name, "clip_classification")


if __name__ == "__main__":
    unittest.main()
