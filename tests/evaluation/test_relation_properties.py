"""Property tests (hypothesis) of the recall core: range, monotonicity, frame-order invariance,
perfect predictions."""

import unittest

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ag_detectron.evaluation import FramePrediction, evaluate_relations
from ag_detectron.evaluation.relation_metrics import CONSTRAINTS
from ag_detectron.evaluation.synthetic import random_case

TOPK = (1, 5, 10, 20, 50, 100)
CASES = st.tuples(
    st.integers(0, 2**32 - 1),
    st.integers(1, 12),
    st.sampled_from(["predcls", "sgdet"]),
    st.booleans(),
)


def _case(seed, num_frames, mode, zeros):
    return random_case(np.random.default_rng(seed), num_frames, mode, zeros=zeros)


def _perfect(gt):
    """Predictions equal to the GT labels (one-hot / multi-hot probabilities), GT boxes."""
    n = len(gt.boxes) - 1
    att, spa, con = np.zeros((n, 3)), np.zeros((n, 6)), np.zeros((n, 17))
    for s, o, g in gt.triplets:
        obj = (o if s == 0 else s) - 1
        if g < 3:
            att[obj, g] = 1.0
        elif g < 9:
            spa[obj, g - 3] = 1.0
        else:
            con[obj, g - 9] = 1.0
    pairs = np.stack([np.zeros(n, int), np.arange(1, n + 1)], axis=1)
    return FramePrediction(gt.boxes, gt.classes, np.ones(n + 1), pairs, att, spa, con)


class TestProperties(unittest.TestCase):
    @settings(max_examples=15, deadline=None)
    @given(CASES)
    def test_range_and_monotone_in_k(self, case):
        gts, preds, _ = _case(*case)
        for c, res in evaluate_relations(gts, preds, topk=TOPK).items():
            for values in (res.recall, res.mean_recall_pooled, res.mean_recall_frame):
                v = np.array([values[k] for k in TOPK])
                self.assertTrue(((v >= 0) & (v <= 1 + 1e-12)).all(), (c, v))
                self.assertTrue((np.diff(v) >= -1e-12).all(), (c, v))
            self.assertTrue((res.hits <= res.num_gt[:, None]).all())

    @settings(max_examples=12, deadline=None)
    @given(CASES, st.integers(0, 2**32 - 1))
    def test_frame_permutation_invariance(self, case, perm_seed):
        gts, preds, _ = _case(*case)
        perm = np.random.default_rng(perm_seed).permutation(len(gts))
        a = evaluate_relations(gts, preds, topk=TOPK)
        b = evaluate_relations([gts[i] for i in perm], [preds[i] for i in perm], topk=TOPK)
        for c in CONSTRAINTS:
            np.testing.assert_allclose(a[c].hits[perm], b[c].hits)
            for k in TOPK:
                self.assertAlmostEqual(a[c].recall[k], b[c].recall[k], places=12)
                self.assertAlmostEqual(
                    a[c].mean_recall_frame[k], b[c].mean_recall_frame[k], places=12
                )

    @settings(max_examples=12, deadline=None)
    @given(st.integers(0, 2**32 - 1), st.integers(1, 8))
    def test_perfect_predictions_give_one(self, seed, num_frames):
        gts, _, _ = _case(seed, num_frames, "predcls", False)
        preds = [_perfect(g) for g in gts]
        res = evaluate_relations(gts, preds, constraints=("no",), topk=(100,))["no"]
        self.assertEqual(res.recall[100], 1.0)  # every GT label is a positive cell (<= 100)
        # with single-label spatial/contacting GT, "with" recovers everything within 3 per pair
        single = []
        for g in gts:
            keep, seen = [], set()
            for s, o, p in g.triplets:
                key = (s, o, p >= 9, p >= 3)
                if p < 3 or key not in seen:
                    keep.append([s, o, p])
                    seen.add(key)
            single.append(g._replace(triplets=np.array(keep)))
        preds = [_perfect(g) for g in single]
        res = evaluate_relations(single, preds, constraints=("with",), topk=(15,))["with"]
        self.assertEqual(res.recall[15], 1.0)


if __name__ == "__main__":
    unittest.main()
