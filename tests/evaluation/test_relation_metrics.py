"""Hand-computed scene-graph recall cases (the rules of docs/protocol.md §1–§2).

Conventions in these toys: person box index 0 (class 0), objects from index 1. Global predicate
ids: attention 0 looking_at, 1 not_looking_at, 2 unsure; spatial 3 above, 4 beneath,
5 in_front_of, ...; contacting 9 carrying, 10 covered_by, 14 holding, 18 other_relationship.
PredCls-style predictions reuse the GT boxes with object scores 1, so triplet score = probability.
"""

import unittest

import numpy as np

from ag_detectron.errors import EvaluationInputError
from ag_detectron.evaluation import (
    FrameGroundTruth,
    FramePrediction,
    evaluate_relations,
    frame_ground_truth,
    iou_plus_one,
    video_mean,
)

PERSON = [0.0, 0.0, 99.0, 99.0]
OBJ = [100.0, 100.0, 199.0, 199.0]
OBJ2 = [200.0, 0.0, 299.0, 99.0]


def probs(n, hot=None, value=0.9, fill=0.05):
    """A probability row of width n: ``value`` at ``hot`` (int or list), ``fill`` elsewhere."""
    row = np.full(n, fill)
    if hot is not None:
        row[np.atleast_1d(hot)] = value
    return row


def pred_frame(boxes, classes, pairs, att, spa, con, scores=None):
    boxes = np.asarray(boxes, dtype=np.float64)
    return FramePrediction(
        boxes,
        np.asarray(classes),
        np.ones(len(boxes)) if scores is None else np.asarray(scores, dtype=np.float64),
        np.asarray(pairs).reshape(-1, 2),
        np.asarray(att, dtype=np.float64).reshape(-1, 3),
        np.asarray(spa, dtype=np.float64).reshape(-1, 6),
        np.asarray(con, dtype=np.float64).reshape(-1, 17),
    )


def recall(gts, preds, constraint, topk=(1, 10, 20, 50, 100), **kw):
    res = evaluate_relations(gts, preds, constraints=(constraint,), topk=topk, **kw)[constraint]
    return res, [res.recall[k] for k in topk]


class TestIoU(unittest.TestCase):
    def test_plus_one_convention(self):
        # areas with +1: [0,0,9,9] -> 10 x 10 = 100; touching at x = 9: iw = 9 - 9 + 1 = 1
        a = np.array([[0.0, 0.0, 9.0, 9.0]] * 3)
        b = np.array([[0.0, 0.0, 9.0, 9.0], [9.0, 9.0, 18.0, 18.0], [10.0, 10.0, 19.0, 19.0]])
        np.testing.assert_allclose(iou_plus_one(a, b), [1.0, 1.0 / 199.0, 0.0])

    def test_threshold_is_inclusive_on_legacy_iou(self):
        # GT person [0,0,9,9] (area 100); predicted person [0,0,4,9]: area 5 x 10 = 50, inter 50,
        # union 100 -> IoU1 = 0.5 exactly (standard IoU would be 36 / 81 = 0.44). >= 0.5 matches.
        gt = frame_ground_truth([0, 0, 9, 9], [OBJ], [5], [0], [[]], [[]])
        for x2, expected in ((4.0, 1.0), (3.9, 0.0)):  # 3.9: area 49 -> IoU1 0.49
            pred = pred_frame(
                [[0, 0, x2, 9], OBJ], [0, 5], [[0, 1]], probs(3, 0, 0.9, 0.05), probs(6), probs(17)
            )
            for c in ("with", "semi", "no", "ag_paper"):
                _, r = recall([gt], [pred], c)
                self.assertEqual(r[-1], expected, (x2, c))


class TestDirectionDuplicates(unittest.TestCase):
    def test_spatial_triplets_are_reversed(self):
        # object: attention looking_at (0), spatial in_front_of (local 2 -> 5)
        gt = frame_ground_truth(PERSON, [OBJ], [5], [0], [[2]], [[]])
        np.testing.assert_array_equal(gt.triplets, [[0, 1, 0], [1, 0, 5]])
        pred = pred_frame(
            [PERSON, OBJ], [0, 5], [[0, 1]], probs(3, 0, 0.9, 0.05), probs(6, 2), probs(17)
        )
        _, r = recall([gt], [pred], "with")
        self.assertEqual(r[-1], 1.0)  # spatial row is emitted on (object, person)
        # the same spatial label annotated person -> object cannot be matched by a spatial row
        unreversed = FrameGroundTruth(gt.boxes, gt.classes, np.array([[0, 1, 0], [0, 1, 5]]))
        _, r = recall([unreversed], [pred], "with")
        self.assertEqual(r[-1], 0.5)
        # the AG-paper protocol compares (person, object) on both sides: one prediction per pair,
        # the argmax over all 26 probabilities: in_front_of 0.95 > looking_at 0.8
        pred_sp = pred_frame(
            [PERSON, OBJ], [0, 5], [[0, 1]], probs(3, 0, 0.8, 0.1), probs(6, 2, 0.95), probs(17)
        )
        _, r = recall([gt], [pred_sp], "ag_paper")
        self.assertEqual(r[-1], 0.5)  # in_front_of matched; looking_at cannot be (one per pair)

    def test_duplicate_gt_counted_twice_matched_by_one_prediction(self):
        # contacting [holding, holding] -> GT: (p,0,o), (p,14,o), (p,14,o): |G| = 3
        gt = frame_ground_truth(PERSON, [OBJ], [5], [0], [[]], [[5, 5]])
        self.assertEqual(len(gt.triplets), 3)
        # attention predicted wrong (not_looking_at), holding right: one prediction hits both copies
        pred = pred_frame(
            [PERSON, OBJ], [0, 5], [[0, 1]], probs(3, 1, 0.9, 0.05), probs(6), probs(17, 5)
        )
        _, r = recall([gt], [pred], "with")
        self.assertAlmostEqual(r[-1], 2.0 / 3.0)


class TestSemi(unittest.TestCase):
    # GT: looking_at (0), in_front_of (5, reversed), holding (14): |G| = 3
    gt = frame_ground_truth(PERSON, [OBJ], [5], [0], [[2]], [[5]])

    def _pred(self, att, spa, con):
        return pred_frame([PERSON, OBJ], [0, 5], [[0, 1]], att, spa, con)

    def test_row_drop_on_exact_zeros_and_strict_threshold(self):
        att = [0.6, 0.4, 0.0]
        spa = [0.0, 0.0, 0.97, 0.0, 0.0, 0.0]  # above = beneath = 0 -> row dropped despite 0.97
        con = np.zeros(17)
        con[0], con[5] = 0.5, 0.9  # carrying > 0 keeps the row; holding = 0.9 is not > 0.9
        _, r = recall([self.gt], [self._pred(att, spa, con)], "semi")
        self.assertAlmostEqual(r[-1], 1.0 / 3.0)  # only looking_at
        # "with" takes the argmax of every row: in_front_of and holding are both recovered
        _, r = recall([self.gt], [self._pred(att, spa, con)], "with")
        self.assertEqual(r[-1], 1.0)
        con[5] = np.nextafter(0.9, 1.0)  # now strictly above tau
        spa[0] = 1e-3  # above > 0: the spatial row is kept and in_front_of (0.97 > 0.9) emitted
        _, r = recall([self.gt], [self._pred(att, spa, con)], "semi")
        self.assertEqual(r[-1], 1.0)

    def test_attention_row_dropped_without_looking(self):
        gt = frame_ground_truth(PERSON, [OBJ], [5], [2], [[]], [[]])  # attention "unsure"
        pred = self._pred([0.0, 0.0, 1.0], probs(6), probs(17))
        self.assertEqual(recall([gt], [pred], "semi")[1][-1], 0.0)
        self.assertEqual(recall([gt], [pred], "with")[1][-1], 1.0)


class TestNoConstraint(unittest.TestCase):
    def test_zero_cells_enter_for_one_pair(self):
        # GT: attention "unsure" only. Prediction: attention [0.5, 0.5, 0.0] (exact zero on unsure),
        # spatial / contacting all positive. Positive cells: 2 + 6 + 17 = 25 (ranks 0..24). The 78
        # cells < 100 are all kept; zero cells follow in flat order 26 r + k, and the first one is
        # (r = 0 attention row, k = 2 unsure): rank 25 -> matched within 50 but not within 20.
        gt = frame_ground_truth(PERSON, [OBJ], [5], [2], [[]], [[]])
        pred = pred_frame(
            [PERSON, OBJ],
            [0, 5],
            [[0, 1]],
            [0.5, 0.5, 0.0],
            probs(6, None, 0, 0.3),
            probs(17, None, 0, 0.2),
        )
        res, r = recall([gt], [pred], "no", topk=(10, 20, 25, 26, 50, 100))
        self.assertEqual(r, [0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
        self.assertEqual(res.num_predictions.tolist(), [78])
        # "with": attention argmax is looking_at (tie 0.5 / 0.5, lowest id) -> no match
        self.assertEqual(recall([gt], [pred], "with")[1][-1], 0.0)

    def test_top_100_cut_before_matching(self):
        # 5 pairs -> 130 positive cells; the GT's holding prob is the smallest positive value,
        # ranked last (130th) -> cut by the top 100.
        objs = [[100.0 + 10 * i, 100.0, 199.0 + 10 * i, 199.0] for i in range(5)]
        gt = FrameGroundTruth(
            np.array([PERSON] + objs), np.array([0, 1, 2, 3, 4, 5]), np.array([[0, 1, 14]])
        )
        con = np.full((5, 17), 0.5)
        con[0, 5] = 0.01
        pred = pred_frame(
            gt.boxes,
            gt.classes,
            [[0, i] for i in range(1, 6)],
            np.full((5, 3), 1 / 3),
            np.full((5, 6), 0.5),
            con,
        )
        res, r = recall([gt], [pred], "no")
        self.assertEqual(res.num_predictions.tolist(), [100])
        self.assertEqual(r[-1], 0.0)
        con[0, 5] = 0.99  # now the best cell
        _, r = recall([gt], [pred], "no")
        self.assertEqual(r, [1.0] * 5)


class TestTies(unittest.TestCase):
    def test_exact_ties_keep_emission_order(self):
        # two objects A (index 1), B (index 2) with identical predictions; GT only "B looking_at".
        # R@1 depends only on which tied row comes first: the first pair in pair_idx order.
        gt = FrameGroundTruth(
            np.array([PERSON, OBJ, OBJ2]), np.array([0, 5, 6]), np.array([[0, 2, 0]])
        )
        att = np.tile([0.5, 0.3, 0.2], (2, 1))
        spa, con = np.full((2, 6), 0.1), np.full((2, 17), 0.1)
        boxes, cls = gt.boxes, gt.classes
        a_first = pred_frame(boxes, cls, [[0, 1], [0, 2]], att, spa, con)
        b_first = pred_frame(boxes, cls, [[0, 2], [0, 1]], att, spa, con)
        for c in ("with", "semi", "no", "ag_paper"):
            self.assertEqual(recall([gt], [a_first], c, topk=(1,))[1], [0.0], c)
            self.assertEqual(recall([gt], [b_first], c, topk=(1,))[1], [1.0], c)


class TestFramesAndInputs(unittest.TestCase):
    def setUp(self):
        self.gt = frame_ground_truth(PERSON, [OBJ], [5], [0], [[]], [[]])
        self.pred = pred_frame(
            [PERSON, OBJ], [0, 5], [[0, 1]], probs(3, 0, 0.9, 0.05), probs(6), probs(17)
        )

    def test_frame_without_gt_excluded_and_counted(self):
        empty = FrameGroundTruth(np.array([PERSON]), np.array([0]), np.zeros((0, 3), np.int64))
        res, r = recall([self.gt, empty], [self.pred, self.pred], "with")
        self.assertEqual(r[-1], 1.0)
        self.assertEqual(res.num_frames_without_gt, 1)
        self.assertFalse(np.isnan(list(res.mean_recall_pooled.values())).any())

    def test_missing_prediction_scores_zero(self):
        res, r = recall([self.gt, self.gt], [self.pred, None], "no")
        self.assertEqual(r[-1], 0.5)
        self.assertEqual(res.num_frames_missing_predictions, 1)

    def _bad(self, **fields):
        return self.pred._replace(
            **{
                k: np.asarray(v, dtype=np.float64) if k != "pair_idx" else np.asarray(v)
                for k, v in fields.items()
            }
        )

    def test_bad_inputs_raise(self):
        bad = {
            "logits": self._bad(attention=[[2.0, -1.0, 0.5]]),
            "not normalised": self._bad(attention=[[0.5, 0.3, 0.1]]),
            "nan": self._bad(spatial=[[np.nan, 0, 0, 0, 0, 0]]),
            "inf": self._bad(contacting=[[np.inf] + [0.0] * 16]),
            "width": self._bad(spatial=[[0.1] * 5]),
            "x2 < x1": self._bad(boxes=[PERSON, [100.0, 100.0, 90.0, 199.0]]),
            "absent box": self._bad(pair_idx=[[0, 2]]),
            "score > 1": self._bad(scores=[1.0, 1.5]),
        }
        for name, pred in bad.items():
            with self.subTest(name), self.assertRaises(EvaluationInputError):
                evaluate_relations([self.gt], [pred])
        bad_gt = FrameGroundTruth(self.gt.boxes, self.gt.classes, np.array([[0, 3, 0]]))
        with self.assertRaises(EvaluationInputError):
            evaluate_relations([bad_gt], [self.pred])
        with self.assertRaises(EvaluationInputError):
            evaluate_relations([self.gt], [self.pred], constraints=("none",))
        with self.assertRaises(EvaluationInputError):
            evaluate_relations([self.gt], [self.pred, self.pred])


class TestMeanRecallAndPaper(unittest.TestCase):
    def test_mean_recall_variants_differ(self):
        # frame 1: 1 object, looking_at + holding, both predicted right.
        # frame 2: 3 objects, looking_at + holding each; holding predicted only for the first.
        # looking_at: pooled 4/4, per-frame mean(1, 1) = 1.
        # holding: pooled (1 + 1) / (1 + 3) = 0.5; per-frame mean(1/1, 1/3) = 2/3.
        # every other predicate is absent: contributes 0 to both, divided by 26.
        gt1 = frame_ground_truth(PERSON, [OBJ], [5], [0], [[]], [[5]])
        objs = [OBJ, OBJ2, [0.0, 200.0, 99.0, 299.0]]
        gt2 = frame_ground_truth(PERSON, objs, [5, 6, 7], [0, 0, 0], [[], [], []], [[5], [5], [5]])
        p1 = pred_frame(gt1.boxes, gt1.classes, [[0, 1]], probs(3, 0), probs(6), probs(17, 5))
        con2 = np.stack([probs(17, 5), probs(17, 0), probs(17, 0)])  # carrying for objects 2, 3
        p2 = pred_frame(
            gt2.boxes,
            gt2.classes,
            [[0, 1], [0, 2], [0, 3]],
            np.tile(probs(3, 0), (3, 1)),
            np.tile(probs(6), (3, 1)),
            con2,
        )
        res = evaluate_relations([gt1, gt2], [p1, p2], constraints=("with",), topk=(100,))["with"]
        self.assertAlmostEqual(res.recall[100], (1.0 + 4.0 / 6.0) / 2)
        self.assertAlmostEqual(res.mean_recall_pooled[100], (1.0 + 0.5) / 26, places=9)
        self.assertAlmostEqual(res.mean_recall_frame[100], (1.0 + 2.0 / 3.0) / 26, places=12)
        self.assertAlmostEqual(res.per_predicate_pooled[14, 0], 0.5, places=9)
        self.assertTrue(np.isnan(res.per_predicate_pooled[3, 0]))
        res25 = evaluate_relations(
            [gt1, gt2], [p1, p2], constraints=("with",), topk=(100,), num_predicates=25
        )["with"]
        self.assertAlmostEqual(res25.mean_recall_frame[100], (1.0 + 2.0 / 3.0) / 25, places=12)

    def test_ag_paper_image_and_video_level(self):
        # video a: frames with recall 1 and 0; video b: one frame with recall 1.
        # image level = 2/3; video level = mean(1/2, 1) = 3/4.
        gt = frame_ground_truth(PERSON, [OBJ], [5], [0], [[]], [[]])
        hit = pred_frame(
            [PERSON, OBJ], [0, 5], [[0, 1]], probs(3, 0, 0.9, 0.05), probs(6), probs(17)
        )
        miss = pred_frame(
            [PERSON, OBJ], [0, 5], [[0, 1]], probs(3, 0, 0.9, 0.05), probs(6), probs(17, 5, 0.95)
        )  # holding 0.95 beats looking_at 0.9 across types
        res = evaluate_relations(
            [gt] * 3, [hit, miss, hit], constraints=("ag_paper",), topk=(20, 50)
        )["ag_paper"]
        self.assertAlmostEqual(res.recall[20], 2.0 / 3.0)
        video = video_mean(res.frame_recall(), res.num_gt > 0, ["a", "a", "b"])
        np.testing.assert_allclose(video, [0.75, 0.75])

    def test_ag_paper_caps_recall_per_pair(self):
        # GT: looking_at, above, holding on one pair (3 triplets); one prediction per pair -> <= 1/3
        gt = frame_ground_truth(PERSON, [OBJ], [5], [0], [[0]], [[5]])
        pred = pred_frame(
            [PERSON, OBJ],
            [0, 5],
            [[0, 1]],
            [1.0, 0.0, 0.0],
            probs(6, 0, 1.0, 1.0),
            probs(17, 5, 1.0, 1.0),
        )
        self.assertAlmostEqual(recall([gt], [pred], "ag_paper")[1][-1], 1.0 / 3.0)

    def test_25_predicates_drops_other_relationship(self):
        # GT: looking_at + other_relationship (contacting local 9 -> 18)
        gt = frame_ground_truth(PERSON, [OBJ], [5], [0], [[]], [[9]])
        pred = pred_frame([PERSON, OBJ], [0, 5], [[0, 1]], probs(3, 0), probs(6), probs(17, 9))
        self.assertEqual(recall([gt], [pred], "with")[1][-1], 1.0)
        res, r = recall([gt], [pred], "with", num_predicates=25)
        self.assertEqual(r[-1], 1.0)  # |G| = 1 (looking_at), still matched
        self.assertEqual(int(res.num_gt[0]), 1)
        self.assertEqual(int(res.predicate_count[18]), 0)


if __name__ == "__main__":
    unittest.main()


class TestRanking(unittest.TestCase):
    def test_frame_ranker_equals_full_sort(self):
        # frames of sizes 0..7 with many exact ties; keys in random order within each frame
        from ag_detectron.evaluation.ranking import FrameRanker, rank_within_frames

        rng = np.random.default_rng(3)
        sizes = rng.integers(1, 8, size=200)
        frame = np.repeat(np.arange(200), sizes)
        score = rng.integers(0, 4, size=len(frame)) / 4.0
        key = rng.permutation(len(frame))
        full = rank_within_frames(frame, score, lambda i: key[i])
        # reference by definition: count better entries of the same frame
        ref = np.array(
            [
                (
                    (frame == frame[i])
                    & ((score > score[i]) | ((score == score[i]) & (key < key[i])))
                ).sum()
                for i in range(len(frame))
            ]
        )
        np.testing.assert_array_equal(full, ref)
        some = rng.choice(len(frame), size=300)
        np.testing.assert_array_equal(FrameRanker(frame, score, lambda i: key[i])(some), ref[some])
