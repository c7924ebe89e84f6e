"""Video backbones: output shapes of every registered backbone, the non-local block at init."""

import unittest

import torch

from ag_detectron.modeling.video import (
    I3D,
    VIDEO_BACKBONE_REGISTRY,
    NonLocalBlock,
    SlowFast,
    build_video_backbone,
)
from ag_detectron.modeling.video.testing import tiny_clip_cfg


class TestBackboneShapes(unittest.TestCase):
    def test_every_registered_backbone_slim(self):
        torch.manual_seed(0)
        for name, _ in VIDEO_BACKBONE_REGISTRY:
            cfg = tiny_clip_cfg(backbone=name)
            model = build_video_backbone(cfg).eval()
            for size in (32, 48):  # the pooled feature does not depend on the crop size
                with torch.no_grad():
                    y = model(torch.randn(2, 3, 8, size, size))
                self.assertEqual(tuple(y.shape), (2, model.output_dim), (name, size))
            fast = 16 * 32 // 8 if name == "SlowFast" else 0
            self.assertEqual(model.output_dim, 16 * 32 + fast)

    def test_published_widths(self):
        sf = SlowFast(depth=50).eval()
        self.assertEqual(sf.output_dim, 2304)
        i3d = I3D(depth=50, nonlocal_location=[[], [1, 3], [1, 3, 5], []]).eval()
        self.assertEqual(i3d.output_dim, 2048)
        x = torch.randn(1, 3, 8, 32, 32)
        with torch.no_grad():
            self.assertEqual(tuple(sf(x).shape), (1, 2304))
            self.assertEqual(tuple(i3d(x).shape), (1, 2048))

    def test_r101_stage_depth(self):
        sf = SlowFast(depth=101, stem_width=8)
        self.assertEqual(len(sf.blocks[3].multipathway_blocks[0].res_blocks), 23)
        i3d = I3D(depth=101, stem_width=8, nonlocal_location=[[], [1, 3], [6, 13, 20], []])
        self.assertEqual(len(i3d.blocks[4].res_blocks), 23)
        self.assertEqual(sorted(i3d.blocks[4].nonlocal_blocks.keys()), ["13", "20", "6"])

    def test_slow_pathway_every_alpha_th_frame(self):
        sf = SlowFast(stem_width=8, alpha=4)
        x = torch.arange(10.0).view(1, 1, 10, 1, 1).expand(1, 3, 10, 2, 2)
        slow, fast = sf.pathways(x)
        self.assertEqual(slow[0, 0, :, 0, 0].tolist(), [0.0, 4.0, 8.0])
        self.assertTrue(torch.equal(fast, x))

    def test_bad_nonlocal_index(self):
        with self.assertRaises(ValueError):
            I3D(stem_width=8, nonlocal_location=[[], [4], [], []])  # res3 of R50 has 4 blocks


class TestNonLocal(unittest.TestCase):
    def test_identity_at_init(self):
        torch.manual_seed(0)
        for inst in ("softmax", "dot_product"):
            block = NonLocalBlock(16, pool_size=(1, 2, 2), instantiation=inst).train()
            x = torch.randn(2, 16, 4, 6, 6)
            self.assertTrue(torch.equal(block(x), x), inst)

    def test_not_identity_after_scale_set(self):
        torch.manual_seed(0)
        block = NonLocalBlock(8, pool_size=(1, 1, 1)).eval()
        torch.nn.init.ones_(block.norm.weight)
        x = torch.randn(1, 8, 2, 3, 3)
        y = block(x)
        self.assertEqual(y.shape, x.shape)
        self.assertGreater((y - x).abs().max().item(), 0.0)

    def test_attention_hand_checked(self):
        # Two positions, theta = phi = g = identity-like 1-channel maps: the softmax weights and
        # the output follow by hand.
        block = NonLocalBlock(2, dim_inner=1, pool_size=(1, 1, 1)).eval()
        with torch.no_grad():
            for conv in (block.conv_theta, block.conv_phi, block.conv_g):
                conv.weight.copy_(torch.tensor([1.0, 0.0]).view(1, 2, 1, 1, 1))
                conv.bias.zero_()
            block.conv_out.weight.copy_(torch.tensor([1.0, 0.0]).view(2, 1, 1, 1, 1))
            block.conv_out.bias.zero_()
            block.norm.weight.fill_(1.0)
        x = torch.tensor([1.0, 2.0, 0.0, 0.0]).view(1, 2, 1, 1, 2)  # channel 0 = (1, 2)
        # position q attends with softmax(v_q * v_p) over p in {1, 2}; output += sum w_p v_p.
        v = torch.tensor([1.0, 2.0])
        w = torch.softmax(v[:, None] * v[None, :], dim=1)
        expected0 = v + w @ v
        y = block(x)
        self.assertTrue(torch.allclose(y[0, 0, 0, 0], expected0, atol=1e-5))
        self.assertTrue(torch.allclose(y[0, 1], x[0, 1]))


if __name__ == "__main__":
    unittest.main()
