"""VideoCheckpointer: PyTorchVideo and PySlowFast checkpoints round-trip into ClipClassifier with
every tensor equal; checkpoints that do not fit are reported.

The PySlowFast checkpoints are written from PySlowFast's own naming and shape rules (module names of
its ResNet / SlowFast builders, stage widths and temporal kernels of its "slowfast" and "i3d"
architectures), independently of pytorchvideo, so a wrong key mapping fails with missing keys or
shape mismatches.
"""

import logging
import os
import tempfile
import unittest
from typing import Any, Dict

import torch
from detectron2.modeling import build_model
from pytorchvideo.models.resnet import create_resnet
from pytorchvideo.models.slowfast import create_slowfast
from torch import nn

from ag_detectron.checkpoint import VideoCheckpointer
from ag_detectron.checkpoint.video_keys import pyslowfast_to_ours
from ag_detectron.errors import CheckpointError
from ag_detectron.modeling.video.testing import tiny_clip_cfg

_DEPTHS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}


def _bn(sd: Dict[str, torch.Tensor], prefix: str, c: int, g: torch.Generator) -> None:
    sd[prefix + ".weight"] = torch.rand(c, generator=g) + 0.5
    sd[prefix + ".bias"] = torch.randn(c, generator=g)
    sd[prefix + ".running_mean"] = torch.randn(c, generator=g)
    sd[prefix + ".running_var"] = torch.rand(c, generator=g) + 0.5
    sd[prefix + ".num_batches_tracked"] = torch.tensor(7)


def _conv(sd, name, c_out, c_in, kernel, g, bias=False):
    sd[name + ".weight"] = torch.randn(c_out, c_in, *kernel, generator=g)
    if bias:
        sd[name + ".bias"] = torch.randn(c_out, generator=g)


def _res_stage(sd, stage, pathway, depth, dim_in, dim_out, kernels_t, nonlocal_idx, nl_norm, g):
    inner = dim_out // 4
    for i in range(depth):
        p = f"s{stage}.pathway{pathway}_res{i}"
        c_in = dim_in if i == 0 else dim_out
        if i == 0:
            _conv(sd, p + ".branch1", dim_out, c_in, (1, 1, 1), g)
            _bn(sd, p + ".branch1_bn", dim_out, g)
        _conv(sd, p + ".branch2.a", inner, c_in, (kernels_t[i % len(kernels_t)], 1, 1), g)
        _bn(sd, p + ".branch2.a_bn", inner, g)
        _conv(sd, p + ".branch2.b", inner, inner, (1, 3, 3), g)
        _bn(sd, p + ".branch2.b_bn", inner, g)
        _conv(sd, p + ".branch2.c", dim_out, inner, (1, 1, 1), g)
        _bn(sd, p + ".branch2.c_bn", dim_out, g)
        if i in nonlocal_idx:
            q = f"s{stage}.pathway{pathway}_nonlocal{i}"
            for name in ("conv_theta", "conv_phi", "conv_g"):
                _conv(sd, f"{q}.{name}", dim_out // 2, dim_out, (1, 1, 1), g, bias=True)
            _conv(sd, q + ".conv_out", dim_out, dim_out // 2, (1, 1, 1), g, bias=True)
            _bn(sd, f"{q}.{nl_norm}", dim_out, g)


def pyslowfast_slowfast_state(depth=50, w=64, beta_inv=8, ratio=2, fk=7, classes=400, seed=0):
    """PySlowFast ``SlowFast`` model_state: slow temporal kernels (1,1,1,3,3), fast (5,3,3,3,3)."""
    g = torch.Generator().manual_seed(seed)
    sd: Dict[str, torch.Tensor] = {}
    wf = w // beta_inv
    _conv(sd, "s1.pathway0_stem.conv", w, 3, (1, 7, 7), g)
    _bn(sd, "s1.pathway0_stem.bn", w, g)
    _conv(sd, "s1.pathway1_stem.conv", wf, 3, (5, 7, 7), g)
    _bn(sd, "s1.pathway1_stem.bn", wf, g)
    _conv(sd, "s1_fuse.conv_f2s", wf * ratio, wf, (fk, 1, 1), g)
    _bn(sd, "s1_fuse.bn", wf * ratio, g)
    slow_in, fast_in = w + wf * ratio, wf
    for k, d in zip((2, 3, 4, 5), _DEPTHS[depth]):
        slow_out = w * 4 * 2 ** (k - 2)
        fast_out = slow_out // beta_inv
        _res_stage(sd, k, 0, d, slow_in, slow_out, [1 if k < 4 else 3], (), "bn", g)
        _res_stage(sd, k, 1, d, fast_in, fast_out, [3], (), "bn", g)
        if k < 5:
            _conv(sd, f"s{k}_fuse.conv_f2s", fast_out * ratio, fast_out, (fk, 1, 1), g)
            _bn(sd, f"s{k}_fuse.bn", fast_out * ratio, g)
        slow_in, fast_in = slow_out + fast_out * ratio, fast_out
    _conv(sd, "head.projection", classes, slow_in - fast_in * ratio + fast_in, (), g, bias=True)
    return sd


def pyslowfast_i3d_state(
    depth=50, w=64, nonlocal_location=((), (), (), ()), nl_norm="bn", classes=400, seed=0
):
    """PySlowFast ``ResNet`` with the "i3d" arch: conv1 5x7x7; res2 3; res3/res4 3,1,3,...;
    res5 1,3,1."""
    g = torch.Generator().manual_seed(seed)
    sd: Dict[str, torch.Tensor] = {}
    _conv(sd, "s1.pathway0_stem.conv", w, 3, (5, 7, 7), g)
    _bn(sd, "s1.pathway0_stem.bn", w, g)
    dim_in = w
    kernels = {2: [3], 3: [3, 1], 4: [3, 1], 5: [1, 3]}
    for k, d, nl in zip((2, 3, 4, 5), _DEPTHS[depth], nonlocal_location):
        dim_out = w * 4 * 2 ** (k - 2)
        _res_stage(sd, k, 0, d, dim_in, dim_out, kernels[k], tuple(nl), nl_norm, g)
        dim_in = dim_out
    _conv(sd, "head.projection", classes, dim_in, (), g, bias=True)
    return sd


class _Tmp(unittest.TestCase):
    def setUp(self):
        self._dir = tempfile.TemporaryDirectory()
        self.addCleanup(self._dir.cleanup)

    def save(self, obj, name: str) -> str:
        path = os.path.join(self._dir.name, name)
        torch.save(obj, path)
        return path


def _model(backbone="SlowFast", width=16, depth=50, classes=400, nonlocal_location=None):
    cfg = tiny_clip_cfg(backbone=backbone, num_classes=classes)
    cfg.MODEL.VIDEO.STEM_WIDTH = width
    cfg.MODEL.VIDEO.DEPTH = depth
    if nonlocal_location is not None:
        cfg.MODEL.VIDEO.NONLOCAL.LOCATION = [list(x) for x in nonlocal_location]
    return build_model(cfg)


class TestPyTorchVideo(_Tmp):
    def _check_equal(self, model, ours_from_source: Dict[str, str], source: Dict[str, Any]):
        own = model.state_dict()
        for src, dst in ours_from_source.items():
            self.assertTrue(torch.equal(own[dst], source[src]), (src, dst))

    def test_slowfast_hub_file_round_trip(self):
        torch.manual_seed(1)
        net = create_slowfast(stem_dim_outs=(16, 2), model_num_class=7)
        for m in net.modules():  # non-default statistics so equality means something
            if isinstance(m, nn.BatchNorm3d):
                m.running_mean.normal_()
                m.num_batches_tracked.fill_(3)
        source = net.state_dict()
        model = _model(classes=7)
        for wrapped, name in (
            ({"model_state": source, "epoch": 5}, "SLOWFAST_8x8_R50.pyth"),
            ({"model." + k: v for k, v in source.items()}, "lightning.pt"),
        ):
            path = self.save(wrapped, name)
            VideoCheckpointer(model).load(path)
            mapping = {
                k: ("cls_score." + k.split("proj.")[1])
                if k.startswith("blocks.6.")
                else "backbone." + k
                for k in source
            }
            self.assertEqual(set(mapping.values()), set(model.state_dict()))
            self._check_equal(model, mapping, source)

    def test_i3d_hub_file_and_kinetics_head_skipped(self):
        torch.manual_seed(2)
        net = create_resnet(
            stem_dim_out=16,
            stem_conv_kernel_size=(5, 7, 7),
            stage1_pool=nn.MaxPool3d,
            stage_conv_a_kernel_size=(
                (3, 1, 1),
                [(3, 1, 1), (1, 1, 1)],
                [(3, 1, 1), (1, 1, 1)],
                [(1, 1, 1), (3, 1, 1)],
            ),
            model_num_class=400,
        )
        source = net.state_dict()
        model = _model("I3D", classes=5, nonlocal_location=((), (), (), ()))
        head_before = model.cls_score.weight.clone()
        path = self.save({"model_state": source}, "I3D_8x8_R50.pyth")
        with self.assertLogs("ag_detectron.checkpoint", level=logging.WARNING) as logs:
            VideoCheckpointer(model).load(path)
        self.assertTrue(any("400 classes" in m and "5" in m for m in logs.output))
        self.assertTrue(torch.equal(model.cls_score.weight, head_before))
        mapping = {k: "backbone." + k for k in source if not k.startswith("blocks.6.")}
        self._check_equal(model, mapping, source)


class TestPySlowFast(_Tmp):
    def _round_trip(self, model, source):
        path = self.save(
            {"model_state": source, "epoch": 57, "optimizer_state": {}, "cfg": "x"},
            "checkpoint_epoch_00057.pyth",
        )
        VideoCheckpointer(model).load(path)
        own = model.state_dict()
        converted = {pyslowfast_to_ours(k, model.backbone): k for k in source}
        self.assertNotIn(None, converted)
        self.assertEqual(set(converted), set(own))  # every model tensor comes from the file
        for dst, src in converted.items():
            self.assertTrue(torch.equal(own[dst], source[src]), (src, dst))

    def test_slowfast_r50_published_width(self):
        source = pyslowfast_slowfast_state(depth=50, w=64, classes=157)
        model = _model(width=64, classes=157)
        self._round_trip(model, source)
        self.assertEqual(
            pyslowfast_to_ours("s5.pathway1_res2.branch2.c.weight", model.backbone),
            "backbone.blocks.4.multipathway_blocks.1.res_blocks.2.branch2.conv_c.weight",
        )
        self.assertEqual(
            pyslowfast_to_ours("s2_fuse.conv_f2s.weight", model.backbone),
            "backbone.blocks.1.multipathway_fusion.conv_fast_to_slow.weight",
        )

    def test_i3d_nonlocal_both_norm_names(self):
        location = ((), (1, 3), (1, 3, 5), ())
        for norm_name in ("bn", "norm"):
            source = pyslowfast_i3d_state(
                w=16, nonlocal_location=location, nl_norm=norm_name, classes=5
            )
            model = _model("I3D", classes=5, nonlocal_location=location)
            self._round_trip(model, source)
        self.assertEqual(
            pyslowfast_to_ours("s4.pathway0_nonlocal3.conv_theta.bias", model.backbone),
            "backbone.blocks.4.nonlocal_blocks.3.conv_theta.bias",
        )


class TestNonLocalFromPlainI3D(_Tmp):
    def test_missing_nonlocal_blocks_keep_identity(self):
        location = ((), (1,), (1,), ())
        source = pyslowfast_i3d_state(w=16, classes=5)
        model = _model("I3D", classes=5, nonlocal_location=location)
        path = self.save({"model_state": source}, "I3D_8x8_R50.pyth")
        with self.assertLogs("ag_detectron.checkpoint", level=logging.WARNING) as logs:
            VideoCheckpointer(model).load(path)
        self.assertTrue(any("non-local" in m and "identity" in m for m in logs.output))
        self.assertTrue(
            torch.equal(model.backbone.blocks[3].nonlocal_blocks["1"].norm.weight, torch.zeros(128))
        )  # res3: 16 x 8 channels
        for src, value in source.items():
            dst = pyslowfast_to_ours(src, model.backbone)
            self.assertTrue(torch.equal(model.state_dict()[dst], value), src)


class TestMismatchReports(_Tmp):
    def test_other_architecture_raises_listing_keys(self):
        path = self.save({"model_state": pyslowfast_i3d_state(w=16, classes=5)}, "i3d.pyth")
        model = _model(classes=5)  # SlowFast
        with self.assertRaises(CheckpointError) as cm:
            VideoCheckpointer(model).load(path)
        msg = str(cm.exception)
        self.assertIn("i3d.pyth", msg)
        self.assertIn("pyslowfast", msg)
        self.assertIn("missing in the checkpoint: backbone.blocks.0.multipathway_blocks.1", msg)
        self.assertIn("shape mismatch", msg)

    def test_missing_and_unexpected_keys(self):
        source = pyslowfast_slowfast_state(w=16, classes=5)
        del source["s3.pathway0_res1.branch2.b.weight"]
        source["s9.pathway0_res0.branch2.a.weight"] = torch.zeros(1)
        path = self.save({"model_state": source}, "broken.pyth")
        with self.assertRaises(CheckpointError) as cm:
            VideoCheckpointer(_model(classes=5)).load(path)
        msg = str(cm.exception)
        key = "backbone.blocks.2.multipathway_blocks.0.res_blocks.1.branch2.conv_b.weight"
        self.assertIn(key, msg)
        self.assertIn("not in the model: s9.pathway0_res0.branch2.a.weight", msg)
        self.assertNotIn("blocks.8", msg)

    def test_width_mismatch_of_own_checkpoint_and_non_strict_load(self):
        small = _model(width=8, classes=5)
        path = self.save({"model": small.state_dict()}, "model_final.pth")
        with self.assertRaisesRegex(CheckpointError, "detectron2 format.*shape mismatch"):
            VideoCheckpointer(_model(width=16, classes=5)).load(path)
        cfg = tiny_clip_cfg(num_classes=5)
        cfg.MODEL.VIDEO.WEIGHTS_STRICT = False
        loose = build_model(cfg)
        with self.assertLogs("ag_detectron.checkpoint", level=logging.WARNING) as logs:
            VideoCheckpointer(loose).load(path)
        self.assertTrue(any("loading the tensors that fit" in m for m in logs.output))
        # only the tensors whose shapes agree (the BatchNorm counters here) are loaded
        self.assertTrue(
            torch.equal(loose.backbone.blocks[0].multipathway_blocks[0].norm.weight, torch.ones(16))
        )
        small_norm = small.backbone.blocks[0].multipathway_blocks[0].norm
        small_norm_loaded = loose.backbone.blocks[0].multipathway_blocks[0].norm
        self.assertTrue(
            torch.equal(small_norm_loaded.num_batches_tracked, small_norm.num_batches_tracked)
        )

    def test_unknown_format(self):
        path = self.save({"model_state": {"encoder.weight": torch.zeros(2)}}, "x.pyth")
        with self.assertRaisesRegex(CheckpointError, "x.pyth.*known format.*encoder.weight"):
            VideoCheckpointer(_model(classes=5)).load(path)

    def test_other_models_load_as_with_detectron2(self):
        class Det(nn.Module):  # a backbone without the video checkpoint layout
            def __init__(self):
                super().__init__()
                self.backbone = nn.Linear(2, 2)

        src, dst = Det(), Det()
        path = self.save({"model": src.state_dict()}, "det.pth")
        VideoCheckpointer(dst).load(path)
        self.assertTrue(torch.equal(dst.backbone.weight, src.backbone.weight))

    def test_own_checkpoint_resume_fields_kept(self):
        model = _model(classes=5)
        ckpt_dir = self._dir.name
        VideoCheckpointer(model, save_dir=ckpt_dir).save("model_0000009", iteration=9)
        other = _model(classes=5)
        extra = VideoCheckpointer(other).load(
            os.path.join(ckpt_dir, "model_0000009.pth"), checkpointables=[]
        )
        self.assertEqual(extra["iteration"], 9)
        for k, v in model.state_dict().items():
            self.assertTrue(torch.equal(other.state_dict()[k], v), k)


if __name__ == "__main__":
    unittest.main()
