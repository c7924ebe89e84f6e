"""Reference points for Charades mAP: what a model must beat before its number means anything.

All three are score matrices for the test videos, scored with the same metric functions as a model:

* ``all_negative``: every score 0. Under per-class AP every video is tied; the official variant
  keeps dataset order for ties, the sklearn variant scores a tie group at its prevalence.
* ``label_frequency``: every video gets the training prevalence of each class. A class's score is
  the same for every video, so its ranking is that of ``all_negative``: the two give the same mAP by
  construction (mAP ranks videos per class), and both are reported so that this is visible.
* ``random``: i.i.d. uniform scores, mean mAP over seeds (the chance level of a ranking).
"""

from typing import Dict, Sequence

import numpy as np

from .charades_metrics import official_map, sklearn_map

__all__ = ["label_frequency_scores", "charades_baselines"]


def label_frequency_scores(train_labels: np.ndarray, num_test_videos: int) -> np.ndarray:
    """(V_test, C) scores: each class's prevalence among the (V_train, C) multi-hot training
    labels."""
    train_labels = np.asarray(train_labels, dtype=np.float64)
    prevalence = train_labels.mean(axis=0) if len(train_labels) else np.zeros(train_labels.shape[1])
    return np.tile(prevalence, (num_test_videos, 1))


def charades_baselines(
    train_labels: np.ndarray, test_labels: np.ndarray, random_seeds: Sequence[int] = (0, 1, 2, 3, 4)
) -> Dict[str, Dict[str, float]]:
    """``{baseline: {"mAP": official, "mAP_sklearn": sklearn}}`` for the three baselines above.

    Args:
        train_labels: (V_train, C) 0/1 video labels of the training split (for label frequency).
        test_labels: (V_test, C) 0/1 video labels the baselines are scored against.
        random_seeds: seeds of the random baseline (its numbers are means over them).
    """
    test_labels = np.asarray(test_labels)
    shape = test_labels.shape
    candidates = {
        "all_negative": [np.zeros(shape)],
        "label_frequency": [label_frequency_scores(train_labels, shape[0])],
        "random": [np.random.default_rng(s).random(shape) for s in random_seeds],
    }
    return {
        name: {
            "mAP": float(np.mean([official_map(s, test_labels).mean_ap for s in scores])),
            "mAP_sklearn": float(np.mean([sklearn_map(s, test_labels).mean_ap for s in scores])),
        }
        for name, scores in candidates.items()
    }
