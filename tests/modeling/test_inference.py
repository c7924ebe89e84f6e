import unittest

import torch

from ag_detectron.modeling.relation_heads.inference import group_probabilities, split_relations


class TestInference(unittest.TestCase):
    def test_group_probabilities(self):
        logits = torch.tensor([[1.0, 2.0, 3.0, 0.0, -1.0, 2.0]])
        att, spa = group_probabilities(logits, (3, 3), (False, True))
        self.assertTrue(torch.allclose(att, torch.softmax(logits[:, :3], 1)))
        self.assertTrue(torch.allclose(spa, torch.sigmoid(logits[:, 3:])))
        att_r, spa_r = group_probabilities(logits, (3, 3), (False, True), torch.tensor([0.0]))
        self.assertTrue(torch.allclose(att_r, att * 0.5))
        self.assertTrue(torch.allclose(spa_r, spa * 0.5))

    def test_split(self):
        pairs = [torch.tensor([[0, 1], [0, 2]]), torch.zeros(0, 2, dtype=torch.long)]
        probs = [torch.rand(2, 3), torch.rand(2, 6), torch.rand(2, 17)]
        rels = split_relations(pairs, probs, [(10, 10), (20, 20)])
        self.assertEqual([len(r) for r in rels], [2, 0])
        self.assertTrue(torch.equal(rels[0].spatial_scores, probs[1]))
        self.assertEqual(rels[1].contacting_scores.shape, (0, 17))


if __name__ == "__main__":
    unittest.main()
