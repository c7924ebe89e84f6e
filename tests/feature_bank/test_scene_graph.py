"""The confidence matrix on hand-made predictions."""

import unittest

import numpy as np
import torch

from ag_detectron.feature_bank import FeatureBankError
from ag_detectron.feature_bank.scene_graph import (
    confidence_matrix,
    predicate_probabilities,
    scene_graph_provenance,
)


def _probs(rows):
    return torch.tensor(rows, dtype=torch.float32)


class TestConfidenceMatrix(unittest.TestCase):
    def test_object_major_index(self):
        probs = torch.zeros(1, 26)
        probs[0, 7] = 0.5
        c = confidence_matrix([5], [0.8], probs)  # AG category 5 -> row 4
        self.assertEqual(c.shape, (910,))
        self.assertEqual(int(torch.nonzero(c).item()), 4 * 26 + 7)
        self.assertAlmostEqual(float(c[4 * 26 + 7]), 0.4, places=6)

    def test_instances_combine(self):
        # two instances of class 1 (row 0) and one of class 3 (row 2), P = 2
        classes = [1, 1, 3]
        scores = [0.5, 0.8, 1.0]
        probs = _probs([[1.0, 0.5], [0.5, 1.0], [0.2, 0.0]])
        expected_max = [[0.5, 0.8], [0, 0], [0.2, 0.0]]
        expected_mean = [[0.45, 0.525], [0, 0], [0.2, 0.0]]
        expected_sum = [[0.9, 1.05], [0, 0], [0.2, 0.0]]
        for rule, want in (("max", expected_max), ("mean", expected_mean), ("sum", expected_sum)):
            c = confidence_matrix(classes, scores, probs, combine=rule, num_object_classes=3)
            np.testing.assert_allclose(c.reshape(3, 2).numpy(), want, rtol=1e-6, err_msg=rule)

    def test_subject_choice_and_subject_score(self):
        classes = [1, 1]
        scores = [1.0, 1.0]
        probs = _probs([[0.2, 0.9], [0.6, 0.1]])
        subj = [7, 4]  # pair 0 belongs to person 7 (score 0.5), pair 1 to person 4 (score 0.9)
        subj_scores = [0.5, 0.9]
        kw = dict(num_object_classes=1, subject_ids=subj, subject_scores=subj_scores)
        np.testing.assert_allclose(confidence_matrix(classes, scores, probs, **kw), [0.6, 0.9])
        np.testing.assert_allclose(
            confidence_matrix(classes, scores, probs, subject="top", **kw), [0.6, 0.1]
        )
        np.testing.assert_allclose(
            confidence_matrix(classes, scores, probs, multiply_subject_score=True, **kw),
            [0.54, 0.45],
            rtol=1e-6,
        )

    def test_empty_frame_and_numpy_inputs(self):
        c = confidence_matrix(np.zeros(0, int), np.zeros(0), np.zeros((0, 25)))
        self.assertEqual(c.shape, (875,))
        self.assertEqual(float(c.abs().sum()), 0.0)

    def test_errors(self):
        with self.assertRaisesRegex(
            FeatureBankError, "object class 0 outside the object ids 1..35"
        ):
            confidence_matrix([0], [1.0], torch.zeros(1, 26))
        with self.assertRaisesRegex(FeatureBankError, r"relation_probs \(2, 26\)"):
            confidence_matrix([1], [1.0], torch.zeros(2, 26))
        with self.assertRaisesRegex(FeatureBankError, "need subject_scores"):
            confidence_matrix([1], [1.0], torch.zeros(1, 26), subject="top")
        with self.assertRaises(FeatureBankError):
            confidence_matrix([1], [1.0], torch.zeros(1, 26), combine="median")


class TestPredicateProbabilities(unittest.TestCase):
    def test_groups_and_25(self):
        att, spa, con = (
            torch.full((2, 3), 0.1),
            torch.full((2, 6), 0.2),
            torch.arange(34.0).view(2, 17),
        )
        p26 = predicate_probabilities(att, spa, con)
        self.assertEqual(p26.shape, (2, 26))
        self.assertEqual(float(p26[0, 9]), 0.0)  # first contacting predicate
        p25 = predicate_probabilities(att, spa, con, num_predicates=25)
        self.assertEqual(p25.shape, (2, 25))
        # global id 18 (other_relationship = contacting index 9) is gone; id 19 moves to 18
        self.assertEqual(float(p25[0, 18]), 10.0)
        self.assertEqual(float(p25[0, 17]), 8.0)

    def test_provenance(self):
        p = scene_graph_provenance(num_predicates=25, weights_hash="abc")
        self.assertEqual(p.dim, 875)
        self.assertEqual(len(p.vocabulary["objects"]), 35)
        self.assertNotIn("person", p.vocabulary["objects"])
        self.assertNotIn("otherrelationship", p.vocabulary["predicates"])


if __name__ == "__main__":
    unittest.main()
