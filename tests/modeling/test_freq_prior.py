import math
import os
import tempfile
import unittest

import numpy as np
import torch

from ag_detectron.errors import ConfigError
from ag_detectron.modeling.relation_heads.freq_prior import (
    FrequencyBias,
    PredicateCounts,
    compute_predicate_counts,
    frequency_table,
    load_predicate_counts,
    save_predicate_counts,
)

GROUPS, MULTI = (3, 6, 17), (False, True, True)


def tiny_dicts():
    person = {"bbox": [0, 0, 10, 10], "category_id": 0}
    cup = {"bbox": [5, 5, 9, 9], "category_id": 10}
    book = {"bbox": [1, 1, 4, 4], "category_id": 4}
    return [
        {
            "image_id": "a.mp4/000001.png",
            "annotations": [person, cup, book],
            "relations": [
                {"subject": 0, "object": 1, "attention": [0], "spatial": [3, 5], "contacting": [9]},
                {"subject": 0, "object": 2, "attention": [1], "spatial": [3], "contacting": []},
            ],
        },
        {
            "image_id": "a.mp4/000002.png",
            "annotations": [person, cup],
            "relations": [
                {"subject": 0, "object": 1, "attention": [0], "spatial": [3], "contacting": [9, 14]}
            ],
        },
        {
            "image_id": "b.mp4/000001.png",
            "annotations": [book],
            "relations": [
                {"subject": -1, "object": 0, "attention": [2], "spatial": [4], "contacting": [10]}
            ],
        },
    ]


class TestCounts(unittest.TestCase):
    def test_counts(self):
        c = compute_predicate_counts(tiny_dicts(), 36, 26)
        self.assertEqual(c.num_skipped_relations, 1)
        self.assertEqual(c.pair_counts[10], 2)
        self.assertEqual(c.pair_counts[4], 1)
        self.assertEqual(int(c.pair_counts.sum()), 3)
        self.assertEqual(c.predicate_counts[10].tolist()[:10], [2, 0, 0, 2, 0, 1, 0, 0, 0, 2])
        self.assertEqual(c.predicate_counts[10, 14], 1)
        self.assertEqual(c.predicate_counts[4, 1], 1)

    def test_out_of_range(self):
        d = tiny_dicts()
        d[0]["relations"][0]["contacting"] = [26]
        with self.assertRaises(ValueError):
            compute_predicate_counts(d, 36, 26)

    def test_table(self):
        t = frequency_table(compute_predicate_counts(tiny_dicts(), 36, 26), GROUPS, MULTI)
        self.assertEqual(t.shape, (36, 26))
        # cup: p(att0) = 1, p(att1) = 0 -> clipped 1e-3; p(spa3) = 1 -> logit(0.999); p(spa5) = 0.5.
        self.assertAlmostEqual(float(t[10, 0]), 0.0, places=6)
        self.assertAlmostEqual(float(t[10, 1]), math.log(1e-3), places=5)
        self.assertAlmostEqual(float(t[10, 3]), math.log(0.999 / 0.001), places=4)
        self.assertAlmostEqual(float(t[10, 5]), 0.0, places=6)
        self.assertAlmostEqual(float(t[10, 4]), math.log(0.001 / 0.999), places=4)
        self.assertAlmostEqual(float(t[10, 14]), 0.0, places=6)
        # unseen class 2 -> marginal over the 3 counted relations: p(att0) = 2/3, p(con9) = 2/3.
        self.assertAlmostEqual(float(t[2, 0]), math.log(2 / 3), places=5)
        self.assertAlmostEqual(float(t[2, 9]), math.log(2.0), places=5)
        self.assertTrue(torch.equal(t[0], t[2]))

    def test_table_width_mismatch(self):
        counts = PredicateCounts(np.ones(36, dtype=np.int64), np.ones((36, 25), dtype=np.int64))
        with self.assertRaises(ConfigError):
            frequency_table(counts, GROUPS, MULTI)


class TestStatsFile(unittest.TestCase):
    def test_roundtrip_and_errors(self):
        counts = compute_predicate_counts(tiny_dicts(), 36, 26)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "stats.json")
            save_predicate_counts(path, counts, ["o"] * 36, ["p"] * 26, GROUPS, ["tiny"])
            loaded = load_predicate_counts(path, 36, GROUPS)
            self.assertTrue(np.array_equal(loaded.predicate_counts, counts.predicate_counts))
            self.assertEqual(loaded.num_skipped_relations, 1)
            with self.assertRaises(ConfigError):
                load_predicate_counts(path, 35, GROUPS)
            with self.assertRaises(ConfigError):
                load_predicate_counts(path, 36, (3, 6, 16))
            with self.assertRaises(ConfigError):
                load_predicate_counts(os.path.join(d, "missing.json"), 36, GROUPS)
            bad = os.path.join(d, "bad.json")
            with open(bad, "w") as f:
                f.write('{"format": "other"}')
            with self.assertRaises(ConfigError):
                load_predicate_counts(bad, 36, GROUPS)


class TestFrequencyBias(unittest.TestCase):
    def test_hard_soft_trainable(self):
        table = torch.arange(12.0).reshape(3, 4)
        fb = FrequencyBias(table, trainable=True)
        self.assertTrue(torch.equal(fb(torch.tensor([2, 0])), table[[2, 0]]))
        soft = fb.forward_soft(torch.tensor([[0.5, 0.5, 0.0]]))
        self.assertTrue(torch.allclose(soft, (table[0] + table[1]) / 2))
        self.assertEqual(len(list(fb.parameters())), 1)
        fixed = FrequencyBias(table, trainable=False)
        self.assertEqual(len(list(fixed.parameters())), 0)
        self.assertIn("table", fixed.state_dict())


if __name__ == "__main__":
    unittest.main()
