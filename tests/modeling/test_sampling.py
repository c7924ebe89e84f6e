import unittest

import torch
from detectron2.structures import Boxes

from ag_detectron.modeling.relation_heads.sampling import (
    cat_pair_targets,
    jitter_boxes,
    match_entities_to_gt,
    pair_targets,
    person_object_pairs,
    select_sgdet_entities,
    subsample_pairs,
    unmatched_gt,
)


class TestPairs(unittest.TestCase):
    def test_person_times_objects(self):
        is_subject = torch.tensor([False, True, False, False])
        pairs = person_object_pairs(is_subject, ~is_subject)
        self.assertEqual(pairs.tolist(), [[1, 0], [1, 2], [1, 3]])

    def test_two_subjects_subject_major(self):
        is_subject = torch.tensor([True, False, True])
        pairs = person_object_pairs(is_subject, ~is_subject)
        self.assertEqual(pairs.tolist(), [[0, 1], [2, 1]])

    def test_no_person_or_no_object(self):
        self.assertEqual(
            person_object_pairs(
                torch.zeros(3, dtype=torch.bool), torch.ones(3, dtype=torch.bool)
            ).shape,
            (0, 2),
        )
        self.assertEqual(
            person_object_pairs(torch.tensor([True]), torch.tensor([False])).shape, (0, 2)
        )
        self.assertEqual(
            person_object_pairs(
                torch.zeros(0, dtype=torch.bool), torch.zeros(0, dtype=torch.bool)
            ).shape,
            (0, 2),
        )

    def test_select_sgdet_entities(self):
        classes = torch.tensor([3, 0, 0, 5, 0])
        scores = torch.tensor([0.9, 0.5, 0.8, 0.4, 0.7])
        self.assertEqual(select_sgdet_entities(classes, scores, 0, 1).tolist(), [2, 0, 3])
        self.assertEqual(select_sgdet_entities(classes, scores, 0, 2).tolist(), [2, 4, 0, 3])
        self.assertEqual(
            select_sgdet_entities(torch.tensor([3, 4]), torch.tensor([0.1, 0.2]), 0, 1).tolist(),
            [0, 1],
        )


class TestMatching(unittest.TestCase):
    def test_roles_and_threshold(self):
        gt_boxes = Boxes(torch.tensor([[0.0, 0, 10, 10], [20, 20, 30, 30], [21, 21, 31, 31]]))
        gt_classes = torch.tensor([0, 5, 7])
        det = Boxes(
            torch.tensor(
                [
                    [0.0, 0, 10, 9],  # person, IoU 0.9 with the GT person
                    [0.0, 0, 10, 10],  # object on the person box: must not match the person
                    [21.0, 21, 31, 31],  # object: best is GT 2 (IoU 1)
                    [25.0, 25, 35, 35],  # object: IoU < 0.5 with both
                ]
            )
        )
        is_person = torch.tensor([True, False, False, False])
        gidx = match_entities_to_gt(det, is_person, gt_boxes, gt_classes, 0, 0.5)
        self.assertEqual(gidx.tolist(), [0, -1, 2, -1])

    def test_empty(self):
        gidx = match_entities_to_gt(
            Boxes(torch.zeros(2, 4)),
            torch.tensor([True, False]),
            Boxes(torch.zeros(0, 4)),
            torch.zeros(0, dtype=torch.long),
            0,
            0.5,
        )
        self.assertEqual(gidx.tolist(), [-1, -1])

    def test_unmatched_gt(self):
        self.assertEqual(unmatched_gt(torch.tensor([2, -1, 2]), 4).tolist(), [0, 1, 3])


class TestTargets(unittest.TestCase):
    def setUp(self):
        # GT: 0 = person, 1 and 2 objects; relations (0,1) and (0,2).
        self.gt_pair_idx = torch.tensor([[0, 1], [0, 2]])
        self.att = torch.tensor([[1.0, 0, 0], [0, 1, 0]])
        self.spa = torch.tensor([[1.0, 0, 1, 0, 0, 0], [0, 0, 0, 1, 0, 0]])
        self.con = torch.zeros(2, 17)
        self.con[0, 5] = 1
        self.con[1, [8, 12]] = 1

    def test_reindexed_entities(self):
        # Entities: [obj GT2, person GT0, unmatched, obj GT1]
        gt_index = torch.tensor([2, 0, -1, 1])
        pairs = torch.tensor([[1, 0], [1, 2], [1, 3]])
        t = pair_targets(pairs, gt_index, 3, self.gt_pair_idx, self.att, self.spa, self.con)
        self.assertEqual(t.is_positive.tolist(), [True, False, True])
        self.assertEqual(t.attention.tolist(), [[0, 1, 0], [0, 0, 0], [1, 0, 0]])
        self.assertTrue(torch.equal(t.spatial[2], self.spa[0]))
        self.assertTrue(torch.equal(t.contacting[0], self.con[1]))
        self.assertEqual(float(t.contacting[1].sum()), 0.0)

    def test_unmatched_person_gives_negatives(self):
        gt_index = torch.tensor([-1, 1, 2])
        pairs = torch.tensor([[0, 1], [0, 2]])
        t = pair_targets(pairs, gt_index, 3, self.gt_pair_idx, self.att, self.spa, self.con)
        self.assertEqual(t.is_positive.tolist(), [False, False])

    def test_no_relations(self):
        t = pair_targets(
            torch.tensor([[0, 1]]),
            torch.tensor([0, 1]),
            2,
            torch.zeros(0, 2, dtype=torch.long),
            torch.zeros(0, 3),
            torch.zeros(0, 6),
            torch.zeros(0, 17),
        )
        self.assertEqual(t.is_positive.tolist(), [False])
        self.assertEqual(t.contacting.shape, (1, 17))

    def test_cat_and_index(self):
        t = pair_targets(
            torch.tensor([[0, 1], [0, 2]]),
            torch.arange(3),
            3,
            self.gt_pair_idx,
            self.att,
            self.spa,
            self.con,
        )
        both = cat_pair_targets([t, t])
        self.assertEqual(both.attention.shape, (4, 3))
        self.assertEqual(both.index(torch.tensor([3])).attention.tolist(), [[0, 1, 0]])


class TestSubsample(unittest.TestCase):
    def test_keeps_all_when_small(self):
        self.assertEqual(subsample_pairs(torch.tensor([True, False]), 4, 0.5).tolist(), [0, 1])

    def test_positive_first(self):
        torch.manual_seed(0)
        is_pos = torch.tensor([False] * 10 + [True] * 2)
        keep = subsample_pairs(is_pos, 4, 0.5)
        self.assertEqual(len(keep), 4)
        self.assertTrue({10, 11} <= set(keep.tolist()))
        self.assertEqual(keep.tolist(), sorted(keep.tolist()))


class TestBoxJitter(unittest.TestCase):
    def test_zero_scale_is_a_copy(self):
        b = torch.tensor([[10.0, 10, 50, 90]])
        out = jitter_boxes(b, 0.0, (180, 320))
        self.assertTrue(torch.equal(out, b))
        self.assertIsNot(out, b)

    def test_statistics_clipping_and_validity(self):
        g = torch.Generator().manual_seed(0)
        b = torch.tensor([[100.0, 40, 140, 120]]).repeat(4000, 1)  # 40 x 80 box
        out = jitter_boxes(b, 0.1, (180, 320), generator=g)
        d = out - b
        # edge offsets ~ N(0, 0.1 * size): 4 px on x edges, 8 px on y edges
        self.assertAlmostEqual(float(d[:, 0].std()), 4.0, delta=0.3)
        self.assertAlmostEqual(float(d[:, 1].std()), 8.0, delta=0.6)
        self.assertAlmostEqual(float(d.mean()), 0.0, delta=0.3)
        edge = torch.tensor([[0.0, 0, 3, 3], [310, 170, 320, 180]]).repeat(500, 1)
        out = jitter_boxes(edge, 0.5, (180, 320), generator=g)
        self.assertTrue(
            ((out[:, 0] >= 0) & (out[:, 2] <= 320) & (out[:, 1] >= 0) & (out[:, 3] <= 180)).all()
        )
        self.assertTrue(
            ((out[:, 2] - out[:, 0] >= 1 - 1e-4) & (out[:, 3] - out[:, 1] >= 1 - 1e-4)).all()
        )
        self.assertEqual(jitter_boxes(torch.zeros(0, 4), 0.1, (10, 10)).shape, (0, 4))


if __name__ == "__main__":
    unittest.main()
