"""Charades mAP: hand-computed ties / empty class / unlabeled video / view aggregation, and
equality with ``sklearn.metrics.average_precision_score`` and a loop reference of the official
per-item AP."""

import unittest

import numpy as np
from sklearn.metrics import average_precision_score

from ag_detectron.errors import EvaluationInputError
from ag_detectron.evaluation import (
    aggregate_views,
    charades_map,
    grouped_average_precision,
    official_map,
    per_item_average_precision,
    sklearn_map,
)


def loop_per_item_ap(x, y):
    """Official per-item AP of one class, written from the definition (stable order)."""
    order = sorted(range(len(x)), key=lambda i: -x[i])  # Python sort is stable
    hits, total = 0, 0.0
    for rank, i in enumerate(order, start=1):
        if y[i]:
            hits += 1
            total += hits / rank
    return total / sum(y)


class TestHandComputed(unittest.TestCase):
    def test_ties_grouped_vs_per_item(self):
        # scores [0.9, 0.5, 0.5], labels [1, 1, 0].
        # per-item, stable: v0 (+) prec 1, v1 (+) prec 2/2 = 1 -> AP = 1.
        # grouped: thresholds 0.9 (P 1, R 1/2) and 0.5 (P 2/3, R 1) -> 1/2 + 1/2 * 2/3 = 5/6.
        x = np.array([[0.9], [0.5], [0.5]])
        y = np.array([[1], [1], [0]])
        self.assertAlmostEqual(per_item_average_precision(x, y)[0], 1.0)
        self.assertAlmostEqual(grouped_average_precision(x, y)[0], 5.0 / 6.0)
        self.assertAlmostEqual(average_precision_score(y[:, 0], x[:, 0]), 5.0 / 6.0)
        # per-item with the tied negative listed first: v1 (-), v2 (+) -> (1 + 2/3) / 2 = 5/6
        self.assertAlmostEqual(per_item_average_precision(x[[0, 2, 1]], y[[0, 2, 1]])[0], 5.0 / 6.0)

    def test_class_without_positive_excluded_and_listed(self):
        x = np.array([[0.9, 0.1], [0.2, 0.8]])
        y = np.array([[1, 0], [0, 0]])  # class 1 has no positive
        for res in (official_map(x, y), sklearn_map(x, y)):
            self.assertEqual(res.num_classes_evaluated, 1)
            self.assertEqual(res.classes_without_positives, [1])
            self.assertEqual(res.mean_ap, 1.0)
            self.assertTrue(np.isnan(res.ap[1]))

    def test_unlabeled_video(self):
        # class 0: v0 positive (0.5); v1 has no label at all (0.9); v2 labelled only for class 1.
        # official: v1 -> -inf, ranked last: order v0 (+) -> AP 1.
        # sklearn: v1 stays a negative ranked first -> v1 (-), v0 (+): AP = 1/2.
        x = np.array([[0.5, 0.1], [0.9, 0.9], [0.1, 0.7]])
        y = np.array([[1, 0], [0, 0], [0, 1]])
        self.assertEqual(official_map(x, y).ap[0], 1.0)
        self.assertAlmostEqual(sklearn_map(x, y).ap[0], 0.5)
        self.assertAlmostEqual(charades_map(x, y, "sklearn").mean_ap, (0.5 + 0.5) / 2)

    def test_max_and_mean_over_views(self):
        views = np.array([[0.2, 0.9], [0.8, 0.1], [0.3, 0.3]])
        video = np.array([0, 0, 1])
        np.testing.assert_allclose(
            aggregate_views(views, video, 3, "max")[:2], [[0.8, 0.9], [0.3, 0.3]]
        )
        np.testing.assert_allclose(
            aggregate_views(views, video, 3, "mean")[:2], [[0.5, 0.5], [0.3, 0.3]]
        )
        self.assertTrue(np.isneginf(aggregate_views(views, video, 3)[2]).all())  # no view

    def test_bad_inputs(self):
        with self.assertRaises(EvaluationInputError):
            official_map(np.zeros((2, 3)), np.zeros((2, 2)))
        with self.assertRaises(EvaluationInputError):
            official_map(np.array([[np.nan]]), np.array([[1]]))
        with self.assertRaises(EvaluationInputError):
            sklearn_map(np.zeros((1, 1)), np.array([[2]]))
        with self.assertRaises(EvaluationInputError):
            charades_map(np.zeros((1, 1)), np.array([[1]]), "matlab")


class TestAgainstReferences(unittest.TestCase):
    def test_random_tie_free(self):
        rng = np.random.default_rng(0)
        for _ in range(5):
            v, c = int(rng.integers(5, 60)), int(rng.integers(1, 20))
            x = rng.normal(size=(v, c))
            y = (rng.uniform(size=(v, c)) < 0.25).astype(int)
            y[rng.integers(0, v, size=c), np.arange(c)] = 1  # a positive in every class
            ref = np.array([average_precision_score(y[:, j], x[:, j]) for j in range(c)])
            np.testing.assert_allclose(sklearn_map(x, y).ap, ref, rtol=0, atol=1e-9)
            loop = [loop_per_item_ap(x[:, j], y[:, j]) for j in range(c)]
            np.testing.assert_allclose(per_item_average_precision(x, y), loop, atol=1e-12)
            labelled = y.sum(axis=1) > 0  # no ties, no unlabeled videos: all variants agree
            np.testing.assert_allclose(
                official_map(x[labelled], y[labelled]).ap,
                sklearn_map(x[labelled], y[labelled]).ap,
                atol=1e-12,
            )

    def test_random_with_ties_matches_sklearn(self):
        rng = np.random.default_rng(1)
        x = np.round(rng.normal(size=(80, 6)), 1)  # many exact ties
        y = (rng.uniform(size=(80, 6)) < 0.3).astype(int)
        ref = [average_precision_score(y[:, j], x[:, j]) for j in range(6)]
        np.testing.assert_allclose(grouped_average_precision(x, y), ref, atol=1e-9)
        loop = [loop_per_item_ap(x[:, j], y[:, j]) for j in range(6)]
        np.testing.assert_allclose(per_item_average_precision(x, y), loop, atol=1e-12)


if __name__ == "__main__":
    unittest.main()
