import unittest

import torch

from ag_detectron.modeling.relation_heads.inference import group_probabilities, split_relations
from ag_detectron.vocabulary import PAPER, RELEASE


class TestInference(unittest.TestCase):
    def test_group_probabilities(self):
        logits = torch.randn(1, RELEASE.size)
        att, spa, con = group_probabilities(logits, RELEASE)
        self.assertTrue(torch.allclose(att, torch.softmax(logits[:, :3], 1)))
        self.assertTrue(torch.allclose(spa, torch.sigmoid(logits[:, 3:9])))
        self.assertTrue(torch.allclose(con, torch.sigmoid(logits[:, 9:])))
        att_r, spa_r, _ = group_probabilities(logits, RELEASE, torch.tensor([0.0]))
        self.assertTrue(torch.allclose(att_r, att * 0.5))
        self.assertTrue(torch.allclose(spa_r, spa * 0.5))
        _, _, con25 = group_probabilities(torch.randn(2, 25), PAPER)
        self.assertEqual(con25.shape, (2, 16))

    def test_split(self):
        pairs = [torch.tensor([[0, 1], [0, 2]]), torch.zeros(0, 2, dtype=torch.long)]
        probs = [torch.rand(2, 3), torch.rand(2, 6), torch.rand(2, 17)]
        rels = split_relations(pairs, probs, [(10, 10), (20, 20)], RELEASE)
        self.assertEqual([len(r) for r in rels], [2, 0])
        self.assertTrue(torch.equal(rels[0].spatial_scores, probs[1]))
        self.assertEqual(rels[1].contacting_scores.shape, (0, 17))


if __name__ == "__main__":
    unittest.main()
