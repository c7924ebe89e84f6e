"""FeatureCache: same maps as the backbone, only missing images computed, budget, and the model
switch."""

import unittest

import torch
from detectron2.modeling import build_model
from detectron2.utils.events import EventStorage
from torch import nn

import ag_detectron.modeling  # noqa: F401  (registration)
from ag_detectron.errors import ConfigError
from ag_detectron.modeling.meta_arch.feature_cache import FeatureCache
from ag_detectron.modeling.testing import default_frame, tiny_scene_graph_cfg


class _Backbone(nn.Module):
    """Two levels, BatchNorm in eval mode; records the batch sizes it was called with."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.norm = nn.BatchNorm2d(4)
        self.norm.running_mean.uniform_(-1, 1)
        self.norm.running_var.uniform_(0.5, 2)
        self.down = nn.Conv2d(4, 4, 3, stride=2, padding=1)
        self.calls = []
        self.eval()

    def forward(self, x):
        self.calls.append(x.shape[0])
        p2 = torch.relu(self.norm(self.conv(x)))
        return {"p2": p2, "p3": self.down(p2)}


def _images(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 16, 24, generator=g)


class TestFeatureCache(unittest.TestCase):
    def test_same_features_and_only_missing_images_computed(self):
        backbone = _Backbone()
        cache = FeatureCache(10 * 2**20, dtype=None)
        images = _images(3)
        with torch.no_grad():
            expected = backbone(images)
        backbone.calls.clear()
        first = cache(images, backbone)
        self.assertEqual(backbone.calls, [3])
        # image 1 and 2 again, one new image: only the new one goes through the backbone
        mixed = torch.cat([images[2:3], _images(1, seed=7), images[1:2]])
        out = cache(mixed, backbone)
        self.assertEqual(backbone.calls, [3, 1])
        with torch.no_grad():
            ref = backbone(mixed)
        for name in ("p2", "p3"):
            torch.testing.assert_close(first[name], expected[name], rtol=0, atol=0)
            torch.testing.assert_close(out[name], ref[name], rtol=1e-6, atol=1e-6)
        self.assertEqual((cache.hits, cache.misses, len(cache)), (2, 4, 4))

    def test_float16_storage_is_close_and_cast_back(self):
        backbone = _Backbone()
        cache = FeatureCache(10 * 2**20)  # float16
        images = _images(2)
        cache(images, backbone)
        again = cache(images, backbone)  # every image from the cache
        with torch.no_grad():
            ref = backbone(images)
        self.assertEqual(again["p2"].dtype, torch.float32)
        torch.testing.assert_close(again["p2"], ref["p2"], rtol=2e-3, atol=2e-3)
        self.assertEqual(cache.nbytes, sum(2 * v[0].numel() * 2 for v in ref.values()))

    def test_flipped_image_is_another_entry(self):
        images = _images(1)
        self.assertNotEqual(FeatureCache.key(images[0]), FeatureCache.key(images[0].flip(-1)))
        self.assertEqual(FeatureCache.key(images[0]), FeatureCache.key(images[0].clone()))
        padded = torch.nn.functional.pad(images[0], (0, 8))
        self.assertNotEqual(FeatureCache.key(images[0]), FeatureCache.key(padded))

    def test_keyed_by_raw_sources_and_padded_size(self):
        backbone = _Backbone()
        cache = FeatureCache(10 * 2**20, dtype=None)
        raw = [torch.randint(0, 255, (3, 16, 24), dtype=torch.uint8) for _ in range(2)]
        images = torch.stack([r.float() / 255 for r in raw])
        cache(images, backbone, sources=raw)
        self.assertEqual(backbone.calls, [2])
        out = cache(images, backbone, sources=[raw[1].clone(), raw[0].clone()])
        self.assertEqual(backbone.calls, [2])  # both hits, looked up by the raw bytes
        with torch.no_grad():
            torch.testing.assert_close(out["p2"], backbone(images.flip(0))["p2"])
        # the same raw image in a batch padded to another size is another entry
        padded = torch.nn.functional.pad(images, (0, 8))
        cache(padded, backbone, sources=raw)
        self.assertEqual(backbone.calls[-1], 2)
        with self.assertRaisesRegex(ValueError, "sources"):
            cache(images, backbone, sources=raw[:1])

    def test_budget_stops_growth_but_not_results(self):
        backbone = _Backbone()
        per_image = (4 * 16 * 24 + 4 * 8 * 12) * 2  # float16 bytes of one image's maps
        cache = FeatureCache(per_image * 2 + 1)
        images = _images(3)
        out = cache(images, backbone)
        self.assertEqual(len(cache), 2)
        self.assertLessEqual(cache.nbytes, cache.max_bytes)
        self.assertEqual(out["p2"].shape[0], 3)
        cache(images, backbone)
        self.assertEqual(backbone.calls[-1], 1)  # the one that did not fit
        with self.assertRaises(ValueError):
            FeatureCache(0)


class TestModelSwitch(unittest.TestCase):
    def test_cached_training_matches_uncached(self):
        inputs = [default_frame(0), default_frame(1)]
        losses = []
        for mb in (0, 64):
            cfg = tiny_scene_graph_cfg("predcls")
            cfg.MODEL.ROI_RELATION_HEAD.FEATURE_CACHE_MB = mb
            cfg.MODEL.ROI_RELATION_HEAD.FEATURE_CACHE_DTYPE = "float32"
            torch.manual_seed(0)
            model = build_model(cfg)
            model.train()
            run = []
            for _ in range(2):  # the second step reads every image from the cache
                torch.manual_seed(1)
                with EventStorage():
                    run.append({k: v.item() for k, v in model(inputs).items()})
            losses.append(run)
            if mb:
                self.assertEqual((model.feature_cache.hits, model.feature_cache.misses), (2, 2))
        for a, b in zip(losses[0], losses[1]):
            for k in a:
                self.assertAlmostEqual(a[k], b[k], places=5, msg=k)

    def test_bad_settings(self):
        cfg = tiny_scene_graph_cfg("predcls")
        cfg.MODEL.ROI_RELATION_HEAD.FEATURE_CACHE_MB = 16
        cfg.MODEL.ROI_RELATION_HEAD.FREEZE_DETECTOR = False
        with self.assertRaisesRegex(ConfigError, "FREEZE_DETECTOR"):
            build_model(cfg)
        cfg = tiny_scene_graph_cfg("predcls")
        cfg.MODEL.ROI_RELATION_HEAD.FEATURE_CACHE_DTYPE = "int8"
        with self.assertRaisesRegex(ConfigError, "FEATURE_CACHE_DTYPE"):
            build_model(cfg)


if __name__ == "__main__":
    unittest.main()
