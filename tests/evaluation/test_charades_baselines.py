import numpy as np

from ag_detectron.evaluation.charades_baselines import charades_baselines, label_frequency_scores


def test_label_frequency_scores_are_training_prevalence():
    train = np.array([[1, 0], [1, 1], [0, 0], [1, 0]])
    scores = label_frequency_scores(train, 3)
    np.testing.assert_allclose(scores, [[0.75, 0.25]] * 3)


def test_baselines_hand_checked():
    # class 0: positives at rows 1 and 2 of 4 (row 3 unlabeled); class 1: positive at row 0.
    test = np.array([[0, 1], [1, 0], [1, 0], [0, 0]])
    train = np.array([[1, 0], [0, 1]])
    out = charades_baselines(train, test, random_seeds=(0,))
    # official: unlabeled row 3 ranked last; ties keep dataset order.
    # class 0 ranks rows 0,1,2 -> precisions at the positives 1/2, 2/3 -> AP 7/12; class 1 -> AP 1.
    assert np.isclose(out["all_negative"]["mAP"], (7 / 12 + 1) / 2)
    # sklearn: one tie group of 4 videos -> AP = prevalence: 2/4 and 1/4.
    assert np.isclose(out["all_negative"]["mAP_sklearn"], (0.5 + 0.25) / 2)
    # a video-independent score ranks like all-negative
    assert out["label_frequency"] == out["all_negative"]
    assert 0.0 < out["random"]["mAP"] <= 1.0
