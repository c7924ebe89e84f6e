import unittest

import torch
from detectron2.structures import Instances

from ag_detectron.structures.relations import filter_relations, relations_to_instances, remap_pairs

GROUPS = {"attention": (0, 3), "spatial": (3, 9), "contacting": (9, 26)}


class TestRemapPairs(unittest.TestCase):
    def test_hand_computed(self):
        pairs = torch.tensor([[0, 1], [0, 2], [0, 3], [3, 4]])
        keep = torch.tensor([True, False, True, True, True])
        new, pair_keep = remap_pairs(pairs, keep)
        self.assertEqual(pair_keep.tolist(), [False, True, True, True])
        # kept boxes 0, 2, 3, 4 -> 0, 1, 2, 3
        self.assertEqual(new.tolist(), [[0, 1], [0, 2], [2, 3]])

    def test_all_kept_is_identity_and_person_dropped_drops_all(self):
        pairs = torch.tensor([[0, 1], [0, 2]])
        new, k = remap_pairs(pairs, torch.ones(3, dtype=torch.bool))
        self.assertTrue(torch.equal(new, pairs) and bool(k.all()))
        new, k = remap_pairs(pairs, torch.tensor([False, True, True]))
        self.assertEqual((new.shape, k.tolist()), ((0, 2), [False, False]))

    def test_empty_and_out_of_range(self):
        new, k = remap_pairs(torch.zeros((0, 2), dtype=torch.long), torch.ones(2, dtype=torch.bool))
        self.assertEqual((tuple(new.shape), tuple(k.shape)), ((0, 2), (0,)))
        with self.assertRaises(IndexError):
            remap_pairs(torch.tensor([[0, 5]]), torch.ones(3, dtype=torch.bool))

    def test_random_against_reference(self):
        g = torch.Generator().manual_seed(0)
        for _ in range(50):
            n = int(torch.randint(1, 8, (1,), generator=g))
            keep = torch.rand(n, generator=g) > 0.3
            pairs = torch.randint(0, n, (6, 2), generator=g)
            new, k = remap_pairs(pairs, keep)
            kept_ids = torch.nonzero(keep).flatten().tolist()
            ref = [
                [kept_ids.index(a), kept_ids.index(b)]
                for a, b in pairs.tolist()
                if a in kept_ids and b in kept_ids
            ]
            self.assertEqual(new.tolist(), ref)


class TestRelationsToInstances(unittest.TestCase):
    def test_one_and_multi_hot(self):
        rels = [
            {"subject": 0, "object": 1, "attention": [1], "spatial": [4, 6], "contacting": [19]},
            {"subject": -1, "object": 0, "attention": [0], "spatial": [], "contacting": []},
            {"subject": 0, "object": 2, "attention": [0], "spatial": [], "contacting": [9, 25]},
        ]
        r = relations_to_instances(rels, (270, 480), GROUPS)
        self.assertEqual(len(r), 2)  # subject -1 skipped
        self.assertEqual(r.gt_pair_idx.tolist(), [[0, 1], [0, 2]])
        self.assertEqual(r.gt_attention.tolist(), [[0, 1, 0], [1, 0, 0]])
        self.assertEqual(r.gt_spatial[0].tolist(), [0, 1, 0, 1, 0, 0])
        self.assertEqual(tuple(r.gt_contacting.shape), (2, 17))
        self.assertEqual(torch.nonzero(r.gt_contacting[1]).flatten().tolist(), [0, 16])
        with self.assertRaises(ValueError):
            relations_to_instances([dict(rels[0], attention=[5])], (2, 2), GROUPS)

    def test_filter_relations(self):
        rels = [
            {"subject": 0, "object": 1, "attention": [1], "spatial": [4], "contacting": [19]},
            {"subject": 0, "object": 2, "attention": [2], "spatial": [3], "contacting": [9]},
        ]
        r = relations_to_instances(rels, (10, 10), GROUPS)
        out = filter_relations(r, torch.tensor([True, False, True]))
        self.assertIsInstance(out, Instances)
        self.assertEqual(out.gt_pair_idx.tolist(), [[0, 1]])
        self.assertEqual(out.gt_attention.tolist(), [[0, 0, 1]])  # labels follow their pair


if __name__ == "__main__":
    unittest.main()
