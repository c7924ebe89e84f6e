"""RelDNHead ``SPATIAL_IN_VISUAL``: the visual MLP sees the box geometry, so an appearance ×
geometry interaction (attention = facing × object side) becomes learnable; the plain sum cannot."""

import unittest
from typing import Dict, List

import torch
from detectron2.structures import Boxes, Instances
from torch import nn

from ag_detectron.errors import ConfigError
from ag_detectron.modeling.relation_heads.reldn import RelDNHead
from ag_detectron.modeling.relation_heads.sampling import PairTargets
from ag_detectron.modeling.testing import tiny_scene_graph_cfg

IMAGE_SIZE = (100, 200)


def _head(spatial_hidden_dim=None, **options) -> RelDNHead:
    """A RelDNHead over the stub facing features, no frequency branch, plus ``options``."""
    return RelDNHead(
        pair_features=_FacingFeatures(), spatial_hidden_dim=spatial_hidden_dim, freq_bias=None,
        **options
    )


class _FacingFeatures(nn.Module):
    """Stub pair features: the subject feature is the person's facing (±1), others are zero."""

    out_dim = 4

    def __init__(self):
        super().__init__()
        self.unused = nn.Linear(2, 2)  # a parameter, to test FREEZE_BRANCH_HEADS

    def forward(self, features: Dict[str, torch.Tensor], boxes: List[Boxes], pairs):
        facing = features["facing"]  # (N_img,)
        s = torch.cat([facing[i].expand(len(p), 1) for i, p in enumerate(pairs)], dim=0)
        s = torch.cat([s, s.new_zeros(len(s), self.out_dim - 1)], dim=1)
        return s, torch.zeros_like(s), torch.zeros_like(s)


def _batch(n: int, generator: torch.Generator):
    """n one-pair images: a person at the centre, one object left or right, facing ±1.
    Attention target: 0 (looking_at) iff the object is on the faced side, else 1."""
    facing = torch.randint(0, 2, (n,), generator=generator).float() * 2 - 1
    side = torch.randint(0, 2, (n,), generator=generator).float() * 2 - 1
    offset = 20 + 60 * torch.rand(n, generator=generator)
    entities, pairs = [], []
    for i in range(n):
        person = torch.tensor([90.0, 30.0, 110.0, 90.0])
        cx = 100 + side[i] * offset[i]
        obj = torch.tensor([cx - 8, 60.0, cx + 8, 80.0])
        inst = Instances(IMAGE_SIZE)
        inst.pred_boxes = Boxes(torch.stack([person, obj]))
        inst.pred_classes = torch.tensor([0, 5])
        entities.append(inst)
        pairs.append(torch.tensor([[0, 1]]))
    label = (facing != side).long()
    targets = PairTargets(
        is_positive=torch.ones(n, dtype=torch.bool),
        attention=nn.functional.one_hot(label, 3).float(),
        spatial=torch.zeros(n, 6),
        contacting=torch.zeros(n, 17),
    )
    return {"facing": facing}, entities, pairs, targets, label


def _train_accuracy(spatial_in_visual: bool) -> float:
    torch.manual_seed(0)
    head = _head(16, spatial_in_visual=spatial_in_visual, spatial_embed_dim=16)
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(0)
    head.train()
    for _ in range(150):
        feats, ents, pairs, targets, _ = _batch(32, gen)
        loss = sum(head(feats, ents, pairs, targets).values())
        opt.zero_grad()
        loss.backward()
        opt.step()
    head.eval()
    feats, ents, pairs, _, label = _batch(256, gen)
    with torch.no_grad():
        logits = head.logits(feats, ents, pairs)
    return float((logits[:, :3].argmax(1) == label).float().mean())


class TestSpatialInVisual(unittest.TestCase):
    def test_interaction_learnable_only_with_fusion(self):
        self.assertGreater(_train_accuracy(True), 0.95)
        self.assertLess(_train_accuracy(False), 0.85)

    def test_config_keys_and_shapes(self):
        cfg = tiny_scene_graph_cfg()
        cfg.MODEL.ROI_RELATION_HEAD.RELDN.USE_VISUAL = False  # no feature maps needed here
        cfg.MODEL.ROI_RELATION_HEAD.RELDN.SPATIAL_IN_VISUAL = True
        cfg.MODEL.ROI_RELATION_HEAD.RELDN.SPATIAL_EMBED_DIM = 12
        args = RelDNHead.from_config(cfg, {})
        self.assertTrue(args["spatial_in_visual"])
        self.assertEqual(args["spatial_embed_dim"], 12)
        head = _head(spatial_in_visual=True, spatial_embed_dim=8)
        self.assertEqual(head.visual[0].in_features, 3 * 4 + 8)
        feats, ents, pairs, _, _ = _batch(3, torch.Generator().manual_seed(1))
        self.assertEqual(tuple(head.logits(feats, ents, pairs).shape), (3, 27))

    def test_zero_init_norm_and_frozen_branches(self):
        torch.manual_seed(0)
        head = _head(8, zero_init_logits=True, feature_norm=True, freeze_branch_heads=True)
        feats, ents, pairs, _, _ = _batch(5, torch.Generator().manual_seed(2))
        # Zero-initialised last layers and zero biases: every logit starts at 0.
        self.assertTrue(torch.equal(head.logits(feats, ents, pairs), torch.zeros(5, 27)))
        self.assertIsNotNone(head.feature_norm)
        self.assertTrue(all(not p.requires_grad for p in head.pair_features.parameters()))
        self.assertTrue(all(p.requires_grad for p in head.visual.parameters()))

    def test_feature_dropout_train_only(self):
        torch.manual_seed(0)
        head = _head(feature_dropout=0.5)
        feats, ents, pairs, _, _ = _batch(64, torch.Generator().manual_seed(3))
        head.train()
        a, b = head.logits(feats, ents, pairs), head.logits(feats, ents, pairs)
        self.assertFalse(torch.equal(a, b))  # units dropped at random in training
        head.eval()
        c, d = head.logits(feats, ents, pairs), head.logits(feats, ents, pairs)
        self.assertTrue(torch.equal(c, d))
        plain = _head()
        self.assertIsNone(plain.feature_dropout)
        with self.assertRaisesRegex(ConfigError, "FEATURE_DROPOUT"):
            _head(feature_dropout=1.0)
        cfg = tiny_scene_graph_cfg()
        cfg.MODEL.ROI_RELATION_HEAD.RELDN.USE_VISUAL = False
        cfg.MODEL.ROI_RELATION_HEAD.RELDN.FEATURE_DROPOUT = 0.25
        self.assertEqual(RelDNHead.from_config(cfg, {})["feature_dropout"], 0.25)


if __name__ == "__main__":
    unittest.main()
