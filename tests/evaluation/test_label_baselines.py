"""Label-only baselines (moved from the synthetic generator into evaluation): the frequency table
by hand, and the label ceiling's recall."""

import unittest

import numpy as np

from ag_detectron.evaluation.label_baselines import frequency_prior_table, label_only_baselines


def _frame(obj_class, attention, spatial, contacting):
    return {
        "annotations": [
            {"bbox": [0.0, 0.0, 50.0, 80.0], "category_id": 0},
            {"bbox": [60.0, 10.0, 90.0, 40.0], "category_id": obj_class},
        ],
        "relations": [
            {
                "subject": 0,
                "object": 1,
                "attention": attention,
                "spatial": spatial,
                "contacting": contacting,
            }
        ],
    }


class TestLabelBaselines(unittest.TestCase):
    def test_frequency_table_by_hand(self):
        # class 7: attention looking_at twice, unsure once; spatial "in" (8) once; holding (14) 3x
        dicts = [
            _frame(7, [0], [8], [14]),
            _frame(7, [0], [], [14]),
            _frame(7, [2], [], [14, 19]),
        ]
        table = frequency_prior_table(dicts)
        self.assertEqual(table.shape, (36, 26))
        np.testing.assert_allclose(table[7, :3], [2 / 3, 0.0, 1 / 3])
        self.assertAlmostEqual(table[7, 8], 1 / 3)
        self.assertAlmostEqual(table[7, 14], 1.0)
        self.assertAlmostEqual(table[7, 19], 1 / 3)
        self.assertAlmostEqual(table[7, 3], 0.0)
        # unseen classes: uniform attention, 0.5 elsewhere
        np.testing.assert_allclose(table[5, :3], [1 / 3] * 3)
        self.assertEqual(table[5, 10], 0.5)

    def test_label_ceiling_recovers_every_label_without_constraint(self):
        dicts = [_frame(7, [0], [8, 5], [14, 19]), _frame(3, [1], [4], [9])]
        res = label_only_baselines(dicts, dicts, topk=(20,))
        self.assertEqual(res["label_ceiling"]["R@20_no"], 1.0)
        # "with": one label per group and row; frame 1 has 5 GT, 3 recoverable
        self.assertAlmostEqual(res["label_ceiling"]["R@20_with"], (3 / 5 + 1.0) / 2)
        self.assertEqual(res["frequency_prior"]["num_frames"], 2.0)


if __name__ == "__main__":
    unittest.main()
