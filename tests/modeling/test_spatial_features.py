import math
import unittest

import torch

from ag_detectron.modeling.relation_heads.spatial_features import (
    SPATIAL_FEATURE_DIM,
    box_delta,
    spatial_features,
    union_boxes,
)


class TestSpatialFeatures(unittest.TestCase):
    def test_union(self):
        u = union_boxes(torch.tensor([[0.0, 5, 10, 20]]), torch.tensor([[3.0, 0, 30, 15]]))
        self.assertEqual(u.tolist(), [[0.0, 0.0, 30.0, 20.0]])

    def test_delta(self):
        d = box_delta(torch.tensor([[0.0, 0, 10, 20]]), torch.tensor([[10.0, 10, 30, 30]]))
        expected = [1.5, 0.5, math.log(2.0), 0.0]
        for a, b in zip(d[0].tolist(), expected):
            self.assertAlmostEqual(a, b, places=6)

    def test_hand_computed_28d(self):
        s = torch.tensor([[0.0, 0, 10, 20]])
        o = torch.tensor([[10.0, 10, 30, 30]])
        f = spatial_features(s, o, (40, 50))
        self.assertEqual(f.shape, (1, SPATIAL_FEATURE_DIM))
        expected = (
            [1.5, 0.5, math.log(2), 0.0, -0.75, -0.5]  # s -> o
            + [1.0, 0.25, math.log(3), math.log(1.5), -1 / 3, -1 / 6]  # s -> u
            + [1 / 6, 1 / 6, math.log(2 / 3), math.log(2 / 3), -0.25, -0.25]  # u -> o
            + [0.0, 0.0, 0.2, 0.5, 0.1]  # s / (W, H)
            + [0.2, 0.25, 0.6, 0.75, 0.2]  # o / (W, H)
        )
        for i, (a, b) in enumerate(zip(f[0].tolist(), expected)):
            self.assertAlmostEqual(a, b, places=5, msg=f"component {i}")

    def test_degenerate_boxes_finite_and_batched(self):
        s = torch.tensor([[5.0, 5, 5, 5], [0, 0, 10, 10]])
        o = torch.tensor([[5.0, 5, 5, 5], [20, 20, 40, 50]])
        f = spatial_features(s, o, (64, 96))
        self.assertTrue(torch.isfinite(f).all())
        # Row 1 only depends on its own boxes.
        self.assertTrue(torch.allclose(f[1], spatial_features(s[1:], o[1:], (64, 96))[0]))

    def test_per_pair_image_sizes(self):
        s = torch.tensor([[0.0, 0, 10, 10], [4, 4, 30, 60], [1, 2, 3, 4]])
        o = torch.tensor([[20.0, 20, 40, 50], [0, 10, 8, 12], [5, 5, 9, 9]])
        sizes = torch.tensor([[64, 96], [64, 96], [120, 200]])
        f = spatial_features(s, o, sizes)
        torch.testing.assert_close(f[:2], spatial_features(s[:2], o[:2], (64, 96)))
        torch.testing.assert_close(f[2:], spatial_features(s[2:], o[2:], (120, 200)))

    def test_empty(self):
        f = spatial_features(torch.zeros(0, 4), torch.zeros(0, 4), (10, 10))
        self.assertEqual(f.shape, (0, SPATIAL_FEATURE_DIM))


if __name__ == "__main__":
    unittest.main()
