"""Feature-bank operators: shapes, masking, the NL block's zero-initialised output, build_fbo."""

import unittest

import torch
from detectron2.config import CfgNode as CN

from ag_detectron.errors import ConfigError
from ag_detectron.modeling.fbo import (
    FBO_REGISTRY,
    AvgFBO,
    MaxFBO,
    NonLocalFBO,
    build_fbo,
)

B, W, DS, DB = 3, 5, 8, 6


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    clip = torch.randn(B, DS, generator=g)
    bank = torch.rand(B, W, DB, generator=g)
    mask = torch.tensor(
        [[True] * 5, [True, True, False, False, False], [False] * 5], dtype=torch.bool
    )
    return clip, bank, mask


def _perturb_padding(bank, mask):
    out = bank.clone()
    out[~mask] = 1000.0
    return out


def _cfg(name, **nl):
    cfg = CN()
    cfg.MODEL = CN()
    cfg.MODEL.SGFB = CN()
    cfg.MODEL.SGFB.FBO = CN()
    f = cfg.MODEL.SGFB.FBO
    f.NAME = name
    f.AVG_INCLUDE_PADDING = False
    f.NL_DIM = nl.get("dim", 16)
    f.NL_LAYERS = nl.get("layers", 2)
    f.NL_DROPOUT = 0.2
    f.NL_LAYER_NORM = True
    return cfg


class TestPooling(unittest.TestCase):
    def test_avg(self):
        clip, bank, mask = _inputs()
        out = AvgFBO(bank_dim=DB)(clip, bank, mask)
        self.assertEqual(out.shape, (B, DB))
        torch.testing.assert_close(out[0], bank[0].mean(0))
        torch.testing.assert_close(out[1], bank[1, :2].mean(0))
        torch.testing.assert_close(out[2], torch.zeros(DB))
        torch.testing.assert_close(
            out, AvgFBO(bank_dim=DB)(clip, _perturb_padding(bank, mask), mask)
        )
        padded = AvgFBO(bank_dim=DB, include_padding=True)(clip, bank * mask[..., None], mask)
        torch.testing.assert_close(padded[1], bank[1, :2].sum(0) / W)

    def test_max(self):
        clip, bank, mask = _inputs()
        out = MaxFBO(bank_dim=DB)(clip, bank, mask)
        self.assertEqual(out.shape, (B, DB))
        torch.testing.assert_close(out[1], bank[1, :2].amax(0))
        torch.testing.assert_close(out[2], torch.zeros(DB))
        torch.testing.assert_close(
            out, MaxFBO(bank_dim=DB)(clip, _perturb_padding(bank, mask), mask)
        )

    def test_shape_errors(self):
        clip, bank, mask = _inputs()
        with self.assertRaisesRegex(ValueError, r"expected \(B, Ds\), \(B, W, Db\), \(B, W\)"):
            AvgFBO(bank_dim=DB)(clip, bank, mask[:, :3])


class TestNonLocal(unittest.TestCase):
    def test_identity_at_init(self):
        torch.manual_seed(0)
        fbo = NonLocalFBO(clip_dim=DS, bank_dim=DB, dim=16).eval()
        clip, bank, mask = _inputs()
        out = fbo(clip, bank, mask)
        self.assertEqual(out.shape, (B, 16))
        self.assertEqual(fbo.output_dim, 16)
        torch.testing.assert_close(out, torch.relu(fbo.clip_proj(clip)))
        for block in fbo.blocks:
            self.assertEqual(float(block.out.weight.detach().abs().sum()), 0.0)
            self.assertEqual(float(block.out.bias.detach().abs().sum()), 0.0)
        # the bank does not matter yet ...
        torch.testing.assert_close(out, fbo(clip, torch.rand(B, W, DB), mask))

    def test_bank_matters_after_training_but_padding_never(self):
        torch.manual_seed(0)
        fbo = NonLocalFBO(clip_dim=DS, bank_dim=DB, dim=16).eval()
        clip, bank, mask = _inputs()
        # ... but the zero output layer receives a gradient, so training moves it
        fbo(clip, bank, mask).sum().backward()
        self.assertGreater(float(fbo.blocks[-1].out.weight.grad.abs().sum()), 0.0)
        with torch.no_grad():
            for block in fbo.blocks:
                block.out.weight.normal_(std=1.0)
                block.phi.weight.normal_(std=1.0)
                block.theta.weight.normal_(std=1.0)
        out = fbo(clip, bank, mask)
        other = bank.clone()
        other[:2, 0] += 1.0  # a real entry of rows 0 and 1 changes
        changed = fbo(clip, other, mask)
        self.assertFalse(torch.allclose(out[:2], changed[:2]))
        # padding values never matter; an empty window gives the identity path
        torch.testing.assert_close(out, fbo(clip, _perturb_padding(bank, mask), mask))
        torch.testing.assert_close(out[2], torch.relu(fbo.clip_proj(clip[2])))

    def test_layers_and_train_mode(self):
        fbo = NonLocalFBO(clip_dim=DS, bank_dim=DB, dim=8, num_layers=3, dropout=0.5)
        self.assertEqual(len(fbo.blocks), 3)
        clip, bank, mask = _inputs()
        self.assertEqual(fbo.train()(clip, bank, mask).shape, (B, 8))
        with self.assertRaises(ConfigError):
            NonLocalFBO(clip_dim=DS, bank_dim=DB, num_layers=0)


class TestBuild(unittest.TestCase):
    def test_registry_and_cfg(self):
        self.assertEqual({k for k, _ in FBO_REGISTRY} >= {"AvgFBO", "MaxFBO", "NonLocalFBO"}, True)
        clip, bank, mask = _inputs()
        for name, cls, dim in (("avg", AvgFBO, DB), ("max", MaxFBO, DB), ("nl", NonLocalFBO, 16)):
            fbo = build_fbo(_cfg(name), clip_dim=DS, bank_dim=DB)
            self.assertIsInstance(fbo, cls)
            self.assertEqual(fbo.eval()(clip, bank, mask).shape, (B, dim))
        nl = build_fbo(_cfg("NonLocalFBO", dim=32, layers=1), clip_dim=DS, bank_dim=DB)
        self.assertEqual((nl.output_dim, len(nl.blocks)), (32, 1))
        with self.assertRaisesRegex(ConfigError, "MODEL.SGFB.FBO.NAME='mean' is not a registered"):
            build_fbo(_cfg("mean"), clip_dim=DS, bank_dim=DB)


if __name__ == "__main__":
    unittest.main()
