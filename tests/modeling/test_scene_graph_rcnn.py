"""End-to-end tests of SceneGraphRCNN on a tiny random ResNet-18 detector (CPU)."""

import os
import tempfile
import unittest
from unittest import mock

import torch
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage

import ag_detectron.modeling  # noqa: F401  (registration)
from ag_detectron.errors import ConfigError
from ag_detectron.modeling.relation_heads.freq_prior import (
    compute_predicate_counts,
    frequency_table,
    save_predicate_counts,
)
from ag_detectron.modeling.testing import default_frame, make_relation_input, tiny_scene_graph_cfg

PREDICATE_KEYS = {"loss_rel_attention", "loss_rel_spatial", "loss_rel_contacting"}


def _build(cfg):
    torch.manual_seed(0)
    return build_model(cfg)


def _train_step(model, inputs):
    model.train()
    with EventStorage():
        losses = model(inputs)
    return losses


def _stats_file(directory: str) -> str:
    dicts = [
        {
            "image_id": "x",
            "annotations": [{"category_id": 0}, {"category_id": 5}, {"category_id": 12}],
            "relations": [
                {"subject": 0, "object": 1, "attention": [0], "spatial": [3], "contacting": [14]},
                {"subject": 0, "object": 2, "attention": [1], "spatial": [6], "contacting": [17]},
            ],
        }
    ]
    path = os.path.join(directory, "stats.json")
    counts = compute_predicate_counts(dicts, 36, 26)
    save_predicate_counts(path, counts, ["o"] * 36, ["p"] * 26, (3, 6, 17), ["tiny"])
    return path


class TestPredCls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = _build(tiny_scene_graph_cfg("predcls"))

    def test_train_losses_and_frozen_detector(self):
        model = self.model
        bn = model.backbone.bottom_up.stem.conv1.norm
        running_mean = bn.running_mean.clone()
        losses = _train_step(model, [default_frame(0), default_frame(1)])
        self.assertEqual(set(losses), PREDICATE_KEYS)
        for k, v in losses.items():
            self.assertTrue(torch.isfinite(v), k)
        model.zero_grad(set_to_none=True)
        sum(losses.values()).backward()
        for name, p in model.named_parameters():
            if name.startswith("relation_head."):
                self.assertTrue(p.requires_grad, name)
            else:
                self.assertFalse(p.requires_grad, name)
                self.assertIsNone(p.grad, name)
        got_grad = [n for n, p in model.relation_head.named_parameters() if p.grad is not None]
        self.assertTrue(any(n.startswith("pair_features.union_head") for n in got_grad))
        self.assertTrue(any(n.startswith("spatial") for n in got_grad))
        self.assertTrue(any(n.startswith("freq_bias") for n in got_grad))
        self.assertFalse(model.backbone.training)
        self.assertFalse(model.roi_heads.training)
        self.assertTrue(model.relation_head.training)
        self.assertTrue(torch.equal(bn.running_mean, running_mean))

    def test_inference_output_contract(self):
        model = self.model
        model.eval()
        frame = default_frame(0, original_size=(128, 192))
        with torch.no_grad():
            out = model([frame])[0]
        inst, rel = out["instances"], out["relations"]
        self.assertEqual(set(inst.get_fields()), {"pred_boxes", "pred_classes", "scores"})
        self.assertEqual(inst.image_size, (128, 192))
        self.assertTrue(
            torch.allclose(inst.pred_boxes.tensor, frame["instances"].gt_boxes.tensor * 2)
        )
        self.assertEqual(inst.pred_classes.tolist(), [0, 5, 12])
        self.assertEqual(inst.scores.tolist(), [1.0, 1.0, 1.0])
        self.assertEqual(
            set(rel.get_fields()),
            {"pair_idx", "attention_scores", "spatial_scores", "contacting_scores"},
        )
        self.assertEqual(rel.pair_idx.tolist(), [[0, 1], [0, 2]])
        self.assertEqual(rel.attention_scores.shape, (2, 3))
        self.assertEqual(rel.spatial_scores.shape, (2, 6))
        self.assertEqual(rel.contacting_scores.shape, (2, 17))
        self.assertTrue(torch.allclose(rel.attention_scores.sum(1), torch.ones(2)))
        for f in ("spatial_scores", "contacting_scores"):
            v = rel.get(f)
            self.assertTrue(((v >= 0) & (v <= 1)).all())

    def test_empty_frames(self):
        no_person = make_relation_input([[1, 1, 20, 20], [30, 30, 50, 50]], [3, 4])
        nothing = make_relation_input([], [])
        batch = [no_person, default_frame(2), nothing]
        losses = _train_step(self.model, batch)
        self.assertTrue(all(torch.isfinite(v) for v in losses.values()))
        only_empty = _train_step(self.model, [no_person, nothing])
        self.assertEqual(set(only_empty), PREDICATE_KEYS)
        self.assertEqual(float(sum(only_empty.values())), 0.0)
        self.model.eval()
        with torch.no_grad():
            outs = self.model(batch)
        self.assertEqual([len(o["relations"]) for o in outs], [0, 2, 0])
        self.assertEqual([len(o["instances"]) for o in outs], [2, 3, 0])

    def test_missing_fields(self):
        frame = default_frame(0)
        del frame["relations"]
        with self.assertRaisesRegex(ValueError, "relations"):
            _train_step(self.model, [frame])
        self.model.eval()
        bare = {"image": frame["image"], "height": 64, "width": 96}
        with self.assertRaisesRegex(ValueError, "instances"):
            with torch.no_grad():
                self.model([bare])

    def test_learns_one_frame(self):
        model = _build(tiny_scene_graph_cfg("predcls"))
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.Adam(params, lr=1e-3)
        frames = [default_frame(0)]
        first = None
        for _ in range(15):
            losses = _train_step(model, frames)
            total = sum(losses.values())
            first = float(total) if first is None else first
            opt.zero_grad()
            total.backward()
            opt.step()
        self.assertLess(float(total), 0.5 * first)


class TestTrainingOptions(unittest.TestCase):
    def test_unfrozen_backbone_gets_gradients(self):
        cfg = tiny_scene_graph_cfg("predcls")
        cfg.MODEL.ROI_RELATION_HEAD.FREEZE_DETECTOR = False
        model = _build(cfg)
        losses = _train_step(model, [default_frame(0)])
        self.assertTrue(model.backbone.training)
        self.assertFalse(model.roi_heads.training)
        sum(losses.values()).backward()
        grads = [p.grad for p in model.backbone.parameters() if p.grad is not None]
        self.assertTrue(grads and any(float(g.abs().sum()) > 0 for g in grads))
        self.assertTrue(all(p.grad is None for p in model.roi_heads.parameters()))

    def test_ablation_without_visual_branch(self):
        cfg = tiny_scene_graph_cfg("predcls")
        cfg.MODEL.ROI_RELATION_HEAD.RELDN.USE_VISUAL = False
        cfg.MODEL.ROI_RELATION_HEAD.LOSS_TYPE = "margin"
        model = _build(cfg)
        self.assertIsNone(model.relation_head.pair_features)
        losses = _train_step(model, [default_frame(0)])
        self.assertTrue(all(torch.isfinite(v) for v in losses.values()))
        sum(losses.values()).backward()
        names = {n.split(".")[1] for n, p in model.named_parameters() if p.grad is not None}
        self.assertEqual(names, {"spatial", "freq_bias"})


class TestInitFromDetector(unittest.TestCase):
    def test_box_head_copied_only_without_head_weights(self):
        model = _build(tiny_scene_graph_cfg("predcls"))
        sd = {
            k: v.clone()
            for k, v in model.state_dict().items()
            if not k.startswith("relation_head.")
        }
        sd["roi_heads.box_head.fc1.weight"].fill_(0.25)
        model.load_state_dict(sd, strict=False)
        for branch in ("subject", "object", "union"):
            w = model.relation_head.pair_features.get_submodule(f"{branch}_head").fc1.weight
            self.assertTrue(torch.all(w == 0.25), branch)
        full = {k: v.clone() for k, v in model.state_dict().items()}
        full["relation_head.pair_features.subject_head.fc1.weight"].fill_(-1.0)
        model.load_state_dict(full)
        self.assertTrue(
            torch.all(model.relation_head.pair_features.subject_head.fc1.weight == -1.0)
        )


class TestSGCls(unittest.TestCase):
    def test_train_and_eval(self):
        cfg = tiny_scene_graph_cfg("sgcls")
        cfg.MODEL.ROI_RELATION_HEAD.FREQ_SOFT = True
        model = _build(cfg)
        empty = make_relation_input([], [])
        losses = _train_step(model, [default_frame(0), empty, default_frame(1)])
        self.assertEqual(set(losses), PREDICATE_KEYS)
        self.assertTrue(all(torch.isfinite(v) for v in losses.values()))
        sum(losses.values()).backward()
        model.eval()
        with torch.no_grad():
            out = model([default_frame(0)])[0]
        inst = out["instances"]
        self.assertEqual(int(inst.pred_classes[0]), 0)
        self.assertEqual(float(inst.scores[0]), 1.0)
        self.assertTrue((inst.pred_classes[1:] != 0).all())
        self.assertTrue(((inst.scores[1:] > 0) & (inst.scores[1:] < 1)).all())
        self.assertEqual(out["relations"].pair_idx.tolist(), [[0, 1], [0, 2]])

    def test_requires_detector_weights(self):
        cfg = tiny_scene_graph_cfg("sgcls")
        cfg.MODEL.ROI_RELATION_HEAD.ALLOW_RANDOM_DETECTOR = False
        with self.assertRaisesRegex(ConfigError, "MODEL.WEIGHTS"):
            build_model(cfg)


def _bias_detector(model, person_bias: float):
    """Make the random detector emit persons and class-5 objects with comparable scores."""
    with torch.no_grad():
        bias = model.roi_heads.box_predictor.cls_score.bias
        bias.zero_()
        bias[0] = person_bias
        bias[5] = 3.0


class TestSGDet(unittest.TestCase):
    def test_train_contrastive_and_eval(self):
        cfg = tiny_scene_graph_cfg("sgdet")
        cfg.MODEL.ROI_RELATION_HEAD.SUPPLY_GT = True
        cfg.MODEL.ROI_RELATION_HEAD.RELDN.CONTRASTIVE_LOSS = True
        cfg.MODEL.ROI_RELATION_HEAD.NUM_PERSONS = 2
        model = _build(cfg)
        _bias_detector(model, 3.0)
        losses = _train_step(model, [default_frame(0), default_frame(1)])
        expected = (
            PREDICATE_KEYS
            | {"loss_rel_related"}
            | {f"loss_rel_contrastive_{n}" for n in ("entity", "class", "predicate")}
        )
        self.assertEqual(set(losses), expected)
        self.assertTrue(all(torch.isfinite(v) for v in losses.values()))
        self.assertGreater(float(losses["loss_rel_related"]), 0.0)
        self.assertGreater(float(losses["loss_rel_attention"]), 0.0)  # supplied GT pairs
        sum(losses.values()).backward()
        self.assertTrue(all(p.grad is None for p in model.backbone.parameters()))
        model.eval()
        with torch.no_grad():
            out = model([default_frame(0, original_size=(128, 192))])[0]
        inst, rel = out["instances"], out["relations"]
        persons = int((inst.pred_classes == 0).sum())
        self.assertGreaterEqual(persons, 1)
        self.assertLessEqual(persons, 2)
        self.assertTrue((inst.pred_classes[:persons] == 0).all())
        self.assertEqual(len(rel), persons * (len(inst) - persons))
        self.assertTrue((inst.pred_classes[rel.pair_idx[:, 0]] == 0).all())
        self.assertTrue((inst.pred_classes[rel.pair_idx[:, 1]] != 0).all())
        self.assertLessEqual(float(inst.pred_boxes.tensor[:, 2].max()), 192.0)

    def test_no_person_detected(self):
        model = _build(tiny_scene_graph_cfg("sgdet"))
        _bias_detector(model, -30.0)
        losses = _train_step(model, [default_frame(0)])
        self.assertEqual(float(sum(losses.values())), 0.0)
        model.eval()
        with torch.no_grad():
            out = model([{"image": default_frame(0)["image"], "height": 64, "width": 96}])[0]
        self.assertEqual(len(out["relations"]), 0)
        self.assertGreater(len(out["instances"]), 0)


class TestC4(unittest.TestCase):
    def test_all_modes(self):
        for mode in ("predcls", "sgcls", "sgdet"):
            cfg = tiny_scene_graph_cfg(mode, c4=True)
            cfg.MODEL.ROI_RELATION_HEAD.SUPPLY_GT = True
            model = _build(cfg)
            _bias_detector(model, 3.0)
            losses = _train_step(model, [default_frame(0)])
            self.assertTrue(all(torch.isfinite(v) for v in losses.values()), mode)
            sum(losses.values()).backward()
            model.eval()
            with torch.no_grad():
                out = model([default_frame(0)])[0]
            rel, inst = out["relations"], out["instances"]
            persons = int((inst.pred_classes == 0).sum())
            self.assertEqual(len(rel), persons * (len(inst) - persons), mode)
            self.assertEqual(rel.contacting_scores.shape[1], 17)


class TestConfigErrors(unittest.TestCase):
    def test_unknown_mode_and_head(self):
        with self.assertRaisesRegex(ConfigError, "MODE"):
            build_model(tiny_scene_graph_cfg("sgdett"))
        with self.assertRaisesRegex(ConfigError, "NAME"):
            build_model(tiny_scene_graph_cfg("predcls", head="NoSuchHead"))

    def test_bad_loss_type_and_all_branches_off(self):
        cfg = tiny_scene_graph_cfg("predcls")
        cfg.MODEL.ROI_RELATION_HEAD.LOSS_TYPE = "focal"
        with self.assertRaisesRegex(ConfigError, "LOSS_TYPE"):
            build_model(cfg)
        cfg = tiny_scene_graph_cfg("predcls")
        r = cfg.MODEL.ROI_RELATION_HEAD.RELDN
        r.USE_VISUAL = r.USE_SPATIAL = r.USE_FREQ = False
        with self.assertRaises(ConfigError):
            build_model(cfg)

    def test_frequency_prior_needs_file_to_train(self):
        # built without the stats (a checkpoint may hold the table), refuses to train from zeros
        for freq_file in ("", "/nonexistent/stats.json"):
            model = build_model(
                tiny_scene_graph_cfg("predcls", head="FrequencyPriorHead", freq_file=freq_file)
            )
            with self.assertRaisesRegex(ConfigError, "FREQ_BIAS_FILE"):
                _train_step(model, [default_frame(0)])

    def test_reldn_with_absent_stats_file_refuses_to_train(self):
        model = build_model(tiny_scene_graph_cfg("predcls", freq_file="/nonexistent/stats.json"))
        with self.assertRaisesRegex(ConfigError, "does not exist"):
            _train_step(model, [default_frame(0)])


class TestFrequencyPriorHead(unittest.TestCase):
    def test_untrained_eval_and_training(self):
        with tempfile.TemporaryDirectory() as d:
            path = _stats_file(d)
            cfg = tiny_scene_graph_cfg("predcls", head="FrequencyPriorHead", freq_file=path)
            cfg.MODEL.ROI_RELATION_HEAD.LOSS_TYPE = "margin"
            model = _build(cfg)
            table = frequency_table(
                compute_predicate_counts(
                    [
                        {
                            "annotations": [
                                {"category_id": 0},
                                {"category_id": 5},
                                {"category_id": 12},
                            ],
                            "relations": [
                                {
                                    "subject": 0,
                                    "object": 1,
                                    "attention": [0],
                                    "spatial": [3],
                                    "contacting": [14],
                                },
                                {
                                    "subject": 0,
                                    "object": 2,
                                    "attention": [1],
                                    "spatial": [6],
                                    "contacting": [17],
                                },
                            ],
                        }
                    ],
                    36,
                    26,
                ),
                (3, 6, 17),
                (False, True, True),
            )
        model.eval()
        with (
            torch.no_grad(),
            mock.patch.object(
                model.backbone, "forward", side_effect=AssertionError("backbone must be skipped")
            ),
        ):
            rel = model([default_frame(0)])[0]["relations"]
        self.assertTrue(torch.allclose(rel.attention_scores, torch.softmax(table[[5, 12], :3], 1)))
        self.assertTrue(torch.allclose(rel.contacting_scores, torch.sigmoid(table[[5, 12], 9:])))
        self.assertAlmostEqual(float(rel.attention_scores[0, 0]), 1 / (1 + 2e-3), places=5)
        losses = _train_step(model, [default_frame(0)])
        self.assertEqual(set(losses), PREDICATE_KEYS)
        sum(losses.values()).backward()
        self.assertIsNotNone(model.relation_head.freq_bias.table.grad)
        trainable = [n for n, p in model.named_parameters() if p.requires_grad]
        self.assertEqual(trainable, ["relation_head.freq_bias.table"])


class TestTrainBoxJitter(unittest.TestCase):
    def test_training_entities_jittered_eval_untouched(self):
        cfg = tiny_scene_graph_cfg("predcls")
        cfg.MODEL.ROI_RELATION_HEAD.TRAIN_BOX_JITTER = 0.1
        model = _build(cfg)
        frame = default_frame(0)
        gt = frame["instances"]
        images = model.preprocess_image([frame])
        train_ents, _ = model._entities(images, {}, [gt], training=True)
        eval_ents, _ = model._entities(images, {}, [gt], training=False)
        self.assertFalse(torch.equal(train_ents[0].pred_boxes.tensor, gt.gt_boxes.tensor))
        self.assertTrue(torch.equal(eval_ents[0].pred_boxes.tensor, gt.gt_boxes.tensor))
        self.assertTrue(torch.equal(train_ents[0].pred_classes, gt.gt_classes))

    def test_negative_refused(self):
        cfg = tiny_scene_graph_cfg("predcls")
        cfg.MODEL.ROI_RELATION_HEAD.TRAIN_BOX_JITTER = -0.1
        with self.assertRaisesRegex(ConfigError, "TRAIN_BOX_JITTER"):
            build_model(cfg)


if __name__ == "__main__":
    unittest.main()
